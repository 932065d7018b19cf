#include "gateway/config.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::StartsWith;

// NanoMQ's documented example, verbatim.
constexpr char kNanoMqExample[] = R"(webhook = {
  url = "http://127.0.0.1:80"        # URL where the webhook will send HTTP requests
  headers.content-type = "application/json" # HTTP header specifying request content type
  body.encoding = "plain"            # Encoding format of the payload field in HTTP body
  pool_size = 32                     # Connection process pool size
  events = [
    {
      event = "on_message_publish"   # Webhook will trigger when a message is published
      topic = "a/b/c"                # The specific topic that this event applies to
    }
    {
      event = "on_client_connack"    # Webhook will trigger when a client ACK is received
    }
  ]
}
)";

// The message of the error `text` gives; "" when it parses.
std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Config> config = ParseConfig(text, "gw.conf");
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

TEST(ConfigTest, NanoMqExampleVerbatim) {
  absl::StatusOr<Config> config = ParseConfig(kNanoMqExample, "nanomq.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->webhooks.size(), 1u);
  const WebhookConfig& hook = config->webhooks[0];
  EXPECT_EQ(hook.name, "webhook");
  EXPECT_EQ(hook.url, "http://127.0.0.1:80");
  EXPECT_THAT(hook.headers, ElementsAre(Pair("content-type", "application/json")));
  EXPECT_EQ(hook.body.encoding, PayloadEncoding::kPlain);
  EXPECT_EQ(hook.pool_size, 32);
  EXPECT_EQ(hook.where, "nanomq.conf:1");
  ASSERT_EQ(hook.events.size(), 2u);
  EXPECT_EQ(hook.events[0].event, EventKind::kMessagePublish);
  EXPECT_EQ(hook.events[0].topic, "a/b/c");
  EXPECT_EQ(hook.events[0].where, "nanomq.conf:7");
  EXPECT_EQ(hook.events[1].event, EventKind::kClientConnack);
  EXPECT_EQ(hook.events[1].topic, std::nullopt);
  EXPECT_EQ(hook.events[1].where, "nanomq.conf:11");
  // Everything not written keeps its default.
  EXPECT_EQ(hook.request_timeout, absl::Seconds(5));
  EXPECT_EQ(hook.retry.max_attempts, 10);
  EXPECT_EQ(config->gateway.grpc_listen, "0.0.0.0:7070");
}

TEST(ConfigTest, BlockWithoutEqualsAndCancelTimeout) {
  absl::StatusOr<Config> config = ParseConfig(R"(
webhook {
  url = "https://hooks.example:8443/in"
  cancel_timeout = 1500
  events = [{event = on_client_connect}]
})",
                                              "gw.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhooks[0].request_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(config->webhooks[0].where, "gw.conf:2");
}

TEST(ConfigTest, SeveralWebhooksAndGatewaySettings) {
  absl::StatusOr<Config> config = ParseConfig(R"(
gateway {
  grpc_listen = "127.0.0.1:0"
  admin_listen = ""
  max_queue_bytes = "64MiB"
  max_event_bytes = "2KB"
  max_queue_events = 5000
  drain_grace = "2m"
  log_level = debug
  log_format = json
  dead_letter_path = "/var/lib/gw/dead.jsonl"
  spool_dir = "/var/lib/gw/spool"
  dead_letter_max_bytes = 1048576
}
webhooks = [
  {
    name = "audit"
    url = "http://audit:8080/hook"
    headers { authorization = "Bearer x", X-Tenant = "t1" }
    body { encoding = base62, username_absent = null, base62_max_bytes = 512 }
    request_timeout = "2s"
    connect_timeout = 250ms
    idle_timeout = "1h"
    retry { max_attempts = 3, initial_backoff = "100ms", max_backoff = "5s", max_age = "1m" }
    batch { max_events = 50, max_bytes = "256KiB", linger = 0ms }
    park { after = 250ms, max_events = 0 }
    events = [ { event = on_message_publish, topic = "sensors/+/temp" },
               { event = on_client_subscribe, topic = "#" } ]
  },
  { url = "http://[::1]:9000", events = [ { event = on_session_terminated } ] }
]
webhook { url = "http://first", events = [{ event = on_message_acked }] }
)",
                                              "gw.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const GatewaySettings& gw = config->gateway;
  EXPECT_EQ(gw.grpc_listen, "127.0.0.1:0");
  EXPECT_EQ(gw.admin_listen, "");
  EXPECT_EQ(gw.max_queue_bytes, 64 << 20);
  EXPECT_EQ(gw.max_event_bytes, 2000);
  EXPECT_EQ(gw.max_queue_events, 5000);
  EXPECT_EQ(gw.drain_grace, absl::Minutes(2));
  EXPECT_EQ(gw.log_level, "debug");
  EXPECT_EQ(gw.log_format, "json");
  EXPECT_EQ(gw.dead_letter_path, "/var/lib/gw/dead.jsonl");
  EXPECT_EQ(gw.dead_letter_max_bytes, 1048576);
  EXPECT_EQ(gw.spool_dir, "/var/lib/gw/spool");

  ASSERT_EQ(config->webhooks.size(), 3u);
  // `webhook` comes first whatever the file order.
  EXPECT_EQ(config->webhooks[0].name, "webhook");
  EXPECT_EQ(config->webhooks[0].url, "http://first");
  const WebhookConfig& audit = config->webhooks[1];
  EXPECT_EQ(audit.name, "audit");
  EXPECT_EQ(audit.where, "gw.conf:16");
  EXPECT_THAT(audit.headers,
              ElementsAre(Pair("authorization", "Bearer x"), Pair("x-tenant", "t1")));
  EXPECT_EQ(audit.body.encoding, PayloadEncoding::kBase62);
  EXPECT_TRUE(audit.batch.enabled());
  EXPECT_EQ(audit.batch.max_events, 50);
  EXPECT_EQ(audit.batch.max_bytes, 256 << 10);
  EXPECT_EQ(audit.batch.linger, absl::ZeroDuration());
  EXPECT_FALSE(config->webhooks[0].batch.enabled()) << "one event per request by default";
  EXPECT_EQ(audit.park.after, absl::Milliseconds(250));
  EXPECT_EQ(audit.park.max_events, 0);
  EXPECT_EQ(config->webhooks[0].park.after, absl::Seconds(1));
  EXPECT_EQ(config->webhooks[0].park.max_events, 50000);
  EXPECT_EQ(audit.body.absent_username, AbsentUsername::kNull);
  EXPECT_EQ(audit.body.base62_max_bytes, 512u);
  EXPECT_EQ(audit.request_timeout, absl::Seconds(2));
  EXPECT_EQ(audit.connect_timeout, absl::Milliseconds(250));
  EXPECT_EQ(audit.idle_timeout, absl::Hours(1));
  EXPECT_EQ(audit.retry.max_attempts, 3);
  EXPECT_EQ(audit.retry.initial_backoff, absl::Milliseconds(100));
  EXPECT_EQ(audit.retry.max_backoff, absl::Seconds(5));
  EXPECT_EQ(audit.retry.max_age, absl::Minutes(1));
  ASSERT_EQ(audit.events.size(), 2u);
  EXPECT_EQ(audit.events[1].event, EventKind::kClientSubscribe);
  EXPECT_EQ(audit.events[1].topic, "#");
  EXPECT_EQ(config->webhooks[2].name, "webhooks[1]");
  EXPECT_EQ(config->webhooks[2].url, "http://[::1]:9000");
}

TEST(ConfigTest, OptionalSubstitutionSetAndUnset) {
  const char* text = R"(
webhook {
  url = "http://h"
  pool_size = ${?WEBHOOKGW_TEST_POOL}
  headers.authorization = "Bearer "${?WEBHOOKGW_TEST_TOKEN}
  events = [{event = on_client_connect}]
})";
  unsetenv("WEBHOOKGW_TEST_POOL");
  unsetenv("WEBHOOKGW_TEST_TOKEN");
  absl::StatusOr<Config> unset = ParseConfig(text, "gw.conf");
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_EQ(unset->webhooks[0].pool_size, 32);
  EXPECT_THAT(unset->webhooks[0].headers, ElementsAre(Pair("authorization", "Bearer ")));

  setenv("WEBHOOKGW_TEST_POOL", "7", 1);
  setenv("WEBHOOKGW_TEST_TOKEN", "s3cret", 1);
  absl::StatusOr<Config> set = ParseConfig(text, "gw.conf");
  unsetenv("WEBHOOKGW_TEST_POOL");
  unsetenv("WEBHOOKGW_TEST_TOKEN");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->webhooks[0].pool_size, 7);
  EXPECT_THAT(set->webhooks[0].headers, ElementsAre(Pair("authorization", "Bearer s3cret")));
}

