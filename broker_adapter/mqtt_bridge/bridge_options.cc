#include "broker_adapter/mqtt_bridge/bridge_options.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace webhookgw {
namespace {

absl::Status Expected(const std::string& flag, const std::string& value, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": expected ", what, ", got \"", value, "\""));
}

template <typename T>
absl::Status ParseNumber(const std::string& flag, const std::string& value, T min, T max, T* out) {
  T v{};
  if (!absl::SimpleAtoi(value, &v) || v < min || v > max) {
    return Expected(flag, value, absl::StrCat("an integer from ", min, " to ", max).c_str());
  }
  *out = v;
  return absl::OkStatus();
}

absl::Status ParseBroker(const std::string& value, BridgeOptions* o) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Expected("--broker", value, "host:port");
  }
  o->host = value.substr(0, colon);
  return ParseNumber("--broker", value.substr(colon + 1), 1, 65535, &o->port);
}

absl::Status ParseFlag(const std::string& flag, const std::string& value, BridgeOptions* o) {
  if (flag == "--broker") return ParseBroker(value, o);
  if (flag == "--client-id") {
    o->client_id = value;
  } else if (flag == "--username") {
    o->username = value;
  } else if (flag == "--password") {
    o->password = value;
  } else if (flag == "--topics") {
    o->topics = absl::StrSplit(value, ',', absl::SkipEmpty());
    if (o->topics.empty()) return Expected(flag, value, "comma-separated topic filters");
  } else if (flag == "--share-group") {
    if (value.empty() || value.find_first_of("/+#") != std::string::npos) {
      return Expected(flag, value, "a name without '/', '+' or '#'");
    }
    o->share_group = value;
  } else if (flag == "--presence") {
    if (value == "nanomq") {
      o->presence = PresenceSource::kNanoMq;
    } else if (value == "emqx") {
      o->presence = PresenceSource::kEmqx;
    } else if (value == "none") {
      o->presence.reset();
    } else {
      return Expected(flag, value, "nanomq, emqx or none");
    }
  } else if (flag == "--protocol") {
    if (value != "4" && value != "5") return Expected(flag, value, "4 (MQTT 3.1.1) or 5");
    o->protocol = value == "5" ? 5 : 4;
  } else if (flag == "--qos") {
    return ParseNumber(flag, value, 0, 2, &o->qos);
  } else if (flag == "--client-id-property") {
    o->client_id_property = value;
  } else if (flag == "--target") {
    o->target = value;
  } else if (flag == "--node") {
    o->node = value;
  } else if (flag == "--streams") {
    return ParseNumber<uint32_t>(flag, value, 1, 1024, &o->streams);
  } else if (flag == "--queue-max-events") {
    return ParseNumber<uint64_t>(flag, value, 1, std::numeric_limits<uint64_t>::max(),
                                 &o->queue_max_events);
  } else if (flag == "--queue-max-bytes") {
    return ParseNumber<uint64_t>(flag, value, 1, std::numeric_limits<uint64_t>::max(),
                                 &o->queue_max_bytes);
  } else if (flag == "--drop-policy") {
    if (value != "newest" && value != "oldest") return Expected(flag, value, "newest or oldest");
    o->drop_oldest = value == "oldest";
  } else {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": unknown flag (see --help)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> SubscriptionFilters(const BridgeOptions& options) {
  std::vector<std::string> filters = options.topics;
  if (options.presence.has_value()) {
    for (std::string& f : PresenceTopicFilters(*options.presence)) filters.push_back(f);
  }
  if (!options.share_group.empty()) {
    for (std::string& f : filters) f = absl::StrCat("$share/", options.share_group, "/", f);
  }
  return filters;
}

absl::StatusOr<BridgeOptions> ParseBridgeArgs(const std::vector<std::string>& args,
                                              const char* password_env) {
  BridgeOptions o;
  if (password_env != nullptr && *password_env != '\0') o.password = password_env;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    }
    if (arg == "--verbose" || arg == "-v") {
      o.verbose = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(arg, ": unexpected argument"));
    }
    std::string flag = arg;
    std::string value;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": missing value"));
    }
    if (auto s = ParseFlag(flag, value, &o); !s.ok()) return s;
  }
  if (o.target.empty()) {
    return absl::InvalidArgumentError("--target: required, e.g. \"gateway:7070\"");
  }
  if (o.password.has_value() && !o.username.has_value()) {
    return absl::InvalidArgumentError("--password: needs --username");
  }
  if (!o.client_id_property.empty() && o.protocol != 5) {
    return absl::InvalidArgumentError("--client-id-property: needs --protocol 5");
  }
  return o;
}

const char* BridgeUsage() {
  return R"(usage: webhookgw-mqtt-bridge --target GATEWAY [flags]

Subscribes to an MQTT broker and streams its messages (and, with --presence,
its client connect/disconnect notices) to webhook gateways.

  --broker HOST:PORT          broker to subscribe to (default 127.0.0.1:1883)
  --client-id ID              MQTT client id (default webhookgw-bridge-<host>-<pid>)
  --username NAME             MQTT username
  --password SECRET           MQTT password ($WEBHOOKGW_BRIDGE_PASSWORD also works)
  --topics F1,F2              topic filters to report as message.publish (default #)
  --share-group NAME          subscribe as $share/NAME/<filter>: bridges in one group
                              split the messages instead of each getting all of them
  --presence nanomq|emqx|none read $SYS connect/disconnect notices (default none)
  --protocol 4|5              MQTT 3.1.1 or 5 (default 5)
  --qos 0|1|2                 subscription QoS (default 2; messages arrive at the
                              lower of this and their own QoS, which is reported)
  --client-id-property NAME   MQTT 5 user property that carries the publisher's
                              client id (a subscriber is not told it otherwise)
  --target GATEWAY            gRPC target of the gateways (required)
  --node NAME                 node name put in every event (default host name)
  --streams N, --queue-max-events N, --queue-max-bytes N,
  --drop-policy newest|oldest adapter queue and streams (adapter defaults)
  -v, --verbose               log every subscription and reconnect
)";
}

}  // namespace webhookgw
