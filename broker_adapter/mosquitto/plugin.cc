// The mosquitto 2.0.11 plugin (plugin API v5): reports client and message
// events to the webhook gateway through the adapter library.
//
// Events and where they come from (2.0.11 has no callback for the others:
// client.connack, client.connected, session.*, message.acked):
//   MOSQ_EVT_BASIC_AUTH            -> client.connect
//   MOSQ_EVT_DISCONNECT            -> client.disconnected, reason "unknown"
//   MOSQ_EVT_ACL_CHECK SUBSCRIBE   -> client.subscribe, once per filter
//   MOSQ_EVT_ACL_CHECK UNSUBSCRIBE -> client.unsubscribe, once per filter
//   MOSQ_EVT_ACL_CHECK READ        -> message.delivered (plugin_opt_delivered)
//   MOSQ_EVT_MESSAGE               -> message.publish
// Every callback runs on the broker's only thread, copies what it needs into
// the adapter's queue (which never blocks) and returns. The answers to auth
// and ACL checks never change the broker's decision: see broker_security.h.

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapter/mosquitto/broker_security.h"
#include "broker_adapter/mosquitto/plugin_options.h"
#include "broker_adapter/webhookgw_adapter.h"

extern "C" {
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
}

#define WEBHOOKGW_EXPORT extern "C" __attribute__((visibility("default")))

namespace webhookgw {
namespace {

// 2.0.11 always passes -1 as the disconnect reason, so the real cause (a
// clean DISCONNECT, a keepalive timeout, a takeover) cannot be told apart.
constexpr char kDisconnectReason[] = "unknown";
constexpr size_t kMaxQueuedLogs = 256;

// Log lines from the adapter's thread, kept until the broker thread prints
// them. mosquitto_log_printf is not safe off the broker thread in 2.0.11:
// with `log_dest topic` it publishes into the broker's message store, which
// has no lock. Thread-safe.
class LogRelay {
 public:
  // Queues one line; drops it (and counts the drop) when the queue is full.
  void Push(wgw_log_level level, const char* message) {
    absl::MutexLock lock(&mu_);
    if (lines_.size() >= kMaxQueuedLogs) {
      ++dropped_;
      return;
    }
    lines_.emplace_back(level, message);
  }

  // Prints queued lines; call only on the broker thread.
  void Flush() {
    std::deque<std::pair<wgw_log_level, std::string>> lines;
    uint64_t dropped = 0;
    {
      absl::MutexLock lock(&mu_);
      lines.swap(lines_);
      std::swap(dropped, dropped_);
    }
    for (const auto& [level, text] : lines) {
      mosquitto_log_printf(MosquittoLevel(level), "webhookgw: %s", text.c_str());
    }
    if (dropped > 0) {
      mosquitto_log_printf(MOSQ_LOG_WARNING, "webhookgw: log lines dropped=%llu",
                           static_cast<unsigned long long>(dropped));
    }
  }

 private:
  static int MosquittoLevel(wgw_log_level level) {
    switch (level) {
      case WGW_LOG_DEBUG:
        return MOSQ_LOG_DEBUG;
      case WGW_LOG_INFO:
        return MOSQ_LOG_INFO;
      case WGW_LOG_WARN:
        return MOSQ_LOG_WARNING;
      case WGW_LOG_ERROR:
        return MOSQ_LOG_ERR;
    }
    return MOSQ_LOG_ERR;
  }

  absl::Mutex mu_;
  std::deque<std::pair<wgw_log_level, std::string>> lines_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

// One loaded instance of the plugin: its options, its adapter and its
// answers to auth and ACL checks. Used only from the broker thread, except
// `logs`, which the adapter's thread fills.
struct Plugin {
  mosquitto_plugin_id_t* id = nullptr;
  PluginOptions options;
  CheckAnswers answers{CheckAnswer::kDefer, CheckAnswer::kDefer};
  std::string node;
  std::string token;  // from plugin_opt_token or the first line of token_file
  wgw_adapter* adapter = nullptr;
  LogRelay logs;
};

void RelayLog(void* ctx, wgw_log_level level, const char* message) {
  static_cast<LogRelay*>(ctx)->Push(level, message);
}

const char* AnswerName(CheckAnswer answer) {
  switch (answer) {
    case CheckAnswer::kAuto:
      return "auto";
    case CheckAnswer::kDefer:
      return "defer";
    case CheckAnswer::kAllow:
      return "allow";
    case CheckAnswer::kDeny:
      return "deny";
  }
  return "?";
}

// The file name this plugin was loaded from, to recognise its own `plugin`
// lines in the broker configuration.
std::string OwnFileName() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&OwnFileName), &info) == 0 || info.dli_fname == nullptr) {
    return "webhookgw_mosquitto.so";
  }
  return info.dli_fname;
}

