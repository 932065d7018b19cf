#ifndef WEBHOOKGW_GATEWAY_JOB_H_
#define WEBHOOKGW_GATEWAY_JOB_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "gateway/event_kind.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

struct Job;

// Whoever must hear that a job is finished: the stream that carried it (to
// advance its cumulative ack) or a replay. Called on a delivery thread.
class JobOwner {
 public:
  virtual ~JobOwner() = default;
  virtual void JobFinished(const Job& job) = 0;
};

// One event inside the gateway, shared by every endpoint that must deliver
// it. The job is finished (and its owner told, once) when the last endpoint
// has delivered it or given up on it and recorded a dead letter.
struct Job {
  v1::Event event;
  EventKind kind = EventKind::kClientConnect;
  // Encoded size of the event, for queue accounting.
  size_t bytes = 0;
  // The stream sequence number it arrived with.
  uint64_t stream_seq = 0;
  // Endpoints still working on it.
  std::atomic<int> remaining{0};
  std::shared_ptr<JobOwner> owner;

  // Called by each endpoint once it is done with the job.
  void Release() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1 && owner) {
      owner->JobFinished(*this);
    }
  }
};

// The id receivers see (webhook-id header, dead-letter records):
// "<node>-<incarnation>-<sequence>".
std::string EventId(const v1::Event& event);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_JOB_H_
