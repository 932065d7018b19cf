#include "gateway/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace webhookgw {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

WebhookConfig Webhook(std::vector<std::pair<EventKind, std::optional<std::string>>> rules) {
  WebhookConfig webhook;
  for (auto& [kind, topic] : rules) webhook.events.push_back(EventRule{kind, topic, "t.conf:1"});
  return webhook;
}

TEST(RouterTest, RulesAreOredAndEachWebhookSelectedOnce) {
  std::vector<WebhookConfig> webhooks = {
      Webhook({{EventKind::kMessagePublish, "a/+"}, {EventKind::kMessagePublish, "a/#"}}),
      Webhook({{EventKind::kMessagePublish, std::nullopt}}),
      Webhook({{EventKind::kClientConnack, std::nullopt}})};
  auto router = Router::Build(webhooks);
  ASSERT_TRUE(router.ok()) << router.status();
  std::vector<uint32_t> out;
  router->Match(EventKind::kMessagePublish, "a/b", &out);
  EXPECT_THAT(out, ElementsAre(0, 1));
  router->Match(EventKind::kMessagePublish, "b", &out);
  EXPECT_THAT(out, ElementsAre(1));
  router->Match(EventKind::kMessagePublish, "$SYS/x", &out);
  EXPECT_THAT(out, ElementsAre(1));
  router->Match(EventKind::kClientConnack, "", &out);
  EXPECT_THAT(out, ElementsAre(2));
  router->Match(EventKind::kClientConnect, "", &out);
  EXPECT_THAT(out, IsEmpty());
}

TEST(RouterTest, SubscribeEventsMatchTheFilterBeingSubscribed) {
  std::vector<WebhookConfig> webhooks = {Webhook({{EventKind::kClientSubscribe, "cmd/#"}})};
  auto router = Router::Build(webhooks);
  ASSERT_TRUE(router.ok());
  std::vector<uint32_t> out;
  router->Match(EventKind::kClientSubscribe, "cmd/+/on", &out);
  EXPECT_THAT(out, ElementsAre(0));
  router->Match(EventKind::kClientSubscribe, "other/#", &out);
  EXPECT_THAT(out, IsEmpty());
}

TEST(RouterTest, InvalidFilterNamesTheRule) {
  WebhookConfig webhook = Webhook({{EventKind::kMessagePublish, "a/#/b"}});
  webhook.name = "w1";
  auto router = Router::Build({webhook});
  ASSERT_FALSE(router.ok());
  EXPECT_THAT(std::string(router.status().message()), ::testing::StartsWith("t.conf:1: w1: "));
}

}  // namespace
}  // namespace webhookgw
