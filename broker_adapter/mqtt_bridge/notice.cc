#include "broker_adapter/mqtt_bridge/notice.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kNanoStatusPrefix = "$SYS/brokers/client_status/";
constexpr std::string_view kNanoOldConnected = "$SYS/brokers/connected";
constexpr std::string_view kNanoOldDisconnected = "$SYS/brokers/disconnected";
constexpr std::string_view kEmqxPrefix = "$SYS/brokers/";
constexpr std::string_view kEmqxClients = "/clients/";
// Real notices are a few hundred bytes; the bound keeps a hostile payload
// from costing more than that by orders of magnitude.
constexpr size_t kMaxNoticeBytes = 64 * 1024;

absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What the topic says before the payload is read.
struct TopicFacts {
  std::optional<bool> connected;  // unset: the payload's "status" decides
  std::string clientid;           // empty: the payload must name the client
};

std::optional<TopicFacts> ReadNanoTopic(std::string_view topic) {
  if (topic == kNanoOldConnected) return TopicFacts{true, ""};
  if (topic == kNanoOldDisconnected) return TopicFacts{false, ""};
  if (!StartsWith(topic, kNanoStatusPrefix) || topic.size() == kNanoStatusPrefix.size()) {
    return std::nullopt;
  }
  // A client id may itself contain '/': everything after the prefix is it.
  return TopicFacts{std::nullopt, std::string(topic.substr(kNanoStatusPrefix.size()))};
}

std::optional<TopicFacts> ReadEmqxTopic(std::string_view topic) {
  if (!StartsWith(topic, kEmqxPrefix)) return std::nullopt;
  std::string_view rest = topic.substr(kEmqxPrefix.size());
  size_t clients = rest.find(kEmqxClients);
  if (clients == std::string_view::npos || clients == 0) return std::nullopt;
  rest = rest.substr(clients + kEmqxClients.size());
  bool connected = EndsWith(rest, "/connected");
  if (!connected && !EndsWith(rest, "/disconnected")) return std::nullopt;
  std::string_view id = rest.substr(0, rest.rfind('/'));
  if (id.empty()) return std::nullopt;
  return TopicFacts{connected, std::string(id)};
}

absl::Status Fault(std::string_view topic, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Absl(topic), ": ", Absl(what)));
}

// Reads an unsigned field given as a number or a decimal string; a missing
// or null field leaves *out unchanged.
absl::Status ReadUnsigned(const Json& object, const char* key, uint64_t max, std::string_view topic,
                          uint64_t* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  uint64_t value = 0;
  bool ok = false;
  if (it->is_number_unsigned()) {
    value = it->get<uint64_t>();
    ok = true;
  } else if (it->is_number_integer()) {
    ok = it->get<int64_t>() >= 0;
    value = ok ? static_cast<uint64_t>(it->get<int64_t>()) : 0;
  } else if (it->is_string()) {
    ok = absl::SimpleAtoi(it->get_ref<const std::string&>(), &value);
  }
  if (!ok || value > max) {
    return Fault(topic, absl::StrCat("field \"", key, "\": expected an integer from 0 to ", max));
  }
  *out = value;
  return absl::OkStatus();
}

// Reads a string field; missing or null gives nullopt.
absl::StatusOr<std::optional<std::string>> ReadString(const Json& object, const char* key,
                                                      std::string_view topic) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) {
    return Fault(topic, absl::StrCat("field \"", key, "\": expected a string"));
  }
  return std::optional<std::string>(it->get<std::string>());
}

// Fields whose names differ between the two brokers.
struct FieldNames {
  const char* clientid;
  const char* ip;
  const char* ip6;  // may be null
  const char* time_connected;
  const char* time_disconnected;  // may be null: no usable time
};

absl::Status ReadCommon(const Json& object, const FieldNames& names, std::string_view topic,
                        PresenceNotice* notice) {
  absl::StatusOr<std::optional<std::string>> id = ReadString(object, names.clientid, topic);
  if (!id.ok()) return id.status();
  if (id->has_value()) {
    if (!notice->clientid.empty() && **id != notice->clientid) {
      return Fault(topic, absl::StrCat("field \"", names.clientid, "\" differs from the topic"));
    }
    notice->clientid = **id;
  }
  if (notice->clientid.empty()) return Fault(topic, "no client id in topic or payload");

  absl::StatusOr<std::optional<std::string>> user = ReadString(object, "username", topic);
  if (!user.ok()) return user.status();
  notice->username = *user;

  for (const char* key : {names.ip, names.ip6}) {
    if (key == nullptr || !notice->ipaddress.empty()) continue;
    absl::StatusOr<std::optional<std::string>> ip = ReadString(object, key, topic);
    if (!ip.ok()) return ip.status();
    notice->ipaddress = ip->value_or("");
  }

  uint64_t n = 0;
  if (auto s = ReadUnsigned(object, "proto_ver", 255, topic, &n); !s.ok()) return s;
  notice->proto_ver = static_cast<uint32_t>(n);
  n = 0;
  if (auto s = ReadUnsigned(object, "keepalive", 65535, topic, &n); !s.ok()) return s;
  notice->keepalive = static_cast<uint32_t>(n);

  const char* time_key = notice->connected ? names.time_connected : names.time_disconnected;
  n = 0;
  if (time_key != nullptr) {
    uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (auto s = ReadUnsigned(object, time_key, max, topic, &n); !s.ok()) return s;
  }
  notice->time_ms = static_cast<int64_t>(n);
  return absl::OkStatus();
}