TEST(ConfigTest, RequiredSubstitutionMissing) {
  unsetenv("WEBHOOKGW_TEST_URL");
  EXPECT_EQ(ErrorOf("webhook {\n  url = ${WEBHOOKGW_TEST_URL}\n}\n"),
            "gw.conf:2: environment variable WEBHOOKGW_TEST_URL is not set "
            "(use ${?WEBHOOKGW_TEST_URL} if it is optional)");
  setenv("WEBHOOKGW_TEST_URL", "http://from-env:81", 1);
  absl::StatusOr<Config> config = ParseConfig(
      "webhook {\n  url = ${WEBHOOKGW_TEST_URL}\n  events = [{event = on_client_connect}]\n}\n",
      "gw.conf");
  unsetenv("WEBHOOKGW_TEST_URL");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhooks[0].url, "http://from-env:81");
}

// A webhook block whose third line is `line3`.
std::string Hook(const std::string& line3) {
  return "webhook {\n  url = \"http://h\"\n  " + line3 +
         "\n  events = [{event = on_client_connect}]\n}\n";
}

TEST(ConfigErrorTest, UnknownKeyWithHint) {
  EXPECT_EQ(ErrorOf(Hook("pool_sise = 4")),
            "gw.conf:3: webhook.pool_sise: unknown key; did you mean pool_size?");
  EXPECT_EQ(ErrorOf("gateway { frobnicate = 1 }\n"), "gw.conf:1: gateway.frobnicate: unknown key");
}

