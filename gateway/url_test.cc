#include "gateway/url.h"

#include <gtest/gtest.h>

namespace webhookgw {
namespace {

TEST(ParseWebhookUrlTest, NanoMqExampleHasNoPath) {
  auto url = ParseWebhookUrl("http://127.0.0.1:80");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_FALSE(url->https);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->origin, "http://127.0.0.1:80");
}

TEST(ParseWebhookUrlTest, PathQueryDefaultPortsAndIpv6) {
  auto url = ParseWebhookUrl("https://Hooks.Example.com/mqtt/events?x=1&y=2");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/mqtt/events?x=1&y=2");

  url = ParseWebhookUrl("http://[::1]:8080?q");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->target, "/?q");
  EXPECT_EQ(url->origin, "http://[::1]:8080");
}

TEST(ParseWebhookUrlTest, RefusesWhatIsNotAWebhookUrl) {
  EXPECT_EQ(ParseWebhookUrl("ftp://x/").status().message(),
            "expected an http:// or https:// URL, got \"ftp://x/\"");
  EXPECT_EQ(ParseWebhookUrl("http://:80/").status().message(), "no host in \"http://:80/\"");
  EXPECT_EQ(ParseWebhookUrl("http://h:99999/").status().message(),
            "bad port \"99999\" in \"http://h:99999/\"");
  EXPECT_EQ(ParseWebhookUrl("http://u:p@h/").status().message(),
            "URL has user info: \"http://u:p@h/\"");
  EXPECT_EQ(ParseWebhookUrl("http://h/#frag").status().message(),
            "URL has a fragment: \"http://h/#frag\"");
  EXPECT_FALSE(ParseWebhookUrl("http://[::1/").ok());
}

}  // namespace
}  // namespace webhookgw
