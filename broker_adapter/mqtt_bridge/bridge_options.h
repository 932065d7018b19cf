// Command line of webhookgw-mqtt-bridge, the generic MQTT adapter.
#ifndef WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_BRIDGE_OPTIONS_H_
#define WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_BRIDGE_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker_adapter/mqtt_bridge/notice.h"

namespace webhookgw {

struct BridgeOptions {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // empty: webhookgw-bridge-<host name>-<pid>
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::vector<std::string> topics{"#"};
  std::string share_group;  // empty: plain subscriptions
  std::optional<PresenceSource> presence;
  int protocol = 5;  // 4 (MQTT 3.1.1) or 5
  // Subscription QoS. Messages arrive at min(published, subscribed) QoS, so
  // only 2 reports every message's published QoS.
  int qos = 2;
  // MQTT 5 user property naming the publisher's client id; empty: none.
  std::string client_id_property;
  std::string target;  // required
  std::string node;    // empty: host name
  uint32_t streams = 0;
  uint64_t queue_max_events = 0;
  uint64_t queue_max_bytes = 0;
  bool drop_oldest = false;
  bool verbose = false;
  bool help = false;
};

// The filters to subscribe: the topics and, when presence is on, the
// source's notice topics, each under $share/<group>/ when a share group is
// set so that several bridges split the messages between them.
std::vector<std::string> SubscriptionFilters(const BridgeOptions& options);

// Parses argv (without argv[0]). "--flag value" and "--flag=value" both work.
// The password may also come from $WEBHOOKGW_BRIDGE_PASSWORD, kept out of
// the process list. Errors name the flag and what it expects.
absl::StatusOr<BridgeOptions> ParseBridgeArgs(const std::vector<std::string>& args,
                                              const char* password_env);

// The --help text.
const char* BridgeUsage();

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_BRIDGE_OPTIONS_H_
