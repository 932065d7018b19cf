#include "gateway/queue_budget.h"

#include <utility>

namespace webhookgw {

QueueBudget::QueueBudget(int64_t max_events, int64_t max_bytes, GatewayMetrics* metrics)
    : max_events_(max_events), max_bytes_(max_bytes), metrics_(metrics) {}

void QueueBudget::Add(int64_t events, int64_t bytes) {
  absl::MutexLock lock(&mu_);
  events_ += events;
  bytes_ += bytes;
  metrics_->queue_events.store(events_, std::memory_order_relaxed);
  metrics_->queue_bytes.store(bytes_, std::memory_order_relaxed);
}

void QueueBudget::Release(int64_t events, int64_t bytes) {
  std::vector<std::function<void()>> wake;
  {
    absl::MutexLock lock(&mu_);
    events_ -= events;
    bytes_ -= bytes;
    metrics_->queue_events.store(events_, std::memory_order_relaxed);
    metrics_->queue_bytes.store(bytes_, std::memory_order_relaxed);
    if (!waiters_.empty() && HasRoomLocked()) wake.swap(waiters_);
  }
  for (auto& resume : wake) resume();
}

bool QueueBudget::HasRoomOrNotify(std::function<void()> resume) {
  absl::MutexLock lock(&mu_);
  if (HasRoomLocked()) return true;
  waiters_.push_back(std::move(resume));
  return false;
}

}  // namespace webhookgw