// Replaces "auto" answers by the broker's own, read from its configuration.
absl::StatusOr<CheckAnswers> ResolveAnswers(const PluginOptions& options) {
  CheckAnswers requested{options.basic_auth, options.acl_check};
  if (requested.basic_auth != CheckAnswer::kAuto && requested.acl_check != CheckAnswer::kAuto) {
    return requested;
  }
  std::string path = options.config_file;
  if (path.empty()) {
    absl::StatusOr<std::string> running = RunningBrokerConfigPath();
    if (!running.ok()) return running.status();
    path = *running;
  }
  absl::StatusOr<BrokerSecurity> security = ReadBrokerConfig(path);
  if (!security.ok()) return security.status();
  return ResolveCheckAnswers(*security, requested, OwnFileName());
}

void Emit(Plugin* plugin, wgw_event* event) {
  // The adapter counts what it sheds; logging here would run per event.
  wgw_adapter_emit(plugin->adapter, event);
}

int OnBasicAuth(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ed = static_cast<mosquitto_evt_basic_auth*>(event_data);
  const char* id = mosquitto_client_id(ed->client);
  if (id != nullptr) {
    wgw_event event{};
    event.kind = WGW_CLIENT_CONNECT;
    event.clientid = id;
    event.username = ed->username;
    event.ipaddress = mosquitto_client_address(ed->client);
    event.keepalive = static_cast<uint32_t>(mosquitto_client_keepalive(ed->client));
    event.proto_ver = static_cast<uint32_t>(mosquitto_client_protocol_version(ed->client));
    Emit(plugin, &event);
  }
  switch (plugin->answers.basic_auth) {
    case CheckAnswer::kAllow:
      return MOSQ_ERR_SUCCESS;
    case CheckAnswer::kDeny:
      return MOSQ_ERR_AUTH;
    default:
      return MOSQ_ERR_PLUGIN_DEFER;
  }
}

int OnAclCheck(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ed = static_cast<mosquitto_evt_acl_check*>(event_data);
  const char* id = mosquitto_client_id(ed->client);

  wgw_event event{};
  event.clientid = id;
  event.username = mosquitto_client_username(ed->client);
  event.topic = ed->topic;
  event.qos = ed->qos;
  event.retain = ed->retain ? 1 : 0;
  bool report = id != nullptr && ed->topic != nullptr;
  if (ed->access == MOSQ_ACL_SUBSCRIBE) {
    event.kind = WGW_CLIENT_SUBSCRIBE;
  } else if (ed->access == MOSQ_ACL_UNSUBSCRIBE) {
    event.kind = WGW_CLIENT_UNSUBSCRIBE;
  } else if (ed->access == MOSQ_ACL_READ && plugin->options.delivered &&
             !(report && absl::StartsWith(ed->topic, "$SYS/"))) {
    // The publisher is not known to a READ check.
    event.kind = WGW_MESSAGE_DELIVERED;
    event.payload = ed->payload;
    event.payload_len = ed->payloadlen;
  } else {
    report = false;
  }
  if (report) Emit(plugin, &event);

  return plugin->answers.acl_check == CheckAnswer::kAllow ? MOSQ_ERR_SUCCESS
                                                          : MOSQ_ERR_PLUGIN_DEFER;
}

int OnMessage(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ed = static_cast<mosquitto_evt_message*>(event_data);
  const char* id = mosquitto_client_id(ed->client);
  if (id != nullptr) {
    const char* username = mosquitto_client_username(ed->client);
    wgw_event event{};
    event.kind = WGW_MESSAGE_PUBLISH;
    event.clientid = id;
    event.username = username;
    event.from_client_id = id;
    event.from_username = username;
    event.topic = ed->topic;
    event.qos = ed->qos;
    event.retain = ed->retain ? 1 : 0;
    event.payload = ed->payload;
    event.payload_len = ed->payloadlen;
    Emit(plugin, &event);
  }
  // Anything else would reject or alter the message.
  return MOSQ_ERR_SUCCESS;
}