TEST(ConfigErrorTest, BadPoolSize) {
  EXPECT_EQ(ErrorOf(Hook("pool_size = abc")),
            "gw.conf:3: webhook.pool_size: expected a positive integer, got \"abc\"");
  EXPECT_EQ(ErrorOf(Hook("pool_size = 0")),
            "gw.conf:3: webhook.pool_size: expected a positive integer, got 0");
  EXPECT_EQ(ErrorOf(Hook("pool_size = 5000")),
            "gw.conf:3: webhook.pool_size: expected an integer from 1 to 1024, got 5000");
}

TEST(ConfigErrorTest, BadEncoding) {
  EXPECT_EQ(ErrorOf(Hook("body.encoding = \"base32\"")),
            "gw.conf:3: webhook.body.encoding: expected plain, base64 or base62, got \"base32\"");
}

TEST(ConfigErrorTest, BadEventName) {
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h\"\n  events = [{event = on_message_publis}]\n}"),
            "gw.conf:3: webhook.events[0].event: expected an event name such as "
            "on_message_publish, got \"on_message_publis\"");
}

TEST(ConfigErrorTest, InvalidTopicFilter) {
  EXPECT_THAT(ErrorOf("webhook {\n  url = \"http://h\"\n  events = [\n"
                      "    {event = on_message_publish, topic = \"a/#/b\"}\n  ]\n}"),
              StartsWith("gw.conf:4: webhook.events[0].topic: expected a valid topic filter, "
                         "got \"a/#/b\" ("));
}

TEST(ConfigErrorTest, TopicOnKindWithoutTopic) {
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h\"\n  events = [\n    {event = on_message_acked}"
                    "\n    {event = on_client_connack, topic = \"a\"}\n  ]\n}"),
            "gw.conf:5: webhook.events[1].topic: on_client_connack events have no topic to "
            "filter on");
}

TEST(ConfigErrorTest, MissingUrl) {
  EXPECT_EQ(ErrorOf("\nwebhook {\n  events = [{event = on_client_connect}]\n}"),
            "gw.conf:2: webhook.url: required key is missing");
}

TEST(ConfigErrorTest, MissingEvents) {
  EXPECT_EQ(ErrorOf("webhook { url = \"http://h\" }"),
            "gw.conf:1: webhook.events: required key is missing");
}

