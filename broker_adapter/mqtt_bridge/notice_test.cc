#include "broker_adapter/mqtt_bridge/notice.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Recorded from NanoMQ 0.25.6, whitespace included.
constexpr char kNanoOnline[] =
    R"j({"status":"online", "username":"benchuser", "ts":1796314077648,"proto_name":"MQTT",)j"
    R"j("keepalive":60,"return_code":"0","proto_ver":4,"client_id":"cap-client-1",)j"
    R"j("clean_start":1, "IPv4":"127.0.0.1"})j";
constexpr char kNanoOnlineNoUser[] =
    R"j({"status":"online", "username":"(null)", "ts":1796314147000,"proto_name":"MQTT",)j"
    R"j("keepalive":60,"return_code":"0","proto_ver":4,"client_id":"smoke-0","clean_start":1,)j"
    R"j( "IPv4":"127.0.0.1"})j";
constexpr char kNanoOffline[] =
    R"j({"status":"offline", "username":"benchuser","ts":1796314077648,"reason_code":"0",)j"
    R"j("client_id":"cap-client-1","IPv4":"127.0.0.1"})j";

PresenceNotice Parse(PresenceSource source, std::string_view topic, std::string_view payload) {
  absl::StatusOr<std::optional<PresenceNotice>> n = ParsePresenceNotice(source, topic, payload);
  EXPECT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(n.ok() && n->has_value()) << topic;
  return n.ok() && n->has_value() ? **n : PresenceNotice{};
}

std::string Error(PresenceSource source, std::string_view topic, std::string_view payload) {
  absl::StatusOr<std::optional<PresenceNotice>> n = ParsePresenceNotice(source, topic, payload);
  EXPECT_FALSE(n.ok()) << topic;
  if (n.ok()) return "";
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, n.status().code());
  return std::string(n.status().message());
}

TEST(NanoMqNoticeTest, OnlineWithUsername) {
  PresenceNotice n =
      Parse(PresenceSource::kNanoMq, "$SYS/brokers/client_status/cap-client-1", kNanoOnline);
  EXPECT_TRUE(n.connected);
  EXPECT_EQ("cap-client-1", n.clientid);
  EXPECT_EQ("benchuser", n.username);
  EXPECT_EQ("127.0.0.1", n.ipaddress);
  EXPECT_EQ(4u, n.proto_ver);
  EXPECT_EQ(60u, n.keepalive);
  EXPECT_EQ(1796314077648, n.time_ms);
  EXPECT_EQ("", n.reason);
}

TEST(NanoMqNoticeTest, NullUsernameIsAbsent) {
  PresenceNotice n =
      Parse(PresenceSource::kNanoMq, "$SYS/brokers/client_status/smoke-0", kNanoOnlineNoUser);
  EXPECT_TRUE(n.connected);
  EXPECT_EQ("smoke-0", n.clientid);
  EXPECT_EQ(std::nullopt, n.username);
}

TEST(NanoMqNoticeTest, OfflineHasReasonButNotConnectTime) {
  PresenceNotice n =
      Parse(PresenceSource::kNanoMq, "$SYS/brokers/client_status/cap-client-1", kNanoOffline);
  EXPECT_FALSE(n.connected);
  EXPECT_EQ("cap-client-1", n.clientid);
  EXPECT_EQ("benchuser", n.username);
  EXPECT_EQ("normal", n.reason);
  // "ts" of an offline notice is the connect time: the receive time is used.
  EXPECT_EQ(0, n.time_ms);
  EXPECT_EQ("127.0.0.1", n.ipaddress);
}

TEST(NanoMqNoticeTest, EmptyPayloadIsAbnormalDisconnect) {
  PresenceNotice n = Parse(PresenceSource::kNanoMq, "$SYS/brokers/client_status/c/with/slash", "");
  EXPECT_FALSE(n.connected);
  EXPECT_EQ("c/with/slash", n.clientid);
  EXPECT_EQ("abnormal", n.reason);
  EXPECT_EQ(std::nullopt, n.username);
}

TEST(NanoMqNoticeTest, NonZeroReasonCodeAndMissingFields) {
  PresenceNotice n = Parse(PresenceSource::kNanoMq, "$SYS/brokers/client_status/x",
                           R"j({"reason_code":142,"status":"offline"})j");
  EXPECT_FALSE(n.connected);
  EXPECT_EQ("x", n.clientid);
  EXPECT_EQ("142", n.reason);
  EXPECT_EQ("", n.ipaddress);
  EXPECT_EQ(0u, n.proto_ver);
}

TEST(NanoMqNoticeTest, OldTopicsTakeStateFromTopicAndIdFromPayload) {
  PresenceNotice n = Parse(PresenceSource::kNanoMq, "$SYS/brokers/connected",
                           R"j({"client_id":"old-1","username":"u","proto_ver":"5"})j");
  EXPECT_TRUE(n.connected);
  EXPECT_EQ("old-1", n.clientid);
  EXPECT_EQ(5u, n.proto_ver);
  n = Parse(PresenceSource::kNanoMq, "$SYS/brokers/disconnected", R"j({"client_id":"old-1"})j");
  EXPECT_FALSE(n.connected);
  EXPECT_THAT(Error(PresenceSource::kNanoMq, "$SYS/brokers/disconnected", R"j({"ts":1})j"),
              HasSubstr("no client id"));
}