int OnDisconnect(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ed = static_cast<mosquitto_evt_disconnect*>(event_data);
  // Sockets that never completed a CONNECT have no client id: they were
  // never clients, so there is nothing to report.
  const char* id = mosquitto_client_id(ed->client);
  if (id == nullptr) return MOSQ_ERR_SUCCESS;
  wgw_event event{};
  event.kind = WGW_CLIENT_DISCONNECTED;
  event.clientid = id;
  event.username = mosquitto_client_username(ed->client);
  event.reason = kDisconnectReason;
  Emit(plugin, &event);
  return MOSQ_ERR_SUCCESS;
}

int OnTick(int, void*, void* userdata) {
  static_cast<Plugin*>(userdata)->logs.Flush();
  return MOSQ_ERR_SUCCESS;
}

int OnReload(int, void*, void* userdata) {
  // A reload may add or remove password and ACL files; "auto" follows.
  auto* plugin = static_cast<Plugin*>(userdata);
  absl::StatusOr<CheckAnswers> answers = ResolveAnswers(plugin->options);
  if (!answers.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: reload kept previous auth answers: %s",
                         std::string(answers.status().message()).c_str());
    return MOSQ_ERR_SUCCESS;
  }
  plugin->answers = *answers;
  mosquitto_log_printf(MOSQ_LOG_INFO, "webhookgw: reload basic_auth=%s acl_check=%s",
                       AnswerName(answers->basic_auth), AnswerName(answers->acl_check));
  return MOSQ_ERR_SUCCESS;
}

struct Registration {
  int event;
  MOSQ_FUNC_generic_callback callback;
};
constexpr Registration kCallbacks[] = {
    {MOSQ_EVT_BASIC_AUTH, OnBasicAuth},
    {MOSQ_EVT_ACL_CHECK, OnAclCheck},
    {MOSQ_EVT_MESSAGE, OnMessage},
    {MOSQ_EVT_DISCONNECT, OnDisconnect},
    {MOSQ_EVT_TICK, OnTick},
    {MOSQ_EVT_RELOAD, OnReload},
};

void Unregister(Plugin* plugin) {
  for (const Registration& r : kCallbacks) {
    mosquitto_callback_unregister(plugin->id, r.event, r.callback, nullptr);
  }
}

// Builds the plugin from its options; logs and returns null on any error.
Plugin* CreatePlugin(mosquitto_plugin_id_t* id, mosquitto_opt* opts, int opt_count) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < opt_count; ++i) pairs.emplace_back(opts[i].key, opts[i].value);
  absl::StatusOr<PluginOptions> options = ParsePluginOptions(pairs);
  if (!options.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: %s",
                         std::string(options.status().message()).c_str());
    return nullptr;
  }
  absl::StatusOr<CheckAnswers> answers = ResolveAnswers(*options);
  if (!answers.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: %s",
                         std::string(answers.status().message()).c_str());
    return nullptr;
  }

  auto plugin = std::make_unique<Plugin>();
  plugin->id = id;
  plugin->options = *std::move(options);
  plugin->answers = *answers;
  plugin->node = plugin->options.node;
  if (plugin->node.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    plugin->node = host;
  }

  wgw_adapter_options adapter_options;
  wgw_adapter_options_init(&adapter_options);
  adapter_options.target = plugin->options.target.c_str();
  adapter_options.node = plugin->node.c_str();
  if (plugin->options.streams > 0) adapter_options.streams = plugin->options.streams;
  if (plugin->options.queue_max_events > 0) {
    adapter_options.queue_max_events = plugin->options.queue_max_events;
  }
  if (plugin->options.queue_max_bytes > 0) {
    adapter_options.queue_max_bytes = plugin->options.queue_max_bytes;
  }
  adapter_options.drop_policy = plugin->options.drop_oldest ? WGW_DROP_OLDEST : WGW_DROP_NEWEST;
  if (plugin->options.ack_timeout_ms >= 0) {
    adapter_options.ack_timeout_ms = static_cast<uint32_t>(plugin->options.ack_timeout_ms);
  }
  if (plugin->options.keepalive_time_ms > 0) {
    adapter_options.keepalive_time_ms = static_cast<uint32_t>(plugin->options.keepalive_time_ms);
  }
  if (plugin->options.keepalive_timeout_ms > 0) {
    adapter_options.keepalive_timeout_ms =
        static_cast<uint32_t>(plugin->options.keepalive_timeout_ms);
  }
  adapter_options.log = RelayLog;
  adapter_options.log_ctx = &plugin->logs;
  const PluginOptions& o = plugin->options;
  auto set = [](const std::string& value) { return value.empty() ? nullptr : value.c_str(); };
  adapter_options.tls_ca_file = set(o.tls_ca_file);
  adapter_options.tls_cert_file = set(o.tls_cert_file);
  adapter_options.tls_key_file = set(o.tls_key_file);
  adapter_options.tls_server_name = set(o.tls_server_name);
  if (!o.token_file.empty()) {
    // The first line of the file, so that the token stays out of
    // mosquitto.conf; the message never shows the token.
    std::ifstream in(o.token_file);
    if (!std::getline(in, plugin->token) || plugin->token.empty()) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: plugin_opt_token_file %s: no token read",
                           o.token_file.c_str());
      return nullptr;
    }
  } else {
    plugin->token = o.token;
  }
  adapter_options.token = set(plugin->token);
  char err[256] = {};
  plugin->adapter = wgw_adapter_create(&adapter_options, err, sizeof(err));
  if (plugin->adapter == nullptr) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: adapter: %s", err);
    return nullptr;
  }
  return plugin.release();
}

}  // namespace
}  // namespace webhookgw

