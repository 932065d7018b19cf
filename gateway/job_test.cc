#include "gateway/job.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "tests/test_events.h"

namespace webhookgw {
namespace {

// Records each call it gets, as the list of sequence numbers and byte counts.
class RecordingOwner : public JobOwner {
 public:
  void JobsFinished(const FinishedJob* jobs, size_t count) override {
    std::vector<uint64_t> seqs;
    size_t bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      seqs.push_back(jobs[i].stream_seq);
      bytes += jobs[i].bytes;
    }
    calls.push_back(std::move(seqs));
    call_bytes.push_back(bytes);
    if (on_call) on_call();
  }

  std::vector<std::vector<uint64_t>> calls;
  std::vector<size_t> call_bytes;
  std::function<void()> on_call;
};

std::shared_ptr<Job> MakeJob(std::shared_ptr<JobOwner> owner, uint64_t seq, int endpoints) {
  auto job = std::make_shared<Job>();
  job->stream_seq = seq;
  job->bytes = 10 * seq;
  job->remaining.store(endpoints);
  job->owner = std::move(owner);
  return job;
}

TEST(FinishedJobsTest, WithoutACollectorTheOwnerHearsAtOnce) {
  auto owner = std::make_shared<RecordingOwner>();
  MakeJob(owner, 7, 1)->Release();
  ASSERT_EQ(owner->calls.size(), 1u);
  EXPECT_EQ(owner->calls[0], std::vector<uint64_t>{7});
  EXPECT_EQ(owner->call_bytes[0], 70u);
}

TEST(FinishedJobsTest, OnlyTheLastReleaseFinishesAJob) {
  auto owner = std::make_shared<RecordingOwner>();
  auto job = MakeJob(owner, 3, 2);
  job->Release();
  EXPECT_TRUE(owner->calls.empty());
  job->Release();
  ASSERT_EQ(owner->calls.size(), 1u);
  EXPECT_EQ(owner->calls[0], std::vector<uint64_t>{3});
}

TEST(FinishedJobsTest, ACollectorTellsEachOwnerOncePerFlushInOrder) {
  auto a = std::make_shared<RecordingOwner>();
  auto b = std::make_shared<RecordingOwner>();
  FinishedJobs finished;
  MakeJob(a, 1, 1)->Release();
  MakeJob(b, 5, 1)->Release();
  MakeJob(a, 2, 1)->Release();
  MakeJob(a, 3, 1)->Release();
  EXPECT_TRUE(a->calls.empty());
  EXPECT_TRUE(b->calls.empty());

  finished.Flush();
  ASSERT_EQ(a->calls.size(), 1u);
  EXPECT_EQ(a->calls[0], (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(a->call_bytes[0], 60u);
  ASSERT_EQ(b->calls.size(), 1u);
  EXPECT_EQ(b->calls[0], std::vector<uint64_t>{5});

  // A second round reuses the groups and reports only what is new.
  MakeJob(b, 6, 1)->Release();
  finished.Flush();
  EXPECT_EQ(a->calls.size(), 1u);
  ASSERT_EQ(b->calls.size(), 2u);
  EXPECT_EQ(b->calls[1], std::vector<uint64_t>{6});
  finished.Flush();
  EXPECT_EQ(b->calls.size(), 2u) << "an empty flush tells no one";
}

TEST(FinishedJobsTest, TheOwnerIsKeptAliveUntilTold) {
  auto owner = std::make_shared<RecordingOwner>();
  std::weak_ptr<RecordingOwner> weak = owner;
  FinishedJobs finished;
  MakeJob(std::move(owner), 9, 1)->Release();
  ASSERT_FALSE(weak.expired());
  finished.Flush();
  EXPECT_TRUE(weak.expired()) << "the collector drops its reference once the owner is told";
}

TEST(FinishedJobsTest, DestructionFlushes) {
  auto owner = std::make_shared<RecordingOwner>();
  {
    FinishedJobs finished;
    MakeJob(owner, 4, 1)->Release();
    EXPECT_TRUE(owner->calls.empty());
  }
  ASSERT_EQ(owner->calls.size(), 1u);
  EXPECT_EQ(owner->calls[0], std::vector<uint64_t>{4});
  // The collector is gone: the thread reports at once again.
  MakeJob(owner, 8, 1)->Release();
  EXPECT_EQ(owner->calls.size(), 2u);
}

TEST(FinishedJobsTest, JobsFinishedWhileAnOwnerIsToldAreReportedAtOnce) {
  auto a = std::make_shared<RecordingOwner>();
  auto b = std::make_shared<RecordingOwner>();
  FinishedJobs finished;
  // Telling `a` finishes a job of `b` on the same thread (as a stream's
  // ack can, through its callbacks).
  a->on_call = [&] { MakeJob(b, 12, 1)->Release(); };
  MakeJob(a, 11, 1)->Release();
  finished.Flush();
  ASSERT_EQ(b->calls.size(), 1u);
  EXPECT_EQ(b->calls[0], std::vector<uint64_t>{12});
  finished.Flush();
  EXPECT_EQ(b->calls.size(), 1u) << "not reported a second time";
}

TEST(FinishedJobsTest, TheInnermostCollectorCollects) {
  auto owner = std::make_shared<RecordingOwner>();
  FinishedJobs outer;
  {
    FinishedJobs inner;
    MakeJob(owner, 1, 1)->Release();
  }
  ASSERT_EQ(owner->calls.size(), 1u) << "the inner collector flushed on destruction";
  MakeJob(owner, 2, 1)->Release();
  EXPECT_EQ(owner->calls.size(), 1u) << "the outer one collects again";
  outer.Flush();
  ASSERT_EQ(owner->calls.size(), 2u);
  EXPECT_EQ(owner->calls[1], std::vector<uint64_t>{2});
}

TEST(JobTest, HoldsACopyOfTheEventOnItsOwnArena) {
  const v1::Event original =
      testing::Publish(42, "a-client-id-of-some-length", "sensors/building-7/floor-3/temp",
                       std::string(64, 'x'));
  auto job = std::make_shared<Job>();
  job->event.CopyFrom(original);
  ASSERT_NE(job->event.GetArena(), nullptr);
  EXPECT_EQ(job->event.SerializeAsString(), original.SerializeAsString());
  // A publish like the adapter's fits the job's first block: the arena takes
  // nothing more from the heap.
  EXPECT_LE(job->event.GetArena()->SpaceAllocated(), 640u)
      << "used " << job->event.GetArena()->SpaceUsed();
}

TEST(JobTest, AnEventLargerThanTheFirstBlockStillCopies) {
  v1::Event original = testing::Publish(1, "c", "t", std::string(100000, 'p'));
  for (int i = 0; i < 50; ++i) {
    auto* p = original.mutable_message_publish();
    p->set_topic(p->topic() + "/level");
  }
  auto job = std::make_shared<Job>();
  job->event.CopyFrom(original);
  EXPECT_EQ(job->event.SerializeAsString(), original.SerializeAsString());
}

}  // namespace
}  // namespace webhookgw