TEST(ConfigErrorTest, BadUrls) {
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"ftp://h/x\"\n}"),
            "gw.conf:2: webhook.url: expected an http:// or https:// URL with a host, got "
            "\"ftp://h/x\" (unsupported scheme)");
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http:///x\"\n}"),
            "gw.conf:2: webhook.url: expected an http:// or https:// URL with a host, got "
            "\"http:///x\" (no host)");
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h:99999\"\n}"),
            "gw.conf:2: webhook.url: expected an http:// or https:// URL with a host, got "
            "\"http://h:99999\" (bad port)");
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"https://h/p#frag\"\n}"),
            "gw.conf:2: webhook.url: expected an http:// or https:// URL with a host, got "
            "\"https://h/p#frag\" (fragments are not supported)");
  // HOCON ends unquoted strings at ':', so an unquoted URL is refused with a hint.
  EXPECT_EQ(ErrorOf("webhook {\n  url = http://h\n}"),
            "gw.conf:2: unexpected ':' in the value of key \"url\"; quote values that contain "
            "':' (URLs, addresses)");
}

TEST(ConfigErrorTest, UnterminatedString) {
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h\n}"), "gw.conf:2: unterminated string");
}

TEST(ConfigErrorTest, UnterminatedObjectAndArray) {
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h\"\n"),
            "gw.conf:1: unterminated object: '{' has no matching '}'");
  EXPECT_EQ(ErrorOf("webhook {\n  url = \"http://h\"\n  events = [\n    {event = a}\n"),
            "gw.conf:3: unterminated array: '[' has no matching ']'");
}

TEST(ConfigErrorTest, DuplicateWebhookNames) {
  EXPECT_EQ(ErrorOf("webhooks = [\n"
                    "  {name = a, url = \"http://h\", events = [{event = on_client_connect}]}\n"
                    "  {name = a, url = \"http://g\", events = [{event = on_client_connect}]}\n"
                    "]\n"),
            "gw.conf:3: webhooks[1].name: duplicate webhook name \"a\"");
}

TEST(ConfigErrorTest, WebhooksMustBeAnArray) {
  EXPECT_EQ(ErrorOf("\nwebhooks { url = \"http://h\" }"),
            "gw.conf:2: webhooks: expected an array of webhook objects, got an object");
  EXPECT_EQ(ErrorOf("webhooks = [\n  \"http://h\"\n]"),
            "gw.conf:2: webhooks[0]: expected an object, got \"http://h\"");
}

TEST(ConfigErrorTest, NoWebhooks) {
  EXPECT_EQ(ErrorOf("gateway { log_level = warn }\n"),
            "gw.conf: no webhook configured; expected a webhook { ... } block or a non-empty "
            "webhooks = [ ... ] list");
  EXPECT_EQ(ErrorOf("webhooks = []\n"),
            "gw.conf: no webhook configured; expected a webhook { ... } block or a non-empty "
            "webhooks = [ ... ] list");
}

TEST(ConfigErrorTest, NestingTooDeep) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "a {\n";
  EXPECT_EQ(ErrorOf(text), "gw.conf:65: nesting deeper than 64 levels");
  EXPECT_EQ(ErrorOf("x = " + std::string(100, '[')), "gw.conf:1: nesting deeper than 64 levels");
}

TEST(ConfigErrorTest, IncludeIsRefused) {
  EXPECT_EQ(ErrorOf("include \"other.conf\"\n"), "gw.conf:1: include directives are not supported");
  EXPECT_EQ(ErrorOf("include required(\"other.conf\")\n"),
            "gw.conf:1: include directives are not supported");
}

TEST(ConfigErrorTest, MissingSeparator) {
  EXPECT_EQ(ErrorOf(Hook("pool_size 4")), "gw.conf:3: expected '=' or ':' after key \"pool_size\"");
}

TEST(ConfigErrorTest, TimeoutGivenTwice) {
  EXPECT_EQ(ErrorOf("webhook {\n  cancel_timeout = 100\n  request_timeout = 200\n}"),
            "gw.conf:3: webhook.request_timeout: request_timeout and cancel_timeout are the same "
            "setting; give only one");
}

