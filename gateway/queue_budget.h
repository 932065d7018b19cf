#ifndef WEBHOOKGW_GATEWAY_QUEUE_BUDGET_H_
#define WEBHOOKGW_GATEWAY_QUEUE_BUDGET_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gateway/metrics.h"

namespace webhookgw {

// Bounds what the gateway holds in memory, in events and in bytes, over all
// streams. Streams add what they read and stop reading while the budget is
// exhausted; releasing jobs wakes them. This is how a full gateway pushes
// back on adapters: through gRPC flow control, never by dropping.
//
// Thread-safe.
class QueueBudget {
 public:
  QueueBudget(int64_t max_events, int64_t max_bytes, GatewayMetrics* metrics);

  void Add(int64_t events, int64_t bytes);
  void Release(int64_t events, int64_t bytes);

  // Returns true when there is room now. Otherwise remembers `resume`, which
  // is called once (on a releasing thread, without locks held) when room
  // appears, and returns false.
  bool HasRoomOrNotify(std::function<void()> resume);

 private:
  bool HasRoomLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return events_ < max_events_ && bytes_ < max_bytes_;
  }

  const int64_t max_events_;
  const int64_t max_bytes_;
  GatewayMetrics* const metrics_;
  absl::Mutex mu_;
  int64_t events_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void()>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_QUEUE_BUDGET_H_