absl::Status ReadNanoPayload(const Json& object, std::string_view topic, const TopicFacts& facts,
                             PresenceNotice* notice) {
  notice->connected = facts.connected.value_or(false);
  if (!facts.connected.has_value()) {
    absl::StatusOr<std::optional<std::string>> status = ReadString(object, "status", topic);
    if (!status.ok()) return status.status();
    if (*status != "online" && *status != "offline") {
      return Fault(topic, "field \"status\": expected \"online\" or \"offline\"");
    }
    notice->connected = *status == "online";
  }
  // NanoMQ's offline notice repeats the connect time in "ts".
  FieldNames names{"client_id", "IPv4", "IPv6", "ts", nullptr};
  if (auto s = ReadCommon(object, names, topic, notice); !s.ok()) return s;
  // NanoMQ writes the C library's rendering of a null username.
  if (notice->username == "(null)") notice->username.reset();
  if (!notice->connected) {
    uint64_t code = 0;
    if (auto s = ReadUnsigned(object, "reason_code", 255, topic, &code); !s.ok()) return s;
    notice->reason = code == 0 ? "normal" : absl::StrCat(code);
  }
  return absl::OkStatus();
}

absl::Status ReadEmqxPayload(const Json& object, std::string_view topic, PresenceNotice* notice) {
  FieldNames names{"clientid", "ipaddress", nullptr, "connected_at", "disconnected_at"};
  if (auto s = ReadCommon(object, names, topic, notice); !s.ok()) return s;
  if (notice->time_ms == 0) {
    uint64_t ts = 0;
    uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (auto s = ReadUnsigned(object, "ts", max, topic, &ts); !s.ok()) return s;
    notice->time_ms = static_cast<int64_t>(ts);
  }
  if (!notice->connected) {
    absl::StatusOr<std::optional<std::string>> reason = ReadString(object, "reason", topic);
    if (!reason.ok()) return reason.status();
    notice->reason = reason->value_or("unknown");
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<std::string> PresenceTopicFilters(PresenceSource source) {
  if (source == PresenceSource::kNanoMq) {
    return {std::string(kNanoStatusPrefix) + "#", std::string(kNanoOldConnected),
            std::string(kNanoOldDisconnected)};
  }
  return {"$SYS/brokers/+/clients/+/connected", "$SYS/brokers/+/clients/+/disconnected"};
}

absl::StatusOr<std::optional<PresenceNotice>> ParsePresenceNotice(PresenceSource source,
                                                                  std::string_view topic,
                                                                  std::string_view payload) {
  std::optional<TopicFacts> facts =
      source == PresenceSource::kNanoMq ? ReadNanoTopic(topic) : ReadEmqxTopic(topic);
  if (!facts.has_value()) return std::optional<PresenceNotice>();

  PresenceNotice notice;
  notice.clientid = facts->clientid;
  notice.connected = facts->connected.value_or(false);
  if (payload.empty()) {
    // NanoMQ publishes an empty status message when a client drops without
    // a DISCONNECT; nothing else is known about it.
    if (source == PresenceSource::kNanoMq && !facts->clientid.empty() &&
        !facts->connected.has_value()) {
      notice.reason = "abnormal";
      return std::optional<PresenceNotice>(std::move(notice));
    }
    return Fault(topic, "empty payload");
  }

  if (payload.size() > kMaxNoticeBytes) {
    return Fault(topic, absl::StrCat("payload larger than ", kMaxNoticeBytes, " bytes"));
  }
  Json object;
  try {
    object = Json::parse(payload.begin(), payload.end());
  } catch (const Json::parse_error& e) {
    return Fault(topic, absl::StrCat("payload is not JSON (syntax error at byte ", e.byte, ")"));
  } catch (const Json::exception& e) {
    // nlohmann reports a number too large for a double as out_of_range.
    return Fault(topic, absl::StrCat("payload is not usable JSON (nlohmann error ", e.id, ")"));
  }
  if (!object.is_object()) return Fault(topic, "payload is not a JSON object");

  absl::Status status = source == PresenceSource::kNanoMq
                            ? ReadNanoPayload(object, topic, *facts, &notice)
                            : ReadEmqxPayload(object, topic, &notice);
  if (!status.ok()) return status;
  return std::optional<PresenceNotice>(std::move(notice));
}

}  // namespace webhookgw
