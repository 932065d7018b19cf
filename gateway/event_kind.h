#ifndef WEBHOOKGW_GATEWAY_EVENT_KIND_H_
#define WEBHOOKGW_GATEWAY_EVENT_KIND_H_

#include <optional>
#include <string>
#include <string_view>

#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

// The twelve webhook events of NanoMQ's documentation, in its order. The
// numeric values index per-kind arrays (metrics, filters).
enum class EventKind : int {
  kClientConnect = 0,
  kClientConnack,
  kClientConnected,
  kClientDisconnected,
  kClientSubscribe,
  kClientUnsubscribe,
  kSessionSubscribed,
  kSessionUnsubscribed,
  kSessionTerminated,
  kMessagePublish,
  kMessageDelivered,
  kMessageAcked,
};
inline constexpr int kEventKindCount = 12;

// "on_client_connect" and so on: the name used in config files.
std::string_view EventName(EventKind kind);

// The `action` field of a body: the event name without "on_".
std::string_view EventAction(EventKind kind);

// Parses a config event name; nullopt when it is not one of the twelve.
std::optional<EventKind> EventKindFromName(std::string_view name);

// The kind of a decoded event; nullopt when no kind is set (bad input).
std::optional<EventKind> KindOf(const v1::Event& event);

// The id receivers see (webhook-id header, dead-letter and spool records):
// "<node>-<incarnation>-<sequence>".
std::string EventId(const v1::Event& event);

// Whether a rule for this kind may carry a topic filter: the message events
// (matched against the message topic) and the (un)subscribe events (matched
// against the filter being (un)subscribed).
bool KindHasTopic(EventKind kind);

// The topic a rule's filter is matched against; empty for kinds without one.
std::string_view TopicOf(const v1::Event& event);

// The client id that orders this event: the publisher for on_message_publish,
// the subscriber for delivered/acked, the client itself otherwise.
std::string_view ClientIdOf(const v1::Event& event);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_EVENT_KIND_H_
