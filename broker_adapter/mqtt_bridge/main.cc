// webhookgw-mqtt-bridge: the generic MQTT adapter. It subscribes to a broker
// as an ordinary client and streams what it sees to webhook gateways:
// messages as message.publish, and with --presence the broker's $SYS
// connect/disconnect notices as client.connected / client.disconnected.
//
// What a subscriber cannot know: the publisher's client id (unless the
// publisher puts it in an MQTT 5 user property, --client-id-property) and
// username (never), and whether a message was published retained under
// MQTT 3.1.1 (MQTT 5 subscriptions ask for retain-as-published).

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapter/mqtt_bridge/bridge_options.h"
#include "broker_adapter/mqtt_bridge/notice.h"
#include "broker_adapter/webhookgw_adapter.h"

namespace webhookgw {
namespace {

std::mutex log_mu;
// Set once in main before any thread starts.
bool verbose_logs = false;

// One key=value log line on stderr; callable from any thread.
void Log(const char* level, const std::string& text) {
  std::lock_guard<std::mutex> lock(log_mu);
  std::fprintf(stderr, "level=%s component=mqtt_bridge %s\n", level, text.c_str());
}

void AdapterLog(void*, wgw_log_level level, const char* message) {
  static const char* const kNames[] = {"debug", "info", "warn", "error"};
  if (level == WGW_LOG_DEBUG && !verbose_logs) return;
  Log(kNames[level < 4 ? level : 3],
      absl::StrCat("adapter=\"", absl::StrReplaceAll(message, {{"\"", "'"}}), "\""));
}

std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

// The MQTT client and its adapter. libmosquitto calls the On* methods from
// its network thread, one at a time; counters are atomics because the main
// thread reads them at exit.
class Bridge {
 public:
  explicit Bridge(BridgeOptions options) : options_(std::move(options)) {}

  // Creates the adapter and starts connecting (in the background, retried).
  bool Start();

  // Disconnects, waits up to 5 s for the gateways to acknowledge what was
  // queued, and logs the counters.
  void Stop();

 private:
  static void OnConnect(mosquitto*, void* self, int rc, int, const mosquitto_property*) {
    static_cast<Bridge*>(self)->Connected(rc);
  }
  static void OnDisconnect(mosquitto*, void* self, int rc, const mosquitto_property*) {
    if (rc != 0)
      Log("warn", absl::StrCat("msg=\"connection lost\" error=\"", mosquitto_strerror(rc), "\""));
  }
  static void OnSubscribe(mosquitto*, void* self, int, int count, const int* granted,
                          const mosquitto_property*) {
    static_cast<Bridge*>(self)->Subscribed(count, granted);
  }
  static void OnMessage(mosquitto*, void* self, const mosquitto_message* message,
                        const mosquitto_property* props) {
    static_cast<Bridge*>(self)->Message(*message, props);
  }

  void Connected(int rc);
  void Subscribed(int count, const int* granted);
  void Message(const mosquitto_message& message, const mosquitto_property* props);
  void Notice(const PresenceNotice& notice);
  void CountInvalid(const absl::Status& status);
  std::string PublisherId(const mosquitto_property* props) const;

