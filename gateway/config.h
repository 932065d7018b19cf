#ifndef WEBHOOKGW_GATEWAY_CONFIG_H_
#define WEBHOOKGW_GATEWAY_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/body.h"
#include "gateway/event_kind.h"

namespace webhookgw {

// One entry of a webhook's `events = [...]`.
struct EventRule {
  EventKind event = EventKind::kClientConnect;
  // The topic filter as written; nullopt matches every event of the kind.
  std::optional<std::string> topic;
  // Where the rule was written, "file:line", for messages about it.
  std::string where;
};

// Retries of one webhook. Connection errors, timeouts, 408, 429 and 5xx are
// retried; other statuses are final.
struct RetryPolicy {
  // Attempts in all, the first included; 1 disables retries.
  int max_attempts = 10;
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(30);
  // An event older than this (from its first attempt) is given up on.
  absl::Duration max_age = absl::Minutes(10);
};

// One webhook endpoint: NanoMQ's `webhook { ... }` block or one element of
// `webhooks = [ ... ]`.
struct WebhookConfig {
  // `name` when given; otherwise "webhook" or "webhooks[i]".
  std::string name;
  std::string url;
  // `headers.<name> = value`, in file order; names lower-cased as written.
  std::vector<std::pair<std::string, std::string>> headers;
  BodyOptions body;
  // Kept-alive connections to the endpoint.
  int pool_size = 32;
  // `cancel_timeout` (ms): how long one request may take in all.
  absl::Duration request_timeout = absl::Seconds(5);
  absl::Duration connect_timeout = absl::Seconds(3);
  // Kept-alive connections idle longer than this are closed.
  absl::Duration idle_timeout = absl::Seconds(60);
  RetryPolicy retry;
  std::vector<EventRule> events;
  // Where the webhook was written, "file:line".
  std::string where;
};

// The `gateway { ... }` block.
struct GatewaySettings {
  // gRPC listener for adapters.
  std::string grpc_listen = "0.0.0.0:7070";
  // HTTP listener for /metrics, /healthz, /readyz; empty disables it.
  std::string admin_listen = "0.0.0.0:9090";
  // Bounds of what the gateway holds in memory, over all streams.
  int64_t max_queue_events = 100000;
  int64_t max_queue_bytes = 256LL << 20;
  // Bounds of one event (encoded size) and of one batch.
  int64_t max_event_bytes = 1LL << 20;
  int64_t max_batch_events = 10000;
  // Time SIGTERM gives in-flight work before the gateway exits.
  absl::Duration drain_grace = absl::Seconds(20);
  // "debug", "info", "warn" or "error"; "text" (key=value) or "json".
  std::string log_level = "info";
  std::string log_format = "text";
  // Dead-letter file (JSON lines) for events given up on. Set it to "" to
  // keep only the count and a log line per event.
  std::string dead_letter_path = "dead-letters.jsonl";
  int64_t dead_letter_max_bytes = 64LL << 20;
};

struct Config {
  GatewaySettings gateway;
  std::vector<WebhookConfig> webhooks;
};

// Reads a HOCON config file. Errors name the file, the line, the key and
// what was expected, e.g.
// `gw.conf:12: webhook.pool_size: expected a positive integer, got "abc"`.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// The same, from text; `filename` is only used in messages.
absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view filename);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_CONFIG_H_