TEST(ConfigErrorTest, BadDurationsAndSizes) {
  EXPECT_EQ(ErrorOf(Hook("connect_timeout = \"5 fortnights\"")),
            "gw.conf:3: webhook.connect_timeout: expected a duration (milliseconds, or a string "
            "like \"250ms\", \"5s\", \"2m\", \"1h\"), got \"5 fortnights\"");
  EXPECT_EQ(ErrorOf("gateway {\n  max_queue_bytes = 64XB\n}"),
            "gw.conf:2: gateway.max_queue_bytes: expected a size (bytes, or a string like "
            "\"64MiB\", \"512KB\"), got \"64XB\"");
  EXPECT_EQ(ErrorOf(Hook("batch { max_events = 0 }")),
            "gw.conf:3: webhook.batch.max_events: expected a positive integer, got 0");
  EXPECT_EQ(ErrorOf(Hook("batch { linger = 1m }")),
            "gw.conf:3: webhook.batch.linger: expected a duration of at most 10s, got \"1m\"");
  EXPECT_EQ(ErrorOf(Hook("batch { max_bytes = 100 }")),
            "gw.conf:3: webhook.batch.max_bytes: expected a size from 1KiB to 64MiB, got 100");
  EXPECT_EQ(ErrorOf(Hook("batch { size = 3 }")), "gw.conf:3: webhook.batch.size: unknown key");
  EXPECT_EQ(ErrorOf(Hook("park { after = 1ms }")),
            "gw.conf:3: webhook.park.after: expected a duration from 10ms to 1h, got \"1ms\"");
  EXPECT_EQ(ErrorOf(Hook("park { max_events = -1 }")),
            "gw.conf:3: webhook.park.max_events: expected a non-negative integer, got -1");
  EXPECT_EQ(ErrorOf(Hook("park { later = 1s }")),
            "gw.conf:3: webhook.park.later: unknown key; did you mean after?");
  EXPECT_EQ(ErrorOf(Hook("retry { initial_backoff = 5s, max_backoff = 1s }")),
            "gw.conf:3: webhook.retry: max_backoff is shorter than initial_backoff");
}

TEST(ConfigErrorTest, BadGatewaySettings) {
  EXPECT_EQ(ErrorOf("gateway {\n  grpc_listen = \"nohost\"\n}"),
            "gw.conf:2: gateway.grpc_listen: expected a listen address \"host:port\", got "
            "\"nohost\"");
  EXPECT_EQ(ErrorOf("gateway {\n  log_level = loud\n}"),
            "gw.conf:2: gateway.log_level: expected one of debug, info, warn, error, got \"loud\"");
}