TEST(NanoMqNoticeTest, OtherTopicsAreOrdinaryMessages) {
  for (std::string_view topic :
       {"a/b", "$SYS/brokers/client_status/", "$SYS/brokers/client_status", "$SYS/x"}) {
    absl::StatusOr<std::optional<PresenceNotice>> n =
        ParsePresenceNotice(PresenceSource::kNanoMq, topic, kNanoOnline);
    ASSERT_TRUE(n.ok()) << topic;
    EXPECT_FALSE(n->has_value()) << topic;
  }
}

TEST(NanoMqNoticeTest, BadPayloadsAreClearErrors) {
  const char* topic = "$SYS/brokers/client_status/c1";
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, "{\"status\":\"onl"),
              HasSubstr("$SYS/brokers/client_status/c1: payload is not JSON (syntax error"));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, "[1,2]"),
              HasSubstr("payload is not a JSON object"));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"status":"away"})j"),
              HasSubstr("field \"status\": expected \"online\" or \"offline\""));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"status":"online","keepalive":-1})j"),
              HasSubstr("field \"keepalive\": expected an integer from 0 to 65535"));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"status":"online","keepalive":"6x"})j"),
              HasSubstr("keepalive"));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"status":"online","username":7})j"),
              HasSubstr("field \"username\": expected a string"));
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"status":"online","client_id":"c2"})j"),
              HasSubstr("differs from the topic"));
  // Found by notice_fuzzer: nlohmann throws out_of_range, not parse_error.
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, R"j({"ts":1E99999})j"),
              HasSubstr("payload is not usable JSON"));
  // Error text never echoes the payload.
  EXPECT_THAT(Error(PresenceSource::kNanoMq, topic, "secret-garbage"), Not(HasSubstr("secret")));
}

TEST(EmqxNoticeTest, Connected) {
  PresenceNotice n = Parse(
      PresenceSource::kEmqx, "$SYS/brokers/emqx@127.0.0.1/clients/c1/connected",
      R"j({"username":null,"ts":1700000000123,"sockport":1883,"proto_ver":5,"proto_name":"MQTT",)j"
      R"j("keepalive":30,"ipaddress":"10.0.0.7","expiry_interval":0,"connected_at":1700000000120,)j"
      R"j("connack":0,"clientid":"c1","clean_start":true})j");
  EXPECT_TRUE(n.connected);
  EXPECT_EQ("c1", n.clientid);
  EXPECT_EQ(std::nullopt, n.username);
  EXPECT_EQ("10.0.0.7", n.ipaddress);
  EXPECT_EQ(5u, n.proto_ver);
  EXPECT_EQ(30u, n.keepalive);
  EXPECT_EQ(1700000000120, n.time_ms);
}

TEST(EmqxNoticeTest, Disconnected) {
  PresenceNotice n = Parse(
      PresenceSource::kEmqx, "$SYS/brokers/emqx@node1/clients/c/1/disconnected",
      R"j({"clientid":"c/1","username":"u1","ipaddress":"::1","sockport":1883,"proto_name":"MQTT",)j"
      R"j("proto_ver":4,"connected_at":1,"ts":3,"reason":"keepalive_timeout","disconnected_at":2})j");
  EXPECT_FALSE(n.connected);
  EXPECT_EQ("c/1", n.clientid);
  EXPECT_EQ("u1", n.username);
  EXPECT_EQ("keepalive_timeout", n.reason);
  EXPECT_EQ(2, n.time_ms);
}

TEST(EmqxNoticeTest, FallsBackToTsAndUnknownReason) {
  PresenceNotice n =
      Parse(PresenceSource::kEmqx, "$SYS/brokers/n/clients/c9/disconnected", R"j({"ts":77})j");
  EXPECT_EQ("c9", n.clientid);
  EXPECT_EQ(77, n.time_ms);
  EXPECT_EQ("unknown", n.reason);
}

TEST(EmqxNoticeTest, TopicsAndErrors) {
  for (std::string_view topic : {"$SYS/brokers/n/clients/c1/subscribed", "$SYS/brokers/n/version",
                                 "$SYS/brokers/clients/c1/connected", "x/clients/c/connected"}) {
    absl::StatusOr<std::optional<PresenceNotice>> n =
        ParsePresenceNotice(PresenceSource::kEmqx, topic, "{}");
    ASSERT_TRUE(n.ok()) << topic;
    EXPECT_FALSE(n->has_value()) << topic;
  }
  EXPECT_THAT(Error(PresenceSource::kEmqx, "$SYS/brokers/n/clients/c1/disconnected", ""),
              HasSubstr("empty payload"));
  EXPECT_THAT(Error(PresenceSource::kEmqx, "$SYS/brokers/n/clients/c1/connected", "nul"),
              HasSubstr("not JSON"));
}

TEST(PresenceTopicFiltersTest, CoverTheNoticeTopics) {
  EXPECT_THAT(PresenceTopicFilters(PresenceSource::kNanoMq),
              ElementsAre("$SYS/brokers/client_status/#", "$SYS/brokers/connected",
                          "$SYS/brokers/disconnected"));
  EXPECT_THAT(
      PresenceTopicFilters(PresenceSource::kEmqx),
      ElementsAre("$SYS/brokers/+/clients/+/connected", "$SYS/brokers/+/clients/+/disconnected"));
}

}  // namespace
}  // namespace webhookgw
