#include "gateway/event_kind.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace webhookgw {
namespace {

constexpr std::array<std::string_view, kEventKindCount> kNames = {
    "on_client_connect",      "on_client_connack",       "on_client_connected",
    "on_client_disconnected", "on_client_subscribe",     "on_client_unsubscribe",
    "on_session_subscribed",  "on_session_unsubscribed", "on_session_terminated",
    "on_message_publish",     "on_message_delivered",    "on_message_acked",
};

}  // namespace

std::string_view EventName(EventKind kind) { return kNames[static_cast<int>(kind)]; }

std::string_view EventAction(EventKind kind) { return EventName(kind).substr(3); }

std::optional<EventKind> EventKindFromName(std::string_view name) {
  for (int i = 0; i < kEventKindCount; ++i) {
    if (kNames[i] == name) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

std::optional<EventKind> KindOf(const v1::Event& event) {
  using E = v1::Event;
  switch (event.kind_case()) {
    case E::kClientConnect:
      return EventKind::kClientConnect;
    case E::kClientConnack:
      return EventKind::kClientConnack;
    case E::kClientConnected:
      return EventKind::kClientConnected;
    case E::kClientDisconnected:
      return EventKind::kClientDisconnected;
    case E::kClientSubscribe:
      return EventKind::kClientSubscribe;
    case E::kClientUnsubscribe:
      return EventKind::kClientUnsubscribe;
    case E::kSessionSubscribed:
      return EventKind::kSessionSubscribed;
    case E::kSessionUnsubscribed:
      return EventKind::kSessionUnsubscribed;
    case E::kSessionTerminated:
      return EventKind::kSessionTerminated;
    case E::kMessagePublish:
      return EventKind::kMessagePublish;
    case E::kMessageDelivered:
      return EventKind::kMessageDelivered;
    case E::kMessageAcked:
      return EventKind::kMessageAcked;
    case E::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

bool KindHasTopic(EventKind kind) {
  switch (kind) {
    case EventKind::kClientSubscribe:
    case EventKind::kClientUnsubscribe:
    case EventKind::kSessionSubscribed:
    case EventKind::kSessionUnsubscribed:
    case EventKind::kMessagePublish:
    case EventKind::kMessageDelivered:
    case EventKind::kMessageAcked:
      return true;
    default:
      return false;
  }
}

std::string_view TopicOf(const v1::Event& event) {
  using E = v1::Event;
  switch (event.kind_case()) {
    case E::kClientSubscribe:
      return event.client_subscribe().topic();
    case E::kClientUnsubscribe:
      return event.client_unsubscribe().topic();
    case E::kSessionSubscribed:
      return event.session_subscribed().topic();
    case E::kSessionUnsubscribed:
      return event.session_unsubscribed().topic();
    case E::kMessagePublish:
      return event.message_publish().topic();
    case E::kMessageDelivered:
      return event.message_delivered().topic();
    case E::kMessageAcked:
      return event.message_acked().topic();
    default:
      return {};
  }
}

std::string_view ClientIdOf(const v1::Event& event) {
  using E = v1::Event;
  switch (event.kind_case()) {
    case E::kClientConnect:
      return event.client_connect().clientid();
    case E::kClientConnack:
      return event.client_connack().clientid();
    case E::kClientConnected:
      return event.client_connected().clientid();
    case E::kClientDisconnected:
      return event.client_disconnected().clientid();
    case E::kClientSubscribe:
      return event.client_subscribe().clientid();
    case E::kClientUnsubscribe:
      return event.client_unsubscribe().clientid();
    case E::kSessionSubscribed:
      return event.session_subscribed().clientid();
    case E::kSessionUnsubscribed:
      return event.session_unsubscribed().clientid();
    case E::kSessionTerminated:
      return event.session_terminated().clientid();
    case E::kMessagePublish:
      return event.message_publish().from_client_id();
    case E::kMessageDelivered:
      return event.message_delivered().clientid();
    case E::kMessageAcked:
      return event.message_acked().clientid();
    case E::KIND_NOT_SET:
      break;
  }
  return {};
}

std::string EventId(const v1::Event& event) {
  return absl::StrCat(event.node(), "-", event.incarnation(), "-", event.sequence());
}

}  // namespace webhookgw
