#include "gateway/gateway.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/event_stream.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {
constexpr char kComponent[] = "gateway";

// The address part of a gRPC peer string: "ipv4:1.2.3.4:5678" gives
// "1.2.3.4", "ipv6:[::1]:5678" gives "::1".
std::string PeerAddress(const std::string& peer) {
  std::string s = peer;
  size_t scheme = s.find(':');
  if (scheme != std::string::npos &&
      (s.compare(0, scheme, "ipv4") == 0 || s.compare(0, scheme, "ipv6") == 0)) {
    s = s.substr(scheme + 1);
  }
  size_t port = s.rfind(':');
  if (port != std::string::npos && s.find(':') == port) s = s.substr(0, port);
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    s = s.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return s;
}
}  // namespace

std::string ValidateEvent(const v1::Event& event, int64_t max_event_bytes, EventKind* kind,
                          size_t* bytes) {
  std::optional<EventKind> k = KindOf(event);
  *bytes = event.ByteSizeLong();
  if (!k.has_value()) return "event has no kind";
  if (*bytes > static_cast<size_t>(max_event_bytes)) {
    return absl::StrCat("event of ", *bytes, " bytes exceeds max_event_bytes ", max_event_bytes);
  }
  *kind = *k;
  return "";
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const Config& config) {
  std::unique_ptr<Gateway> gateway(new Gateway(config.gateway));
  absl::StatusOr<std::unique_ptr<Routes>> routes = gateway->BuildRoutes(config.webhooks);
  if (!routes.ok()) return routes.status();
  absl::Status opened = gateway->dead_letters_.Open();
  if (!opened.ok()) return opened;
  const AuthSettings& auth = config.gateway.auth;
  gateway->tokens_ = auth.tokens;
  if (!auth.token_file.empty()) {
    std::ifstream in(auth.token_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway.auth.token_file: ", auth.token_file, ": cannot read"));
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      absl::string_view token = absl::StripAsciiWhitespace(line);
      if (token.empty() || token[0] == '#') continue;
      // Messages name the line, never the token.
      if (token.size() < 16) {
        return absl::InvalidArgumentError(
            absl::StrCat("gateway.auth.token_file: ", auth.token_file, ":", number,
                         ": a token must be at least 16 characters (value not shown)"));
      }
      gateway->tokens_.emplace_back(token);
    }
    if (gateway->tokens_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("gateway.auth.token_file: ", auth.token_file,
                                                     ": holds no token; every stream would be ",
                                                     "refused"));
    }
  }
  absl::MutexLock lock(&gateway->routes_mu_);
  gateway->routes_ = *std::move(routes);
  return gateway;
}

Gateway::Gateway(const GatewaySettings& settings)
    : settings_(settings),
      budget_(settings_.max_queue_events, settings_.max_queue_bytes, &metrics_),
      dead_letters_(settings_.dead_letter_path, settings_.dead_letter_max_bytes) {}

Gateway::~Gateway() {
  Drain(absl::Now());
  {
    absl::MutexLock lock(&mu_);
    stop_ticker_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
}

void Gateway::TickStreams() {
  // A tick is at most a quarter of the heartbeat, so a heartbeat is late by
  // at most that much.
  const absl::Duration period = std::min(absl::Seconds(1), settings_.stream_heartbeat / 4);
  for (;;) {
    std::vector<std::shared_ptr<EventStream>> open;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_ticker_), period);
      if (stop_ticker_) return;
      for (auto& weak : streams_) {
        if (auto stream = weak.lock()) open.push_back(std::move(stream));
      }
    }
    const absl::Time now = absl::Now();
    for (auto& stream : open) stream->Tick(now);
  }
}

EndpointMetrics* Gateway::MetricsFor(const std::string& webhook) {
  absl::MutexLock lock(&metrics_mu_);
  for (auto& metrics : endpoint_metrics_) {
    if (metrics->webhook == webhook) return metrics.get();
  }
  endpoint_metrics_.push_back(std::make_unique<EndpointMetrics>());
  endpoint_metrics_.back()->webhook = webhook;
  return endpoint_metrics_.back().get();
}

std::vector<EndpointMetrics*> Gateway::endpoint_metrics() const {
  absl::MutexLock lock(&metrics_mu_);
  std::vector<EndpointMetrics*> out;
  for (auto& metrics : endpoint_metrics_) out.push_back(metrics.get());
  return out;
}

absl::StatusOr<std::unique_ptr<Gateway::Routes>> Gateway::BuildRoutes(
    const std::vector<WebhookConfig>& webhooks) {
  absl::StatusOr<Router> router = Router::Build(webhooks);
  if (!router.ok()) return router.status();
  auto routes = std::make_unique<Routes>(Routes{*std::move(router), {}});
  for (const WebhookConfig& webhook : webhooks) {
    absl::StatusOr<std::unique_ptr<Endpoint>> endpoint = Endpoint::Create(
        webhook, settings_.outbound, settings_.spool_dir, &dead_letters_, MetricsFor(webhook.name));
    if (!endpoint.ok()) return endpoint.status();
    routes->endpoints.push_back(*std::move(endpoint));
  }
  return routes;
}

void Gateway::Start() {
  {
    absl::ReaderMutexLock lock(&routes_mu_);
    for (auto& endpoint : routes_->endpoints) {
      endpoint->Recover();
      endpoint->Start();
    }
  }
  if (!ticker_.joinable()) ticker_ = std::thread([this] { TickStreams(); });
}