TEST(ConfigTest, LivenessSettings) {
  absl::StatusOr<Config> defaults = ParseConfig(Hook(""), "gw.conf");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  // The defaults notice a silent peer within 15 s and let the adapter's
  // default pings (every 10 s) through.
  EXPECT_EQ(defaults->gateway.keepalive_time, absl::Seconds(10));
  EXPECT_EQ(defaults->gateway.keepalive_timeout, absl::Seconds(5));
  EXPECT_EQ(defaults->gateway.keepalive_min_client_interval, absl::Seconds(5));
  EXPECT_EQ(defaults->gateway.stream_heartbeat, absl::Seconds(5));
  EXPECT_EQ(defaults->gateway.max_connection_age, absl::Minutes(5));
  EXPECT_EQ(defaults->gateway.max_connection_age_grace, absl::Minutes(1));

  absl::StatusOr<Config> config = ParseConfig(
      "gateway {\n  keepalive_time = 2s\n  keepalive_timeout = 1500ms\n"
      "  keepalive_min_client_interval = 1s\n  stream_heartbeat = 500\n"
      "  max_connection_age = 0\n  max_connection_age_grace = 10s\n}\n" +
          Hook(""),
      "gw.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const GatewaySettings& gw = config->gateway;
  EXPECT_EQ(gw.keepalive_time, absl::Seconds(2));
  EXPECT_EQ(gw.keepalive_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(gw.keepalive_min_client_interval, absl::Seconds(1));
  EXPECT_EQ(gw.stream_heartbeat, absl::Milliseconds(500));
  EXPECT_EQ(gw.max_connection_age, absl::ZeroDuration());
  EXPECT_EQ(gw.max_connection_age_grace, absl::Seconds(10));
}

TEST(ConfigErrorTest, BadLivenessSettings) {
  EXPECT_EQ(ErrorOf("gateway {\n  keepalive_time = 0\n}"),
            "gw.conf:2: gateway.keepalive_time: expected a duration greater than zero, got 0");
  EXPECT_EQ(ErrorOf("gateway {\n  keepalive_timeout = 50ms\n}"),
            "gw.conf:2: gateway.keepalive_timeout: expected a duration from 100ms to 24 days, "
            "got \"50ms\"");
  EXPECT_EQ(ErrorOf("gateway {\n  stream_heartbeat = \"often\"\n}"),
            "gw.conf:2: gateway.stream_heartbeat: expected a duration (milliseconds, or a string "
            "like \"250ms\", \"5s\", \"2m\", \"1h\"), got \"often\"");
  EXPECT_EQ(ErrorOf("gateway {\n  max_connection_age = 1000h\n}"),
            "gw.conf:2: gateway.max_connection_age: expected a duration of at most 24 days, "
            "got \"1000h\"");
  EXPECT_EQ(ErrorOf("gateway {\n  keepalive = 10s\n}")
                .rfind("gw.conf:2: gateway.keepalive: unknown key", 0),
            0u);
}

TEST(ConfigErrorTest, BadHeader) {
  EXPECT_EQ(ErrorOf(Hook("headers { x-a = \"1\\r\\nInjected: yes\" }")),
            "gw.conf:3: webhook.headers.x-a: header values may not contain CR, LF or NUL");
}

TEST(ConfigErrorTest, ReservedAndDuplicateHeaders) {
  EXPECT_EQ(ErrorOf(Hook("headers.Content-Length = \"5\"")),
            "gw.conf:3: webhook.headers.Content-Length: this header is set by the gateway and "
            "cannot be configured");
  EXPECT_EQ(ErrorOf(Hook("headers { X-A = \"1\", x-a = \"2\" }")),
            "gw.conf:3: webhook.headers.x-a: duplicate header (header names are "
            "case-insensitive)");
}

TEST(ConfigErrorTest, EventLargerThanQueue) {
  EXPECT_EQ(ErrorOf("gateway {\n  max_queue_bytes = 1KiB\n  max_event_bytes = 2KiB\n}"),
            "gw.conf:1: gateway: max_event_bytes is larger than max_queue_bytes");
}

TEST(SecurityConfigTest, BindsTlsAuthOutboundAndSigning) {
  setenv("WGW_TEST_TOKEN_A", "token-from-env-0123456789", 1);
  absl::StatusOr<Config> config = ParseConfig(R"(
gateway {
  max_streams_per_peer = 8
  max_metadata_bytes = 32KiB
  tls { cert_file = "/s.pem", key_file = "/s.key", client_ca_file = "/ca.pem" }
  auth { tokens = [${?WGW_TEST_TOKEN_A}, ${?WGW_TEST_TOKEN_UNSET}], token_file = "/t" }
  outbound { allow_cidrs = ["10.0.0.0/8"], deny_cidrs = ["10.9.0.0/16"], https_only = true,
             deny_defaults = false }
}
webhook {
  url = "https://hooks.example/x"
  tls { ca_file = "/ca.pem", cert_file = "/c.pem", key_file = "/c.key" }
  signing { secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], secret_files = ["/w"] }
  events = [{ event = on_client_connect }]
})",
                                              "gw.conf");
  unsetenv("WGW_TEST_TOKEN_A");
  ASSERT_TRUE(config.ok()) << config.status();
  const GatewaySettings& g = config->gateway;
  EXPECT_EQ(g.max_streams_per_peer, 8);
  EXPECT_EQ(g.max_metadata_bytes, 32 << 10);
  EXPECT_TRUE(g.tls.enabled());
  EXPECT_TRUE(g.tls.require_client_cert);
  EXPECT_EQ(g.tls.client_ca_file, "/ca.pem");
  EXPECT_THAT(g.auth.tokens, ElementsAre("token-from-env-0123456789"));
  EXPECT_EQ(g.auth.token_file, "/t");
  EXPECT_THAT(g.outbound.allow_cidrs, ElementsAre("10.0.0.0/8"));
  EXPECT_TRUE(g.outbound.https_only);
  EXPECT_FALSE(g.outbound.deny_defaults);
  const WebhookConfig& w = config->webhooks[0];
  EXPECT_EQ(w.tls.ca_file, "/ca.pem");
  EXPECT_FALSE(w.tls.insecure_skip_verify);
  ASSERT_EQ(w.signing.secrets.size(), 1u);
  EXPECT_EQ(w.signing.secrets[0].size(), 24u);
  EXPECT_THAT(w.signing.secret_files, ElementsAre("/w"));
}

