#include "gateway/topic_filter.h"

#include <string>
#include <vector>

#include "gateway/topic_filter_reference.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::HasSubstr;

bool Match(std::string_view filter, std::string_view topic) {
  absl::StatusOr<TopicFilter> parsed = TopicFilter::Parse(filter);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  return parsed.ok() && parsed->Matches(topic);
}

std::string ParseError(std::string_view filter) {
  absl::StatusOr<TopicFilter> parsed = TopicFilter::Parse(filter);
  EXPECT_FALSE(parsed.ok()) << filter;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(TopicFilterTest, KeepsText) {
  absl::StatusOr<TopicFilter> parsed = TopicFilter::Parse("a/+/#");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->text(), "a/+/#");
}

TEST(TopicFilterTest, LiteralFilterMatchesOnlyItself) {
  EXPECT_TRUE(Match("a/b", "a/b"));
  EXPECT_FALSE(Match("a/b", "a/b/"));
  EXPECT_FALSE(Match("a/b", "a"));
  EXPECT_FALSE(Match("a/b", "A/b"));
  EXPECT_TRUE(Match("/", "/"));
  EXPECT_FALSE(Match("/", ""));
}

TEST(TopicFilterTest, HashMatchesParentAndEverythingBelow) {
  EXPECT_TRUE(Match("sport/tennis/player1/#", "sport/tennis/player1"));
  EXPECT_TRUE(Match("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
  EXPECT_TRUE(Match("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
  EXPECT_TRUE(Match("sport/#", "sport"));
  EXPECT_TRUE(Match("sport/#", "sport/"));
  EXPECT_FALSE(Match("sport/#", "sports"));
  EXPECT_FALSE(Match("sport/tennis/#", "sport"));
  EXPECT_TRUE(Match("#", "anything/at/all"));
  EXPECT_TRUE(Match("#", "/"));
}

TEST(TopicFilterTest, PlusMatchesExactlyOneLevel) {
  EXPECT_TRUE(Match("sport/tennis/+", "sport/tennis/player1"));
  EXPECT_FALSE(Match("sport/tennis/+", "sport/tennis/player1/ranking"));
  EXPECT_FALSE(Match("sport/+", "sport"));
  // An empty level is still a level.
  EXPECT_TRUE(Match("sport/+", "sport/"));
  EXPECT_TRUE(Match("+/+", "/finance"));
  EXPECT_TRUE(Match("/+", "/finance"));
  EXPECT_FALSE(Match("+", "/finance"));
  EXPECT_TRUE(Match("+", ""));
  EXPECT_TRUE(Match("a/+/c", "a//c"));
  EXPECT_FALSE(Match("a/+/c", "a/c"));
  EXPECT_TRUE(Match("+/+/#", "a/b"));
  EXPECT_FALSE(Match("+/+/+", "a/b"));
}

TEST(TopicFilterTest, EmptyLevelsAreLegal) {
  EXPECT_TRUE(Match("a//b", "a//b"));
  EXPECT_FALSE(Match("a//b", "a/b"));
  EXPECT_TRUE(Match("/a", "/a"));
  EXPECT_FALSE(Match("/a", "a"));
  EXPECT_TRUE(Match("a/", "a/"));
}

TEST(TopicFilterTest, FirstLevelWildcardsSkipDollarTopics) {
  EXPECT_FALSE(Match("#", "$SYS/broker/uptime"));
  EXPECT_FALSE(Match("+/monitor/Clients", "$SYS/monitor/Clients"));
  EXPECT_FALSE(Match("+", "$SYS"));
  EXPECT_TRUE(Match("$SYS/#", "$SYS/broker/uptime"));
  EXPECT_TRUE(Match("$SYS/#", "$SYS"));
  EXPECT_TRUE(Match("$SYS/monitor/+", "$SYS/monitor/Clients"));
  // Only a leading '$' is special.
  EXPECT_TRUE(Match("#", "a/$SYS"));
  EXPECT_TRUE(Match("+/+", "a/$b"));
  EXPECT_TRUE(Match("#", "/$SYS"));
}

TEST(TopicFilterTest, WildcardsInTopicAreComparedLiterally) {
  // Subscribe events match a rule against the filter being subscribed.
  EXPECT_TRUE(Match("a/b/+", "a/b/+"));
  EXPECT_TRUE(Match("a/b/+", "a/b/#"));
  EXPECT_FALSE(Match("a/b/c", "a/b/+"));
  EXPECT_TRUE(Match("a/#", "a/+/#"));
}

TEST(TopicFilterTest, RejectsInvalidFiltersWithReason) {
  EXPECT_EQ(ParseError(""), "\"\": topic filter is empty");
  EXPECT_EQ(ParseError("a/#/b"), "\"a/#/b\": '#' must be the last level");
  EXPECT_EQ(ParseError("#/"), "\"#/\": '#' must be the last level");
  EXPECT_EQ(ParseError("a+"), "\"a+\": '+' must occupy a whole level");
  EXPECT_EQ(ParseError("a/+b/c"), "\"a/+b/c\": '+' must occupy a whole level");
  EXPECT_EQ(ParseError("++"), "\"++\": '+' must occupy a whole level");
  EXPECT_EQ(ParseError("#a"), "\"#a\": '#' must occupy a whole level");
  EXPECT_EQ(ParseError("a/b#"), "\"a/b#\": '#' must occupy a whole level");
  EXPECT_EQ(ParseError("##"), "\"##\": '#' must occupy a whole level");
  EXPECT_EQ(ParseError(std::string_view("a\0b", 3)),
            "\"a\\000b\": topic filter contains a NUL character");
}

TEST(TopicFilterTest, ErrorQuotesControlCharacters) {
  EXPECT_THAT(ParseError("a\n#b"), HasSubstr("\"a\\n#b\""));
}

// Every string up to `max_len` characters over `alphabet`.
std::vector<std::string> AllStrings(std::string_view alphabet, size_t max_len) {
  std::vector<std::string> all = {""};
  for (size_t begin = 0, len = 0; len < max_len; ++len) {
    size_t end = all.size();
    for (size_t i = begin; i < end; ++i) {
      for (char c : alphabet) all.push_back(all[i] + c);
    }
    begin = end;
  }
  return all;
}

TEST(TopicFilterTest, AgreesWithReferenceOnAllSmallInputs) {
  std::vector<std::string> filters = AllStrings("a/+#$", 5);
  std::vector<std::string> topics = AllStrings("ab/$+", 5);
  int valid = 0;
  int matches = 0;
  for (const std::string& filter : filters) {
    absl::StatusOr<TopicFilter> parsed = TopicFilter::Parse(filter);
    ASSERT_EQ(parsed.ok(), reference::Valid(filter)) << filter;
    if (!parsed.ok()) continue;
    ++valid;
    for (const std::string& topic : topics) {
      bool expected = reference::Match(filter, topic);
      ASSERT_EQ(parsed->Matches(topic), expected) << filter << " vs " << topic;
      matches += expected;
    }
  }
  // Guards against a generator that produced nothing interesting.
  EXPECT_GT(valid, 500);
  EXPECT_GT(matches, 10000);
}

}  // namespace
}  // namespace webhookgw