WEBHOOKGW_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                              const int* supported_versions) {
  for (int i = 0; i < supported_version_count; ++i) {
    if (supported_versions[i] == 5) return 5;
  }
  return -1;
}

WEBHOOKGW_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                           struct mosquitto_opt* options, int option_count) {
  using webhookgw::Plugin;
  // Debian's Abseil checks every lock for deadlock cycles behind one global
  // lock, on the broker's publish path; mosquitto itself does not use
  // Abseil, so turning the check off affects only the adapter.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Plugin* plugin = webhookgw::CreatePlugin(identifier, options, option_count);
  if (plugin == nullptr) return MOSQ_ERR_INVAL;
  for (const webhookgw::Registration& r : webhookgw::kCallbacks) {
    int rc = mosquitto_callback_register(identifier, r.event, r.callback, nullptr, plugin);
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "webhookgw: callback %d: %s", r.event,
                           mosquitto_strerror(rc));
      webhookgw::Unregister(plugin);
      wgw_adapter_destroy(plugin->adapter, 0);
      delete plugin;
      return rc;
    }
  }
  *userdata = plugin;
  mosquitto_log_printf(MOSQ_LOG_INFO,
                       "webhookgw: started target=%s node=%s basic_auth=%s acl_check=%s "
                       "delivered=%s",
                       plugin->options.target.c_str(), plugin->node.c_str(),
                       webhookgw::AnswerName(plugin->answers.basic_auth),
                       webhookgw::AnswerName(plugin->answers.acl_check),
                       plugin->options.delivered ? "true" : "false");
  plugin->logs.Flush();
  return MOSQ_ERR_SUCCESS;
}

WEBHOOKGW_EXPORT int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt*, int) {
  auto* plugin = static_cast<webhookgw::Plugin*>(userdata);
  if (plugin == nullptr) return MOSQ_ERR_SUCCESS;
  webhookgw::Unregister(plugin);
  wgw_adapter_stats stats{};
  wgw_adapter_get_stats(plugin->adapter, &stats);
  // destroy() waits for acknowledgements; its log lines are relayed below,
  // on this (the broker's) thread.
  wgw_adapter_destroy(plugin->adapter, plugin->options.shutdown_timeout_ms);
  plugin->logs.Flush();
  mosquitto_log_printf(MOSQ_LOG_INFO, "webhookgw: stopped accepted=%llu dropped_full=%llu",
                       static_cast<unsigned long long>(stats.accepted),
                       static_cast<unsigned long long>(stats.dropped_full));
  delete plugin;
  return MOSQ_ERR_SUCCESS;
}