  BridgeOptions options_;
  std::string node_;
  std::string client_id_;
  std::vector<std::string> filters_;
  wgw_adapter* adapter_ = nullptr;
  mosquitto* mosq_ = nullptr;
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> notices_{0};
  std::atomic<uint64_t> notices_invalid_{0};
  std::atomic<uint64_t> not_queued_{0};
  // Network thread only.
  std::chrono::steady_clock::time_point last_invalid_log_{};
  uint64_t invalid_since_log_ = 0;
};

bool Bridge::Start() {
  node_ = options_.node.empty() ? HostName() : options_.node;
  client_id_ = options_.client_id.empty()
                   ? absl::StrCat("webhookgw-bridge-", HostName(), "-", getpid())
                   : options_.client_id;
  filters_ = SubscriptionFilters(options_);

  wgw_adapter_options ao;
  wgw_adapter_options_init(&ao);
  ao.target = options_.target.c_str();
  ao.node = node_.c_str();
  if (options_.streams > 0) ao.streams = options_.streams;
  if (options_.queue_max_events > 0) ao.queue_max_events = options_.queue_max_events;
  if (options_.queue_max_bytes > 0) ao.queue_max_bytes = options_.queue_max_bytes;
  ao.drop_policy = options_.drop_oldest ? WGW_DROP_OLDEST : WGW_DROP_NEWEST;
  ao.log = AdapterLog;
  char err[256] = {};
  adapter_ = wgw_adapter_create(&ao, err, sizeof(err));
  if (adapter_ == nullptr) {
    Log("error", absl::StrCat("msg=\"adapter\" error=\"", err, "\""));
    return false;
  }

  mosquitto_lib_init();
  mosq_ = mosquitto_new(client_id_.c_str(), /*clean_session=*/true, this);
  if (mosq_ == nullptr) {
    Log("error", "msg=\"cannot create the MQTT client\"");
    return false;
  }
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION,
                       options_.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  if (options_.username.has_value()) {
    mosquitto_username_pw_set(mosq_, options_.username->c_str(),
                              options_.password ? options_.password->c_str() : nullptr);
  }
  mosquitto_connect_v5_callback_set(mosq_, OnConnect);
  mosquitto_disconnect_v5_callback_set(mosq_, OnDisconnect);
  mosquitto_subscribe_v5_callback_set(mosq_, OnSubscribe);
  mosquitto_message_v5_callback_set(mosq_, OnMessage);
  mosquitto_reconnect_delay_set(mosq_, 1, 30, true);

  int rc = mosquitto_connect_async(mosq_, options_.host.c_str(), options_.port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    // Not fatal: the network thread keeps trying.
    Log("warn", absl::StrCat("msg=\"first connect failed\" broker=", options_.host, ":",
                             options_.port, " error=\"", mosquitto_strerror(rc), "\""));
  }
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) {
    Log("error", absl::StrCat("msg=\"network thread\" error=\"", mosquitto_strerror(rc), "\""));
    return false;
  }
  Log("info", absl::StrCat("msg=started broker=", options_.host, ":", options_.port, " client_id=",
                           client_id_, " node=", node_, " filters=", filters_.size()));
  return true;
}

void Bridge::Connected(int rc) {
  if (rc != 0) {
    Log("error", absl::StrCat("msg=\"connect refused\" reason=\"",
                              options_.protocol == 5 ? mosquitto_reason_string(rc)
                                                     : mosquitto_connack_string(rc),
                              "\""));
    return;
  }
  std::vector<char*> filters;
  for (std::string& f : filters_) filters.push_back(f.data());
  // MQTT 5 lets the bridge skip retained history (it is not a new publish)
  // and see the retain flag as published.
  int sub_options = options_.protocol == 5
                        ? MQTT_SUB_OPT_SEND_RETAIN_NEVER | MQTT_SUB_OPT_RETAIN_AS_PUBLISHED
                        : 0;
  int rc2 = mosquitto_subscribe_multiple(mosq_, nullptr, static_cast<int>(filters.size()),
                                         filters.data(), options_.qos, sub_options, nullptr);
  if (rc2 != MOSQ_ERR_SUCCESS) {
    Log("error", absl::StrCat("msg=\"subscribe failed\" error=\"", mosquitto_strerror(rc2), "\""));
  } else if (options_.verbose) {
    Log("info", absl::StrCat("msg=connected subscribing=", filters.size()));
  }
}

void Bridge::Subscribed(int count, const int* granted) {
  if (options_.verbose) Log("info", absl::StrCat("msg=subscribed filters=", count));
  for (int i = 0; i < count; ++i) {
    if (granted[i] >= 0x80) {
      Log("error", absl::StrCat("msg=\"subscription refused\" filter=\"",
                                i < static_cast<int>(filters_.size()) ? filters_[i] : "?",
                                "\" code=", granted[i]));
    }
  }
}

std::string Bridge::PublisherId(const mosquitto_property* props) const {
  if (options_.client_id_property.empty()) return "";
  bool skip_first = false;
  for (const mosquitto_property* p = props; p != nullptr; skip_first = true) {
    char* name = nullptr;
    char* value = nullptr;
    p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, skip_first);
    bool match = p != nullptr && options_.client_id_property == name;
    std::string found = match ? value : "";
    std::free(name);
    std::free(value);
    if (match) return found;
  }
  return "";
}

