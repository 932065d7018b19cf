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

// TLS towards one HTTPS endpoint. Verification is on unless
// insecure_skip_verify is set.
struct EndpointTls {
  // CA bundle the endpoint's certificate must chain to.
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  // Client certificate and key, for endpoints that want mutual TLS; both or
  // neither.
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;
};

// Standard Webhooks signing of one webhook (https://www.standardwebhooks.com).
struct SigningConfig {
  // Decoded secret bytes of every `secrets` entry ("whsec_" + base64).
  std::vector<std::string> secrets;
  // Files holding one "whsec_..." secret each, read when the gateway starts.
  std::vector<std::string> secret_files;
  bool enabled() const { return !secrets.empty() || !secret_files.empty(); }
};

// `batch { ... }`: several events in one POST, as a JSON array of the same
// bodies, for receivers that accept it. Off (one event per request) unless
// max_events is above 1.
struct BatchConfig {
  int max_events = 1;
  // A batch is closed before its body would pass this size; an event larger
  // than it goes alone.
  int64_t max_bytes = 1 << 20;
  // How long a batch that is not full may wait for more events while a
  // connection is free.
  absl::Duration linger = absl::Milliseconds(5);
  bool enabled() const { return max_events > 1; }
};

// `park { ... }`: how long an event may wait on this endpoint before the
// endpoint takes it over from its stream, writing it to its spool, so that
// the stream can ack it and a slow or dead endpoint holds back no other.
struct ParkConfig {
  absl::Duration after = absl::Seconds(1);
  // Parked events this endpoint keeps at most (they stay in memory until
  // delivered or given up on); beyond it, events wait unparked and the
  // gateway pushes back on streams as it does without parking.
  int64_t max_events = 50000;
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
  BatchConfig batch;
  ParkConfig park;
  // `tls { ... }`: how HTTPS endpoints are verified and how the gateway
  // identifies itself to them. Unused for http:// URLs.
  EndpointTls tls;
  // `signing { ... }`: Standard Webhooks signatures; none when both lists
  // are empty.
  SigningConfig signing;
  std::vector<EventRule> events;
  // Where the webhook was written, "file:line".
  std::string where;
};

// `gateway.tls`: TLS on the gRPC listener. Off while cert_file is empty.
struct GrpcTlsSettings {
  std::string cert_file;
  std::string key_file;
  // CA that client certificates must chain to; required when
  // require_client_cert is true.
  std::string client_ca_file;
  bool require_client_cert = true;
  bool enabled() const { return !cert_file.empty(); }
};

// `gateway.auth`: bearer tokens adapters must present. Off when both are
// empty. Never logged.
struct AuthSettings {
  std::vector<std::string> tokens;
  // A file with one token per line, read when the gateway starts.
  std::string token_file;
  bool enabled() const { return !tokens.empty() || !token_file.empty(); }
};

// `gateway.outbound`: which addresses webhooks may be delivered to. An
// address is refused when it is in a deny range (the defaults unless
// deny_defaults is false, plus deny_cidrs), or when allow_cidrs is not empty
// and holds no range with it. Ranges are "addr/prefix" or a bare address.
struct OutboundSettings {
  std::vector<std::string> allow_cidrs;
  std::vector<std::string> deny_cidrs;
  // Cloud metadata addresses and link-local ranges.
  bool deny_defaults = true;
  bool https_only = false;
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
  // Streams one peer IP address may hold open at once.
  int64_t max_streams_per_peer = 64;
  // Bound of the request metadata (headers) one gRPC call may carry.
  int64_t max_metadata_bytes = 16 << 10;
  GrpcTlsSettings tls;
  AuthSettings auth;
  OutboundSettings outbound;
  // Liveness of adapter connections. The gateway pings each connection
  // after keepalive_time and drops it (ending its streams) when a ping is
  // unanswered for keepalive_timeout: a peer that went silent is noticed
  // in keepalive_time + keepalive_timeout. Adapters may ping as often as
  // every keepalive_min_client_interval, with or without calls in flight;
  // more often is answered with a GOAWAY ("too_many_pings").
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(5);
  absl::Duration keepalive_min_client_interval = absl::Seconds(5);
  // A stream that wrote nothing for this long repeats its last ack, so that
  // an adapter can tell a gateway that is busy (an endpoint retrying) from
  // one that is gone (the adapter's ack timeout).
  absl::Duration stream_heartbeat = absl::Seconds(5);
  // Connections older than this (+-10%) get an HTTP/2 GOAWAY and their
  // streams a GoAway, so adapters reconnect, re-resolve the gateways' name
  // and spread onto gateways added since; after max_connection_age_grace
  // more the connection is closed. Zero turns it off.
  absl::Duration max_connection_age = absl::Minutes(5);
  absl::Duration max_connection_age_grace = absl::Minutes(1);
  // Time SIGTERM gives in-flight work before the gateway exits.
  absl::Duration drain_grace = absl::Seconds(20);
  // "debug", "info", "warn" or "error"; "text" (key=value) or "json".
  std::string log_level = "info";
  std::string log_format = "text";
  // Dead-letter file (JSON lines) for events given up on. Set it to "" to
  // keep only the count and a log line per event.
  std::string dead_letter_path = "dead-letters.jsonl";
  int64_t dead_letter_max_bytes = 64LL << 20;
  // Where endpoints record the events they park, one directory per
  // webhook. "" turns parking off: then an event waits in memory until
  // every endpoint is done with it, and a dead endpoint can stall the
  // others once the adapters' windows are full.
  std::string spool_dir = "spool";
};

// Bounds of a configured webhook header, so that a typo cannot produce a
// request that endpoints refuse as too large.
inline constexpr size_t kMaxHeaderNameBytes = 256;
inline constexpr size_t kMaxHeaderValueBytes = 8192;

struct Config {
  GatewaySettings gateway;
  std::vector<WebhookConfig> webhooks;
};

// Reads a HOCON config file. Errors name the file, the line, the key and
// what was expected, e.g.
// `gw.conf:12: webhook.pool_size: expected a positive integer, got "abc"`.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Decodes a Standard Webhooks secret, "whsec_" + base64, to its bytes.
// Errors never include the secret.
absl::StatusOr<std::string> DecodeSigningSecret(std::string_view text);

// The same, from text; `filename` is only used in messages.
absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view filename);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_CONFIG_H_
