#include "gateway/job.h"

namespace webhookgw {
namespace {

// The collector of the current thread, innermost first.
thread_local FinishedJobs* current = nullptr;

google::protobuf::ArenaOptions FirstBlock(char* block, size_t size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

}  // namespace

// make_shared puts the job and its control block in one allocation, which
// should stay below glibc's large-request bound (1008 bytes), past which
// every allocation consolidates the fast bins.
static_assert(sizeof(Job) + 32 <= 1008, "Job outgrew a small allocation");

Job::Job()
    : arena_(FirstBlock(arena_block_, kArenaBlockBytes)),
      event(*google::protobuf::Arena::CreateMessage<v1::Event>(&arena_)) {}

FinishedJobs::FinishedJobs() : outer_(current) { current = this; }

FinishedJobs::~FinishedJobs() {
  Flush();
  current = outer_;
}

void FinishedJobs::Flush() {
  // Jobs finished while an owner is being told are reported at once (see
  // Report), so the groups do not change under this loop.
  flushing_ = true;
  for (size_t i = 0; i < used_; ++i) {
    Group& group = groups_[i];
    group.owner->JobsFinished(group.jobs.data(), group.jobs.size());
    group.owner.reset();
    group.jobs.clear();
  }
  used_ = 0;
  flushing_ = false;
}

void FinishedJobs::Report(std::shared_ptr<JobOwner> owner, FinishedJob job) {
  FinishedJobs* batch = current;
  if (batch == nullptr || batch->flushing_) {
    owner->JobsFinished(&job, 1);
    return;
  }
  // A delivery thread serves a handful of streams: a linear search is the
  // cheapest way to find the group.
  for (size_t i = 0; i < batch->used_; ++i) {
    if (batch->groups_[i].owner == owner) {
      batch->groups_[i].jobs.push_back(job);
      return;
    }
  }
  if (batch->used_ == batch->groups_.size()) batch->groups_.emplace_back();
  Group& group = batch->groups_[batch->used_++];
  group.owner = std::move(owner);
  group.jobs.push_back(job);
}

}  // namespace webhookgw