absl::Status Gateway::Reload(const Config& config) {
  absl::StatusOr<std::unique_ptr<Routes>> routes = BuildRoutes(config.webhooks);
  if (!routes.ok()) return routes.status();
  for (auto& endpoint : (*routes)->endpoints) endpoint->Start();
  absl::MutexLock lock(&routes_mu_);
  // The old endpoints get no new work from here on; they finish what they
  // hold, bounded by their own retry policy, then their workers exit.
  for (auto& endpoint : routes_->endpoints) {
    const RetryPolicy& retry = endpoint->config().retry;
    endpoint->BeginStop(absl::Now() + retry.max_age + retry.max_backoff);
  }
  retired_.push_back(std::move(routes_));
  routes_ = *std::move(routes);
  WGW_LOG(kInfo, kComponent, "config reloaded", "webhooks=", config.webhooks.size());
  return absl::OkStatus();
}

void Gateway::Dispatch(const std::vector<std::shared_ptr<Job>>& jobs, std::vector<int>* routed) {
  thread_local std::vector<uint32_t> targets;
  // Per endpoint, the jobs of this call it must deliver.
  thread_local std::vector<std::vector<std::shared_ptr<Job>>> queues;
  routed->assign(jobs.size(), 0);
  int64_t events = 0;
  int64_t bytes = 0;
  absl::ReaderMutexLock lock(&routes_mu_);
  queues.resize(routes_->endpoints.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    Job& job = *jobs[i];
    const int kind = static_cast<int>(job.kind);
    metrics_.received[kind].fetch_add(1, std::memory_order_relaxed);
    routes_->router.Match(job.kind, TopicOf(job.event), &targets);
    if (targets.empty()) {
      metrics_.filtered[kind].fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    job.remaining.store(static_cast<int>(targets.size()), std::memory_order_relaxed);
    for (uint32_t target : targets) queues[target].push_back(jobs[i]);
    (*routed)[i] = static_cast<int>(targets.size());
    ++events;
    bytes += static_cast<int64_t>(job.bytes);
  }
  // Counted before any endpoint sees a job, so a release never comes first.
  if (events > 0) budget_.Add(events, bytes);
  for (size_t e = 0; e < queues.size(); ++e) {
    if (!queues[e].empty()) routes_->endpoints[e]->Enqueue(&queues[e]);
  }
}

void Gateway::RejectEvent(const v1::Event& event, std::string_view reason) {
  metrics_.invalid_events.fetch_add(1, std::memory_order_relaxed);
  WGW_LOG(kWarn, kComponent, "event rejected", "id=", EventId(event), " reason=", LogQuote(reason));
  absl::Status written = dead_letters_.Write(event, DeadLetter{"", reason, 0, 0});
  if (!written.ok()) {
    WGW_LOG(kError, kComponent, "dead letter not written",
            "error=", LogQuote(std::string(written.message())));
  }
}

bool Gateway::TokenAccepted(std::string_view token) const {
  if (tokens_.empty()) return true;
  // Every token is compared, so the time taken does not reveal which one
  // came close. Lengths are not secret enough to hide.
  bool accepted = false;
  for (const std::string& t : tokens_) {
    if (t.size() == token.size() && CRYPTO_memcmp(t.data(), token.data(), t.size()) == 0) {
      accepted = true;
    }
  }
  return accepted;
}

bool Gateway::AcquirePeer(const std::string& peer) {
  std::string address = PeerAddress(peer);
  absl::MutexLock lock(&mu_);
  int64_t& n = peer_streams_[address];
  if (n >= settings_.max_streams_per_peer) return false;
  ++n;
  return true;
}

void Gateway::ReleasePeer(const std::string& peer) {
  std::string address = PeerAddress(peer);
  absl::MutexLock lock(&mu_);
  auto it = peer_streams_.find(address);
  if (it == peer_streams_.end()) return;
  if (--it->second <= 0) peer_streams_.erase(it);
}

bool Gateway::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

bool Gateway::AddStream(const std::shared_ptr<EventStream>& stream) {
  absl::MutexLock lock(&mu_);
  // Checked under the lock Drain takes: a stream added after Drain listed
  // the open ones would never get a GoAway, and would dispatch to stopped
  // endpoints.
  if (draining_) return false;
  // Forget streams that have ended, so the list stays as long as the number
  // of open streams.
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const std::weak_ptr<EventStream>& s) { return s.expired(); }),
                 streams_.end());
  streams_.push_back(stream);
  return true;
}

void Gateway::RemoveStream(EventStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [stream](const std::weak_ptr<EventStream>& s) {
                                  auto locked = s.lock();
                                  return locked == nullptr || locked.get() == stream;
                                }),
                 streams_.end());
}

void Gateway::Drain(absl::Time deadline) {
  std::vector<std::shared_ptr<EventStream>> open;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    for (auto& weak : streams_) {
      if (auto stream = weak.lock()) open.push_back(std::move(stream));
    }
  }
  WGW_LOG(kInfo, kComponent, "draining", "streams=", open.size(),
          " grace_ms=", absl::ToInt64Milliseconds(deadline - absl::Now()));
  for (auto& stream : open) stream->GoAway("gateway draining");
  // Endpoints are never destroyed before the gateway, so the pointers stay
  // valid after the lock is released; joining happens outside it so that
  // streams can still dispatch what they read before the GoAway.
  std::vector<Endpoint*> endpoints;
  {
    absl::MutexLock lock(&routes_mu_);
    // routes_ is null when Create failed before installing it.
    if (routes_ != nullptr) {
      for (auto& endpoint : routes_->endpoints) endpoints.push_back(endpoint.get());
    }
    for (auto& retired : retired_) {
      for (auto& endpoint : retired->endpoints) endpoints.push_back(endpoint.get());
    }
  }
  for (Endpoint* endpoint : endpoints) endpoint->BeginStop(deadline);
  for (Endpoint* endpoint : endpoints) endpoint->Stop(deadline);
}

}  // namespace webhookgw
