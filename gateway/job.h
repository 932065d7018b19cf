#ifndef WEBHOOKGW_GATEWAY_JOB_H_
#define WEBHOOKGW_GATEWAY_JOB_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "gateway/event_kind.h"
#include "google/protobuf/arena.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

struct Job;

// What an owner hears of a finished job.
struct FinishedJob {
  uint64_t stream_seq;
  size_t bytes;
};

// Whoever must hear that jobs are finished: the stream that carried them (to
// advance its cumulative ack). Called on a delivery thread, with the jobs
// that thread finished together (see FinishedJobs).
class JobOwner {
 public:
  virtual ~JobOwner() = default;
  virtual void JobsFinished(const FinishedJob* jobs, size_t count) = 0;
};

// Collects the jobs finished on this thread while it is alive and tells
// their owners at Flush (or destruction), once per owner: a delivery thread
// that completes many requests in one round then takes each stream's lock
// and writes each stream's ack once for the round, not once per event.
// Without one on the thread, a finished job is reported at once.
//
// Not thread-safe: one per thread, on the stack of the thread it serves.
class FinishedJobs {
 public:
  FinishedJobs();
  ~FinishedJobs();
  FinishedJobs(const FinishedJobs&) = delete;
  FinishedJobs& operator=(const FinishedJobs&) = delete;

  // Tells the owners what was collected so far.
  void Flush();

  // Reports `job` to `owner`: to the collector of this thread if there is
  // one, otherwise right away.
  static void Report(std::shared_ptr<JobOwner> owner, FinishedJob job);

 private:
  struct Group {
    std::shared_ptr<JobOwner> owner;
    std::vector<FinishedJob> jobs;
  };
  // Groups [0, used_) are in use; the rest keep their capacity for reuse.
  std::vector<Group> groups_;
  size_t used_ = 0;
  bool flushing_ = false;
  FinishedJobs* outer_;
};

// One event inside the gateway, shared by every endpoint that must deliver
// it. The job is finished (and its owner told, once) when the last endpoint
// has delivered it or given up on it and recorded a dead letter.
struct Job {
  Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

 private:
  // The event and its sub-messages live on the job's own arena, whose first
  // block is part of the job: a typical event then costs no allocation of
  // its own beyond the job (string contents longer than the small-string
  // buffer still take one each). Sized for a publish event with its
  // properties; a larger event takes further blocks from the heap. Kept
  // under glibc's 1 KiB large-request bound, with the rest of the job.
  static constexpr size_t kArenaBlockBytes = 640;
  alignas(16) char arena_block_[kArenaBlockBytes];
  google::protobuf::Arena arena_;

 public:
  v1::Event& event;
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
      // Only the last release gets here, so the owner can be moved out.
      FinishedJobs::Report(std::move(owner), FinishedJob{stream_seq, bytes});
    }
  }
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_JOB_H_
