#include "broker_adapter/mosquitto/plugin_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::HasSubstr;

TEST(PluginOptionsTest, DefaultsNeedOnlyTarget) {
  absl::StatusOr<PluginOptions> o = ParsePluginOptions({{"target", "gw:7070"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ("gw:7070", o->target);
  EXPECT_EQ("", o->node);
  EXPECT_FALSE(o->delivered);
  EXPECT_FALSE(o->drop_oldest);
  EXPECT_EQ(CheckAnswer::kAuto, o->basic_auth);
  EXPECT_EQ(CheckAnswer::kAuto, o->acl_check);
}

TEST(PluginOptionsTest, ReadsEveryOption) {
  absl::StatusOr<PluginOptions> o = ParsePluginOptions({{"target", "ipv4:127.0.0.1:1"},
                                                        {"node", "n1"},
                                                        {"streams", "3"},
                                                        {"queue_max_events", "10"},
                                                        {"queue_max_bytes", "2048"},
                                                        {"drop_policy", "oldest"},
                                                        {"delivered", "true"},
                                                        {"basic_auth", "deny"},
                                                        {"acl_check", "defer"},
                                                        {"config_file", "/x.conf"},
                                                        {"shutdown_timeout_ms", "50"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ("n1", o->node);
  EXPECT_EQ(3u, o->streams);
  EXPECT_EQ(10u, o->queue_max_events);
  EXPECT_EQ(2048u, o->queue_max_bytes);
  EXPECT_TRUE(o->drop_oldest);
  EXPECT_TRUE(o->delivered);
  EXPECT_EQ(CheckAnswer::kDeny, o->basic_auth);
  EXPECT_EQ(CheckAnswer::kDefer, o->acl_check);
  EXPECT_EQ("/x.conf", o->config_file);
  EXPECT_EQ(50u, o->shutdown_timeout_ms);
}

TEST(PluginOptionsTest, ErrorsNameTheKey) {
  EXPECT_THAT(ParsePluginOptions({}).status().message(), HasSubstr("plugin_opt_target: required"));
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"streams", "x"}}).status().message(),
              HasSubstr("plugin_opt_streams: expected a positive integer, got \"x\""));
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"streams", "0"}}).status().message(),
              HasSubstr("plugin_opt_streams"));
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"colour", "red"}}).status().message(),
              HasSubstr("plugin_opt_colour: unknown option"));
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"delivered", "yes"}}).status().message(),
              HasSubstr("true or false"));
  // An ACL check that no other check follows is allowed by mosquitto, so
  // "deny" could only ever change its decision.
  EXPECT_FALSE(ParsePluginOptions({{"target", "t"}, {"acl_check", "deny"}}).ok());
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"token", "a"}, {"token_file", "/f"}})
                  .status()
                  .message(),
              HasSubstr("plugin_opt_token and plugin_opt_token_file: give one"));
  EXPECT_THAT(
      ParsePluginOptions({{"target", "t"}, {"tls_cert_file", "/c"}}).status().message(),
      HasSubstr("plugin_opt_tls_cert_file and plugin_opt_tls_key_file: give both or neither"));
}

TEST(PluginOptionsTest, Liveness) {
  auto unset = ParsePluginOptions({{"target", "t"}});
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(unset->ack_timeout_ms, -1);
  EXPECT_EQ(unset->keepalive_time_ms, -1);
  auto o = ParsePluginOptions({{"target", "t"},
                               {"ack_timeout_ms", "0"},
                               {"keepalive_time_ms", "2000"},
                               {"keepalive_timeout_ms", "1500"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->ack_timeout_ms, 0);
  EXPECT_EQ(o->keepalive_time_ms, 2000);
  EXPECT_EQ(o->keepalive_timeout_ms, 1500);
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"keepalive_time_ms", "0"}}).status().message(),
              HasSubstr("plugin_opt_keepalive_time_ms: expected a positive integer"));
  EXPECT_THAT(ParsePluginOptions({{"target", "t"}, {"ack_timeout_ms", "soon"}}).status().message(),
              HasSubstr("plugin_opt_ack_timeout_ms: expected a positive integer, got \"soon\""));
}

TEST(PluginOptionsTest, TlsAndToken) {
  auto o = ParsePluginOptions({{"target", "gw:7070"},
                               {"tls_ca_file", "/ca.pem"},
                               {"tls_cert_file", "/c.pem"},
                               {"tls_key_file", "/k.pem"},
                               {"tls_server_name", "gateway.example"},
                               {"token_file", "/run/secrets/token"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->tls_ca_file, "/ca.pem");
  EXPECT_EQ(o->tls_cert_file, "/c.pem");
  EXPECT_EQ(o->tls_key_file, "/k.pem");
  EXPECT_EQ(o->tls_server_name, "gateway.example");
  EXPECT_EQ(o->token_file, "/run/secrets/token");
  EXPECT_TRUE(o->token.empty());
}

}  // namespace
}  // namespace webhookgw
