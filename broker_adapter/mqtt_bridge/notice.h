// Presence notices: the messages brokers publish under $SYS when a client
// connects or goes away, read into client events for the generic MQTT
// adapter. Pure functions, no I/O.
#ifndef WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_NOTICE_H_
#define WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_NOTICE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace webhookgw {

// Which broker's notices to read.
enum class PresenceSource {
  // NanoMQ 0.25: $SYS/brokers/client_status/<clientid>, JSON with "status"
  // online/offline; older releases: $SYS/brokers/connected|disconnected.
  kNanoMq,
  // EMQX 4: $SYS/brokers/<node>/clients/<clientid>/connected|disconnected.
  kEmqx,
};

// One client connect or disconnect, as far as the notice tells it.
struct PresenceNotice {
  bool connected = false;  // false: disconnected
  std::string clientid;
  std::optional<std::string> username;  // absent when the client sent none
  std::string ipaddress;                // empty when not given
  uint32_t proto_ver = 0;               // 0 when not given
  uint32_t keepalive = 0;
  // Disconnected only: EMQX's reason; for NanoMQ "normal" for reason code 0,
  // the code in decimal otherwise, and "abnormal" for an empty payload.
  std::string reason;
  // When it happened, ms since the epoch; 0 when the notice does not say
  // (NanoMQ's offline notices carry the connect time, which is not used).
  int64_t time_ms = 0;
};

// The topic filters that carry `source`'s notices.
std::vector<std::string> PresenceTopicFilters(PresenceSource source);

// Reads one message. Returns nullopt when `topic` is not one of `source`'s
// notice topics (an ordinary message), a notice when it is, and
// InvalidArgument naming the topic and the fault when it is a notice topic
// but the payload cannot be read. Field order and unknown fields do not
// matter; numbers may be JSON numbers or decimal strings. Error messages
// never quote the payload.
absl::StatusOr<std::optional<PresenceNotice>> ParsePresenceNotice(PresenceSource source,
                                                                  std::string_view topic,
                                                                  std::string_view payload);

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_MQTT_BRIDGE_NOTICE_H_
