#include "broker_adapter/mosquitto/plugin_options.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {
namespace {

absl::Status BadValue(const std::string& key, const std::string& value, const char* expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("plugin_opt_", key, ": expected ", expected, ", got \"", value, "\""));
}

absl::Status ParseU64(const std::string& key, const std::string& value, uint64_t max,
                      uint64_t* out) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v == 0 || v > max) {
    return BadValue(key, value, "a positive integer");
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseAnswer(const std::string& key, const std::string& value, bool allow_deny,
                         CheckAnswer* out) {
  if (value == "auto") {
    *out = CheckAnswer::kAuto;
  } else if (value == "defer") {
    *out = CheckAnswer::kDefer;
  } else if (value == "allow") {
    *out = CheckAnswer::kAllow;
  } else if (value == "deny" && allow_deny) {
    *out = CheckAnswer::kDeny;
  } else {
    return BadValue(key, value, allow_deny ? "auto, defer, allow or deny" : "auto, defer or allow");
  }
  return absl::OkStatus();
}

absl::Status ParseOne(const std::string& key, const std::string& value, PluginOptions* o) {
  uint64_t n = 0;
  if (key == "target") {
    o->target = value;
  } else if (key == "node") {
    o->node = value;
  } else if (key == "streams") {
    if (auto s = ParseU64(key, value, 1024, &n); !s.ok()) return s;
    o->streams = static_cast<uint32_t>(n);
  } else if (key == "queue_max_events") {
    return ParseU64(key, value, std::numeric_limits<uint64_t>::max(), &o->queue_max_events);
  } else if (key == "queue_max_bytes") {
    return ParseU64(key, value, std::numeric_limits<uint64_t>::max(), &o->queue_max_bytes);
  } else if (key == "drop_policy") {
    if (value != "newest" && value != "oldest") return BadValue(key, value, "newest or oldest");
    o->drop_oldest = value == "oldest";
  } else if (key == "delivered") {
    if (value != "true" && value != "false") return BadValue(key, value, "true or false");
    o->delivered = value == "true";
  } else if (key == "basic_auth") {
    return ParseAnswer(key, value, /*allow_deny=*/true, &o->basic_auth);
  } else if (key == "acl_check") {
    // Without any ACL check mosquitto allows everything, so "deny" is never
    // the broker's own answer.
    return ParseAnswer(key, value, /*allow_deny=*/false, &o->acl_check);
  } else if (key == "config_file") {
    o->config_file = value;
  } else if (key == "shutdown_timeout_ms") {
    if (auto s = ParseU64(key, value, 3600 * 1000, &n); !s.ok()) return s;
    o->shutdown_timeout_ms = static_cast<uint32_t>(n);
  } else if (key == "ack_timeout_ms") {
    // 0 is allowed here: it turns the check off.
    if (value == "0") {
      o->ack_timeout_ms = 0;
      return absl::OkStatus();
    }
    if (auto s = ParseU64(key, value, 3600 * 1000, &n); !s.ok()) return s;
    o->ack_timeout_ms = static_cast<uint32_t>(n);
  } else if (key == "keepalive_time_ms" || key == "keepalive_timeout_ms") {
    if (auto s = ParseU64(key, value, 3600 * 1000, &n); !s.ok()) return s;
    (key == "keepalive_time_ms" ? o->keepalive_time_ms : o->keepalive_timeout_ms) =
        static_cast<uint32_t>(n);
  } else if (key == "tls_ca_file") {
    o->tls_ca_file = value;
  } else if (key == "tls_cert_file") {
    o->tls_cert_file = value;
  } else if (key == "tls_key_file") {
    o->tls_key_file = value;
  } else if (key == "tls_server_name") {
    o->tls_server_name = value;
  } else if (key == "token") {
    o->token = value;
  } else if (key == "token_file") {
    o->token_file = value;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("plugin_opt_", key, ": unknown option"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PluginOptions> ParsePluginOptions(
    const std::vector<std::pair<std::string, std::string>>& options) {
  PluginOptions o;
  for (const auto& [key, value] : options) {
    if (auto s = ParseOne(key, value, &o); !s.ok()) return s;
  }
  if (o.target.empty()) {
    return absl::InvalidArgumentError("plugin_opt_target: required, e.g. \"gateway:7070\"");
  }
  if (!o.token.empty() && !o.token_file.empty()) {
    return absl::InvalidArgumentError("plugin_opt_token and plugin_opt_token_file: give one");
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "plugin_opt_tls_cert_file and plugin_opt_tls_key_file: give both or neither");
  }
  return o;
}

}  // namespace webhookgw
