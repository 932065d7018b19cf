#include "broker_adapter/mqtt_bridge/bridge_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BridgeOptionsTest, DefaultsNeedOnlyTarget) {
  absl::StatusOr<BridgeOptions> o = ParseBridgeArgs({"--target", "gw:7070"}, nullptr);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ("127.0.0.1", o->host);
  EXPECT_EQ(1883, o->port);
  EXPECT_EQ(5, o->protocol);
  EXPECT_EQ(2, o->qos);
  EXPECT_EQ(std::nullopt, o->presence);
  EXPECT_THAT(SubscriptionFilters(*o), ElementsAre("#"));
}

TEST(BridgeOptionsTest, ShareGroupCoversTopicsAndNotices) {
  absl::StatusOr<BridgeOptions> o =
      ParseBridgeArgs({"--target=gw:1", "--broker", "nanomq:1884", "--topics", "a/#,b/+",
                       "--share-group", "g1", "--presence", "emqx", "--username", "u"},
                      "from-env");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ("nanomq", o->host);
  EXPECT_EQ(1884, o->port);
  EXPECT_EQ("from-env", o->password);
  EXPECT_THAT(
      SubscriptionFilters(*o),
      ElementsAre("$share/g1/a/#", "$share/g1/b/+", "$share/g1/$SYS/brokers/+/clients/+/connected",
                  "$share/g1/$SYS/brokers/+/clients/+/disconnected"));
}

TEST(BridgeOptionsTest, ErrorsNameTheFlag) {
  auto error = [](std::vector<std::string> args) {
    absl::StatusOr<BridgeOptions> o = ParseBridgeArgs(args, nullptr);
    return o.ok() ? std::string("ok") : std::string(o.status().message());
  };
  EXPECT_THAT(error({}), HasSubstr("--target: required"));
  EXPECT_THAT(error({"--target", "t", "--broker", "host"}),
              HasSubstr("--broker: expected host:port, got \"host\""));
  EXPECT_THAT(error({"--target", "t", "--broker", "h:99999"}), HasSubstr("--broker"));
  EXPECT_THAT(error({"--target", "t", "--presence", "hivemq"}),
              HasSubstr("--presence: expected nanomq, emqx or none"));
  EXPECT_THAT(error({"--target", "t", "--share-group", "a/b"}), HasSubstr("--share-group"));
  EXPECT_THAT(error({"--target", "t", "--qos", "3"}), HasSubstr("--qos"));
  EXPECT_THAT(error({"--target", "t", "--password", "p"}), HasSubstr("needs --username"));
  EXPECT_THAT(error({"--target", "t", "--protocol", "4", "--client-id-property", "cid"}),
              HasSubstr("needs --protocol 5"));
  EXPECT_THAT(error({"--target", "t", "--frobnicate", "1"}), HasSubstr("unknown flag"));
  EXPECT_THAT(error({"--target"}), HasSubstr("--target: missing value"));
}

TEST(BridgeOptionsTest, HelpStopsParsing) {
  absl::StatusOr<BridgeOptions> o = ParseBridgeArgs({"--help", "--bogus"}, nullptr);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_THAT(BridgeUsage(), HasSubstr("--share-group"));
}

}  // namespace
}  // namespace webhookgw
