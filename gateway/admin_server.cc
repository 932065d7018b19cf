#include "gateway/admin_server.h"

#include <httplib.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {

// Escapes a label value: backslash, quote and newline.
std::string LabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Header(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void AppendHistogram(std::string* out, const char* name, const std::string& labels,
                     const Histogram& histogram) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= Histogram::kBounds.size(); ++i) {
    cumulative += histogram.bucket(i);
    std::string le = i < Histogram::kBounds.size() ? absl::StrCat(Histogram::kBounds[i]) : "+Inf";
    absl::StrAppend(out, name, "_bucket{", labels, ",le=\"", le, "\"} ", cumulative, "\n");
  }
  absl::StrAppend(out, name, "_sum{", labels, "} ", histogram.sum_seconds(), "\n");
  absl::StrAppend(out, name, "_count{", labels, "} ", cumulative, "\n");
}

}  // namespace

std::string RenderMetrics(Gateway& gateway) {
  const GatewayMetrics& m = gateway.metrics();
  std::string out;
  Header(&out, "webhookgw_events_received_total", "counter", "Events read from adapter streams.");
  for (int k = 0; k < kEventKindCount; ++k) {
    absl::StrAppend(&out, "webhookgw_events_received_total{event=\"",
                    std::string(EventName(static_cast<EventKind>(k))), "\"} ", m.received[k].load(),
                    "\n");
  }
  Header(&out, "webhookgw_events_filtered_total", "counter",
         "Events that matched no webhook's filters.");
  for (int k = 0; k < kEventKindCount; ++k) {
    absl::StrAppend(&out, "webhookgw_events_filtered_total{event=\"",
                    std::string(EventName(static_cast<EventKind>(k))), "\"} ", m.filtered[k].load(),
                    "\n");
  }
  Header(&out, "webhookgw_events_invalid_total", "counter",
         "Events refused as undecodable or oversized (dead-lettered).");
  absl::StrAppend(&out, "webhookgw_events_invalid_total ", m.invalid_events.load(), "\n");
  Header(&out, "webhookgw_streams_opened_total", "counter", "Adapter streams accepted.");
  absl::StrAppend(&out, "webhookgw_streams_opened_total ", m.streams_opened.load(), "\n");
  Header(&out, "webhookgw_streams_refused_total", "counter",
         "Adapter streams ended for a protocol error or a limit.");
  absl::StrAppend(&out, "webhookgw_streams_refused_total ", m.streams_refused.load(), "\n");
  Header(&out, "webhookgw_streams_unauthenticated_total", "counter",
         "Adapter streams refused for a missing or invalid bearer token.");
  absl::StrAppend(&out, "webhookgw_streams_unauthenticated_total ",
                  m.streams_unauthenticated.load(), "\n");
  Header(&out, "webhookgw_streams_peer_limit_total", "counter",
         "Adapter streams refused because their address held max_streams_per_peer streams.");
  absl::StrAppend(&out, "webhookgw_streams_peer_limit_total ", m.streams_peer_limit.load(), "\n");
  Header(&out, "webhookgw_streams_cancelled_total", "counter",
         "Adapter streams ended by the adapter or by a broken connection (reset, keepalive "
         "pings unanswered).");
  absl::StrAppend(&out, "webhookgw_streams_cancelled_total ", m.streams_cancelled.load(), "\n");
  Header(&out, "webhookgw_streams_aged_out_total", "counter",
         "Adapter streams sent a GoAway because they reached max_connection_age.");
  absl::StrAppend(&out, "webhookgw_streams_aged_out_total ", m.streams_aged_out.load(), "\n");
  Header(&out, "webhookgw_streams_open", "gauge", "Adapter streams open now.");
  absl::StrAppend(&out, "webhookgw_streams_open ", m.streams_open.load(), "\n");
  Header(&out, "webhookgw_queue_events", "gauge", "Events held in memory now.");
  absl::StrAppend(&out, "webhookgw_queue_events ", m.queue_events.load(), "\n");
  Header(&out, "webhookgw_queue_bytes", "gauge", "Bytes of events held in memory now.");
  absl::StrAppend(&out, "webhookgw_queue_bytes ", m.queue_bytes.load(), "\n");

  const std::vector<EndpointMetrics*> endpoints = gateway.endpoint_metrics();
  Header(&out, "webhookgw_deliveries_total", "counter",
         "Events finished per webhook, by outcome (delivered or dead_lettered).");
  for (const auto& e : endpoints) {
    std::string w = LabelValue(e->webhook);
    absl::StrAppend(&out, "webhookgw_deliveries_total{webhook=\"", w, "\",outcome=\"delivered\"} ",
                    e->delivered.load(), "\n");
    absl::StrAppend(&out, "webhookgw_deliveries_total{webhook=\"", w,
                    "\",outcome=\"dead_lettered\"} ", e->dead_lettered.load(), "\n");
  }
  Header(&out, "webhookgw_http_responses_total", "counter",
         "HTTP attempts per webhook by status class (none: no response).");
  static constexpr const char* kClasses[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (const auto& e : endpoints) {
    for (int c = 0; c < 6; ++c) {
      absl::StrAppend(&out, "webhookgw_http_responses_total{webhook=\"", LabelValue(e->webhook),
                      "\",status_class=\"", kClasses[c], "\"} ", e->responses[c].load(), "\n");
    }
  }
  Header(&out, "webhookgw_retries_total", "counter", "HTTP attempts after the first, per webhook.");
  for (const auto& e : endpoints) {
    absl::StrAppend(&out, "webhookgw_retries_total{webhook=\"", LabelValue(e->webhook), "\"} ",
                    e->retries.load(), "\n");
  }
  Header(&out, "webhookgw_outbound_refused_total", "counter",
         "Connections to a webhook refused by the outbound address policy.");
  for (const auto& e : endpoints) {
    absl::StrAppend(&out, "webhookgw_outbound_refused_total{webhook=\"", LabelValue(e->webhook),
                    "\"} ", e->outbound_refused.load(), "\n");
  }
  Header(&out, "webhookgw_webhook_queue_events", "gauge", "Events waiting per webhook.");
  for (const auto& e : endpoints) {
    absl::StrAppend(&out, "webhookgw_webhook_queue_events{webhook=\"", LabelValue(e->webhook),
                    "\"} ", e->queued.load(), "\n");
  }
  // Parking: one series per webhook each.
  auto per_webhook = [&](const char* name, auto value) {
    for (const auto& e : endpoints) {
      absl::StrAppend(&out, name, "{webhook=\"", LabelValue(e->webhook), "\"} ", value(*e), "\n");
    }
  };
  Header(&out, "webhookgw_parked_events", "gauge",
         "Events a webhook has parked (written to its spool, released to their streams) and "
         "not finished yet.");
  per_webhook("webhookgw_parked_events", [](const EndpointMetrics& e) { return e.parked.load(); });
  Header(&out, "webhookgw_parked_total", "counter", "Events parked, per webhook.");
  per_webhook("webhookgw_parked_total",
              [](const EndpointMetrics& e) { return e.parked_total.load(); });
  Header(&out, "webhookgw_spool_errors_total", "counter",
         "Spool writes that failed and spool lines that could not be read, per webhook.");
  per_webhook("webhookgw_spool_errors_total",
              [](const EndpointMetrics& e) { return e.spool_errors.load(); });
  Header(&out, "webhookgw_http_connections", "gauge", "Open HTTP connections per webhook.");
  for (const auto& e : endpoints) {
    absl::StrAppend(&out, "webhookgw_http_connections{webhook=\"", LabelValue(e->webhook), "\"} ",
                    e->connections.load(), "\n");
  }
  Header(&out, "webhookgw_http_request_duration_seconds", "histogram",
         "Duration of one HTTP attempt, per webhook.");
  for (const auto& e : endpoints) {
    AppendHistogram(&out, "webhookgw_http_request_duration_seconds",
                    absl::StrCat("webhook=\"", LabelValue(e->webhook), "\""), e->request_seconds);
  }
  Header(&out, "webhookgw_end_to_end_latency_seconds", "histogram",
         "From the event's time at the broker to its 2xx, per webhook.");
  for (const auto& e : endpoints) {
    AppendHistogram(&out, "webhookgw_end_to_end_latency_seconds",
                    absl::StrCat("webhook=\"", LabelValue(e->webhook), "\""),
                    e->end_to_end_seconds);
  }
  return out;
}

AdminServer::AdminServer(Gateway* gateway) : gateway_(gateway) {}

AdminServer::~AdminServer() { Stop(); }

absl::Status AdminServer::Start(const std::string& listen) {
  size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(listen).substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin_listen: expected host:port, got \"", listen, "\""));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    bool ready = ready_.load() && !gateway_->draining();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(*gateway_), "text/plain; version=0.0.4");
  });
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("admin_listen ", listen, ": cannot bind"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

void AdminServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace webhookgw
