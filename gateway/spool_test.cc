#include "gateway/spool.h"

#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gateway/job.h"

namespace webhookgw {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::Event Publish(const std::string& client, uint64_t sequence) {
  v1::Event event;
  event.set_node("n1");
  event.set_incarnation(7);
  event.set_sequence(sequence);
  event.mutable_message_publish()->set_from_client_id(client);
  event.mutable_message_publish()->set_topic("t/" + client);
  event.mutable_message_publish()->set_payload("p" + std::to_string(sequence));
  return event;
}

std::vector<uint64_t> Sequences(const std::vector<v1::Event>& events) {
  std::vector<uint64_t> out;
  for (const v1::Event& event : events) out.push_back(event.sequence());
  return out;
}

// The .jsonl files in `dir`.
std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".jsonl") out.push_back(name);
  }
  closedir(d);
  return out;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wgw-spool-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)!system(("rm -rf " + root_).c_str()); }

  std::string root_;
};

TEST_F(SpoolTest, DirectoryNamesEscapeEverythingOutsideASafeSet) {
  EXPECT_EQ(SpoolDirectory("/s", "orders"), "/s/orders");
  EXPECT_EQ(SpoolDirectory("/s/", "a/b c"), "/s/a%2Fb%20c");
  EXPECT_EQ(SpoolDirectory("/s", ".."), "/s/%2E.");
  EXPECT_EQ(SpoolDirectory("/s", "."), "/s/%2E");
  EXPECT_NE(SpoolDirectory("/s", "a%2Fb"), SpoolDirectory("/s", "a/b"));
}

TEST_F(SpoolTest, EmptyDirectoryDisablesIt) {
  Spool spool("", "w");
  EXPECT_FALSE(spool.enabled());
  EXPECT_TRUE(spool.Open().ok());
  int64_t bad = 0;
  EXPECT_THAT(spool.Recover(&bad), IsEmpty());
}

TEST_F(SpoolTest, ALaterProcessRecoversWhatWasParkedAndNotDone) {
  {
    Spool spool(root_, "hook");
    ASSERT_TRUE(spool.Open().ok());
    for (uint64_t i = 1; i <= 4; ++i) spool.Park(Publish("c" + std::to_string(i % 2), i));
    ASSERT_TRUE(spool.Flush().ok());
    spool.Done(Publish("c1", 1));
    spool.Done(Publish("c1", 3));
    ASSERT_TRUE(spool.Flush().ok());
    spool.Park(Publish("c1", 5));
    // Close flushes what is buffered; false: the file stays, as after a
    // stop with events still parked.
    spool.Close(/*remove=*/false);
  }
  ASSERT_EQ(Files(SpoolDirectory(root_, "hook")).size(), 1u);

  Spool next(root_, "hook");
  int64_t bad = 0;
  std::vector<v1::Event> events = next.Recover(&bad);
  EXPECT_EQ(bad, 0);
  EXPECT_THAT(Sequences(events), ElementsAre(2, 4, 5));
  EXPECT_EQ(events[0].message_publish().payload(), "p2");
  // Not removed until adopted: a crash before then loses nothing.
  EXPECT_EQ(Files(SpoolDirectory(root_, "hook")).size(), 1u);
  next.Adopted();
  EXPECT_THAT(Files(SpoolDirectory(root_, "hook")), IsEmpty());
}

TEST_F(SpoolTest, AFileALiveSpoolHoldsIsNotTaken) {
  Spool live(root_, "hook");
  ASSERT_TRUE(live.Open().ok());
  live.Park(Publish("c", 1));
  ASSERT_TRUE(live.Flush().ok());

  Spool other(root_, "hook");
  int64_t bad = 0;
  EXPECT_THAT(other.Recover(&bad), IsEmpty());
  other.Adopted();
  EXPECT_EQ(Files(SpoolDirectory(root_, "hook")).size(), 1u);

  // Once the live one is gone (here: closed without removing), it is.
  live.Close(/*remove=*/false);
  EXPECT_THAT(Sequences(other.Recover(&bad)), ElementsAre(1));
}

