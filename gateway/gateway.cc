#include "gateway/gateway.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gateway/event_stream.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {
constexpr char kComponent[] = "gateway";
}  // namespace

std::string EventId(const v1::Event& event) {
  return absl::StrCat(event.node(), "-", event.incarnation(), "-", event.sequence());
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const Config& config) {
  std::unique_ptr<Gateway> gateway(new Gateway(config.gateway));
  absl::StatusOr<std::unique_ptr<Routes>> routes = gateway->BuildRoutes(config.webhooks);
  if (!routes.ok()) return routes.status();
  absl::Status opened = gateway->dead_letters_.Open();
  if (!opened.ok()) return opened;
  absl::MutexLock lock(&gateway->routes_mu_);
  gateway->routes_ = *std::move(routes);
  return gateway;
}

Gateway::Gateway(const GatewaySettings& settings)
    : settings_(settings),
      budget_(settings_.max_queue_events, settings_.max_queue_bytes, &metrics_),
      dead_letters_(settings_.dead_letter_path, settings_.dead_letter_max_bytes) {}

Gateway::~Gateway() { Drain(absl::Now()); }

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
    absl::StatusOr<std::unique_ptr<Endpoint>> endpoint =
        Endpoint::Create(webhook, &dead_letters_, MetricsFor(webhook.name));
    if (!endpoint.ok()) return endpoint.status();
    routes->endpoints.push_back(*std::move(endpoint));
  }
  return routes;
}

void Gateway::Start() {
  absl::ReaderMutexLock lock(&routes_mu_);
  for (auto& endpoint : routes_->endpoints) endpoint->Start();
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

int Gateway::Dispatch(const std::shared_ptr<Job>& job) {
  thread_local std::vector<uint32_t> targets;
  const int kind = static_cast<int>(job->kind);
  metrics_.received[kind].fetch_add(1, std::memory_order_relaxed);
  absl::ReaderMutexLock lock(&routes_mu_);
  routes_->router.Match(job->kind, TopicOf(job->event), &targets);
  if (targets.empty()) {
    metrics_.filtered[kind].fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  job->remaining.store(static_cast<int>(targets.size()), std::memory_order_relaxed);
  budget_.Add(1, static_cast<int64_t>(job->bytes));
  for (uint32_t target : targets) routes_->endpoints[target]->Enqueue(job);
  return static_cast<int>(targets.size());
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
    for (auto& endpoint : routes_->endpoints) endpoints.push_back(endpoint.get());
    for (auto& retired : retired_) {
      for (auto& endpoint : retired->endpoints) endpoints.push_back(endpoint.get());
    }
  }
  for (Endpoint* endpoint : endpoints) endpoint->BeginStop(deadline);
  for (Endpoint* endpoint : endpoints) endpoint->Stop(deadline);
}

}  // namespace webhookgw
