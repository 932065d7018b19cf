// Options of the mosquitto plugin, read from the broker's `plugin_opt_*` lines.
#ifndef WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_PLUGIN_OPTIONS_H_
#define WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_PLUGIN_OPTIONS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace webhookgw {

// What the plugin answers when mosquitto asks it to decide a CONNECT
// (MOSQ_EVT_BASIC_AUTH) or an access check (MOSQ_EVT_ACL_CHECK). The plugin
// only observes, so the right answer is whatever the broker would have
// decided without it; which answer that is depends on the broker's setup
// (see broker_security.h). kAuto reads the broker's configuration file.
enum class CheckAnswer {
  kAuto,   // derive from the broker's configuration file
  kDefer,  // another check (password or ACL file, another plugin) decides
  kAllow,  // no other check exists and the broker would allow
  kDeny,   // no other check exists and the broker would deny
};

// Parsed `plugin_opt_*` values (keys without the prefix). Defaults are the
// adapter's, except where a field says otherwise.
struct PluginOptions {
  std::string target;             // required: gRPC target of the gateways
  std::string node;               // empty means the host name
  uint32_t streams = 0;           // 0: adapter default
  uint64_t queue_max_events = 0;  // 0: adapter default
  uint64_t queue_max_bytes = 0;   // 0: adapter default
  bool drop_oldest = false;       // drop_policy newest (default) or oldest
  // message_delivered from ACL READ checks; off by default because the check
  // runs before the broker's decision and once per subscriber per message.
  bool delivered = false;
  CheckAnswer basic_auth = CheckAnswer::kAuto;
  CheckAnswer acl_check = CheckAnswer::kAuto;
  // Broker configuration file for kAuto; empty means the `-c` argument of the
  // running broker.
  std::string config_file;
  uint32_t shutdown_timeout_ms = 2000;
  // Liveness towards the gateways; -1 (unset) keeps the adapter's defaults,
  // ack_timeout_ms 0 turns that check off.
  int64_t ack_timeout_ms = -1;
  int64_t keepalive_time_ms = -1;
  int64_t keepalive_timeout_ms = -1;
  // TLS towards the gateways (files in PEM) and the bearer token; empty
  // means unset. A token is usually given through token_file, so that it is
  // not in mosquitto.conf.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  std::string token;
  std::string token_file;
};

// Parses key/value pairs as mosquitto hands them to the plugin (keys without
// "plugin_opt_"). Unknown keys, bad numbers and missing required keys are
// errors naming the key.
absl::StatusOr<PluginOptions> ParsePluginOptions(
    const std::vector<std::pair<std::string, std::string>>& options);

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_MOSQUITTO_PLUGIN_OPTIONS_H_