TEST_F(SpoolTest, WebhooksHaveSeparateDirectories) {
  Spool a(root_, "a");
  ASSERT_TRUE(a.Open().ok());
  a.Park(Publish("c", 1));
  a.Close(/*remove=*/false);
  Spool b(root_, "b");
  int64_t bad = 0;
  EXPECT_THAT(b.Recover(&bad), IsEmpty());
}

TEST_F(SpoolTest, APartialLastLineIsSkippedAndCounted) {
  std::string path;
  {
    Spool spool(root_, "hook");
    ASSERT_TRUE(spool.Open().ok());
    spool.Park(Publish("c", 1));
    spool.Park(Publish("c", 2));
    ASSERT_TRUE(spool.Flush().ok());
    path = spool.path();
    spool.Close(/*remove=*/false);
  }
  {
    // What a process killed in the middle of a write leaves.
    std::ofstream out(path, std::ios::app);
    out << "{\"webhook\":\"\",\"reason\":\"parked\",\"event\":\"CgJu";
  }
  Spool next(root_, "hook");
  int64_t bad = 0;
  EXPECT_THAT(Sequences(next.Recover(&bad)), ElementsAre(1, 2));
  EXPECT_EQ(bad, 1);
}

TEST_F(SpoolTest, ClearStartsTheFileOverAndCloseCanRemoveIt) {
  Spool spool(root_, "hook");
  ASSERT_TRUE(spool.Open().ok());
  spool.Park(Publish("c", 1));
  ASSERT_TRUE(spool.Flush().ok());
  EXPECT_GT(spool.file_bytes(), 0);
  spool.Done(Publish("c", 1));
  ASSERT_TRUE(spool.Clear().ok());
  EXPECT_EQ(spool.file_bytes(), 0);
  EXPECT_FALSE(spool.dirty());
  std::string path = spool.path();
  spool.Close(/*remove=*/true);
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

TEST_F(SpoolTest, CompactionKeepsOnlyTheLiveEvents) {
  Spool spool(root_, "hook");
  ASSERT_TRUE(spool.Open().ok());
  std::vector<v1::Event> events;
  for (uint64_t i = 1; i <= 6; ++i) events.push_back(Publish("c", i));
  for (const v1::Event& e : events) spool.Park(e);
  for (int i = 0; i < 4; ++i) spool.Done(events[i]);
  ASSERT_TRUE(spool.Flush().ok());
  int64_t before = spool.file_bytes();
  // Small files are not worth rewriting.
  EXPECT_FALSE(spool.WantsCompaction(2));
  ASSERT_TRUE(spool.Compact({&events[4], &events[5]}).ok());
  EXPECT_LT(spool.file_bytes(), before);
  // Records after compaction go to the new file.
  spool.Done(events[4]);
  spool.Park(Publish("c", 7));
  spool.Close(/*remove=*/false);
  EXPECT_EQ(Files(SpoolDirectory(root_, "hook")).size(), 1u);

  Spool next(root_, "hook");
  int64_t bad = 0;
  EXPECT_THAT(Sequences(next.Recover(&bad)), ElementsAre(6, 7));
  EXPECT_EQ(bad, 0);
}

TEST_F(SpoolTest, ALeftoverOfACutShortCompactionIsRemovedAndIgnored) {
  std::string path;
  {
    Spool spool(root_, "hook");
    ASSERT_TRUE(spool.Open().ok());
    spool.Park(Publish("c", 1));
    ASSERT_TRUE(spool.Flush().ok());
    path = spool.path();
    spool.Close(/*remove=*/false);
  }
  {
    std::ofstream out(path + ".new");
    out << "{\"done\":\"n1-7-1\"}\n";
  }
  Spool next(root_, "hook");
  int64_t bad = 0;
  EXPECT_THAT(Sequences(next.Recover(&bad)), ElementsAre(1));
  EXPECT_NE(access((path + ".new").c_str(), F_OK), 0);
}

TEST_F(SpoolTest, AnUnwritableDirectoryIsAnErrorNamingIt) {
  Spool spool("/proc/webhookgw-no-such-dir", "hook");
  absl::Status st = spool.Open();
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("/proc/webhookgw-no-such-dir"));
}

}  // namespace
}  // namespace webhookgw