void Bridge::Message(const mosquitto_message& message, const mosquitto_property* props) {
  if (options_.protocol != 5 && message.retain) {
    // Under 3.1.1 the retain flag marks retained history sent on subscribe.
    return;
  }
  if (options_.presence.has_value()) {
    std::string_view payload(static_cast<const char*>(message.payload),
                             static_cast<size_t>(message.payloadlen));
    absl::StatusOr<std::optional<PresenceNotice>> notice =
        ParsePresenceNotice(*options_.presence, message.topic, payload);
    if (!notice.ok()) {
      CountInvalid(notice.status());
      return;
    }
    if (notice->has_value()) {
      Notice(**notice);
      return;
    }
  }

  ++messages_;
  std::string publisher = PublisherId(props);
  wgw_event event{};
  event.kind = WGW_MESSAGE_PUBLISH;
  // The subscriber does not learn the publisher's client id or username.
  event.clientid = publisher.c_str();
  event.from_client_id = publisher.c_str();
  event.topic = message.topic;
  event.qos = static_cast<uint32_t>(message.qos);
  event.retain = message.retain ? 1 : 0;
  event.payload = message.payload;
  event.payload_len = static_cast<size_t>(message.payloadlen);
  if (wgw_adapter_emit(adapter_, &event) != WGW_OK) ++not_queued_;
}

void Bridge::Notice(const PresenceNotice& notice) {
  ++notices_;
  wgw_event event{};
  event.kind = notice.connected ? WGW_CLIENT_CONNECTED : WGW_CLIENT_DISCONNECTED;
  event.time_ms = notice.time_ms;
  event.clientid = notice.clientid.c_str();
  event.username = notice.username ? notice.username->c_str() : nullptr;
  event.ipaddress = notice.ipaddress.c_str();
  event.keepalive = notice.keepalive;
  event.proto_ver = notice.proto_ver;
  event.reason = notice.connected ? nullptr : notice.reason.c_str();
  if (wgw_adapter_emit(adapter_, &event) != WGW_OK) ++not_queued_;
}

void Bridge::CountInvalid(const absl::Status& status) {
  ++notices_invalid_;
  ++invalid_since_log_;
  // One line per 10 s at most: a broker that keeps sending bad notices must
  // not flood the log; the total is logged at exit.
  auto now = std::chrono::steady_clock::now();
  if (last_invalid_log_ != std::chrono::steady_clock::time_point{} &&
      now - last_invalid_log_ < std::chrono::seconds(10)) {
    return;
  }
  Log("warn", absl::StrCat("msg=\"invalid presence notice\" count=", invalid_since_log_,
                           " last_error=\"", status.message(), "\""));
  last_invalid_log_ = now;
  invalid_since_log_ = 0;
}

void Bridge::Stop() {
  if (mosq_ != nullptr) {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, /*force=*/false);
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
  }
  mosquitto_lib_cleanup();
  if (adapter_ != nullptr) {
    wgw_adapter_destroy(adapter_, 5000);
    adapter_ = nullptr;
  }
  Log("info", absl::StrCat("msg=stopped messages=", messages_.load(), " notices=", notices_.load(),
                           " notices_invalid=", notices_invalid_.load(),
                           " not_queued=", not_queued_.load()));
}

}  // namespace
}  // namespace webhookgw

int main(int argc, char** argv) {
  // Debian's Abseil checks every lock for deadlock cycles; the adapter's
  // lock order is fixed, so the check only costs CPU on the event path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<webhookgw::BridgeOptions> options =
      webhookgw::ParseBridgeArgs(args, std::getenv("WEBHOOKGW_BRIDGE_PASSWORD"));
  if (!options.ok()) {
    std::fprintf(stderr, "webhookgw-mqtt-bridge: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(webhookgw::BridgeUsage(), stdout);
    return 0;
  }

  // Block the stop signals before any thread starts, so that only sigwait
  // below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  webhookgw::verbose_logs = options->verbose;
  webhookgw::Bridge bridge(*std::move(options));
  if (!bridge.Start()) {
    bridge.Stop();
    return 1;
  }
  int sig = 0;
  sigwait(&stop, &sig);
  bridge.Stop();
  return 0;
}