TEST(SecurityConfigTest, SecureDefaults) {
  absl::StatusOr<Config> config = ParseConfig(
      "webhook { url = \"https://h/\", events = [{ event = on_client_connect }] }", "gw.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->gateway.tls.enabled());
  EXPECT_FALSE(config->gateway.auth.enabled());
  EXPECT_TRUE(config->gateway.outbound.deny_defaults);
  EXPECT_EQ(config->webhooks[0].tls.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_FALSE(config->webhooks[0].tls.insecure_skip_verify);
  EXPECT_FALSE(config->webhooks[0].signing.enabled());
}

TEST(SecurityConfigTest, Errors) {
  const std::string hook =
      "webhook { url = \"http://h/\", events = [{ event = on_client_connect }] }\n";
  EXPECT_THAT(ErrorOf("gateway.tls { cert_file = \"/a\" }\n" + hook),
              StartsWith("gw.conf:1: gateway.tls: cert_file and key_file are both required"));
  EXPECT_THAT(ErrorOf("gateway.tls { cert_file = \"/a\", key_file = \"/b\" }\n" + hook),
              ::testing::HasSubstr("client_ca_file is missing"));
  EXPECT_THAT(ErrorOf("gateway.auth.tokens = [\"short-secret\"]\n" + hook),
              ::testing::AllOf(::testing::HasSubstr("at least 16 characters (value not shown)"),
                               ::testing::Not(::testing::HasSubstr("short-secret"))));
  EXPECT_THAT(ErrorOf("gateway.outbound.deny_cidrs = [\"10.0.0.0/40\"]\n" + hook),
              StartsWith("gw.conf:1: gateway.outbound.deny_cidrs[0]: expected an address range"));
  EXPECT_THAT(ErrorOf("gateway.max_streams_per_peer = 0\n" + hook),
              StartsWith("gw.conf:1: gateway.max_streams_per_peer: expected a positive integer"));
  EXPECT_THAT(ErrorOf("webhook { url = \"https://h/\", tls.cert_file = \"/c\", events = [{ event = "
                      "on_client_connect }] }"),
              ::testing::HasSubstr("webhook.tls: cert_file and key_file go together"));
  EXPECT_THAT(ErrorOf("webhook { url = \"http://h/\", headers.x-long = \"" +
                      std::string(kMaxHeaderValueBytes + 1, 'v') +
                      "\", events = [{ event = on_client_connect }] }"),
              ::testing::HasSubstr("header value is longer than 8192 bytes"));
  EXPECT_THAT(ErrorOf("webhook { url = \"http://h/\", tls.insecure_skip_verify = maybe, events = "
                      "[{ event = on_client_connect }] }"),
              ::testing::HasSubstr("expected true or false"));
}

TEST(LoadConfigFileTest, MissingFileNamesThePath) {
  absl::StatusOr<Config> config = LoadConfigFile("/nonexistent/dir/gw.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "/nonexistent/dir/gw.conf: cannot open config file: No such file or directory");
}

TEST(LoadConfigFileTest, DirectoryIsRefused) {
  absl::StatusOr<Config> config = LoadConfigFile(::testing::TempDir());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            ::testing::TempDir() + ": cannot read config file: Is a directory");
}

TEST(LoadConfigFileTest, ReadsAFile) {
  std::string path = ::testing::TempDir() + "/config_test_nanomq.conf";
  {
    std::ofstream out(path, std::ios::binary);
    out << kNanoMqExample;
  }
  absl::StatusOr<Config> config = LoadConfigFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhooks[0].events[0].where, path + ":7");
}

}  // namespace
}  // namespace webhookgw
