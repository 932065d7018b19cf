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
  absl::StatusOr<Router> router = Router::Build(config.webhooks);
  if (!router.ok()) return router.status();
  std::unique_ptr<Gateway> gateway(new Gateway(config, *std::move(router)));
  absl::Status opened = gateway->dead_letters_.Open();
  if (!opened.ok()) return opened;
  for (const WebhookConfig& webhook : config.webhooks) {
    auto metrics = std::make_unique<EndpointMetrics>();
    metrics->webhook = webhook.name;
    absl::StatusOr<std::unique_ptr<Endpoint>> endpoint =
        Endpoint::Create(webhook, &gateway->dead_letters_, metrics.get());
    if (!endpoint.ok()) return endpoint.status();
    gateway->endpoint_metrics_.push_back(std::move(metrics));
    gateway->endpoints_.push_back(*std::move(endpoint));
  }
  return gateway;
}

Gateway::Gateway(Config config, Router router)
    : config_(std::move(config)),
      router_(std::move(router)),
      budget_(config_.gateway.max_queue_events, config_.gateway.max_queue_bytes, &metrics_),
      dead_letters_(config_.gateway.dead_letter_path, config_.gateway.dead_letter_max_bytes) {}

Gateway::~Gateway() {
  for (auto& endpoint : endpoints_) endpoint->Stop(absl::Now());
}

void Gateway::Start() {
  for (auto& endpoint : endpoints_) endpoint->Start();
}

int Gateway::Dispatch(const std::shared_ptr<Job>& job) {
  thread_local std::vector<uint32_t> targets;
  const int kind = static_cast<int>(job->kind);
  metrics_.received[kind].fetch_add(1, std::memory_order_relaxed);
  router_.Match(job->kind, TopicOf(job->event), &targets);
  if (targets.empty()) {
    metrics_.filtered[kind].fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  job->remaining.store(static_cast<int>(targets.size()), std::memory_order_relaxed);
  budget_.Add(1, static_cast<int64_t>(job->bytes));
  for (uint32_t target : targets) endpoints_[target]->Enqueue(job);
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

void Gateway::AddStream(const std::shared_ptr<EventStream>& stream) {
  absl::MutexLock lock(&mu_);
  // Forget streams that have ended, so the list stays as long as the number
  // of open streams.
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const std::weak_ptr<EventStream>& s) { return s.expired(); }),
                 streams_.end());
  streams_.push_back(stream);
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
  for (auto& endpoint : endpoints_) endpoint->Stop(deadline);
}

}  // namespace webhookgw
