// webhook-eventgen: emits synthetic broker events through the adapter
// library at a given rate and mix, and reports what it achieved.
//
// Each client runs sessions in order: on_client_connect first (when the mix
// has it), then --session-events events drawn from the rest of the mix, then
// on_client_disconnected last (when the mix has it). Message payloads read
// "c=<clientid> n=<k>" padded with '.' to --payload-bytes, where k counts the
// events emitted for that client from 1, whatever their kind, so a sink can
// check per-client order by seeing k increase (gaps are other kinds or
// drops). Clients take turns, so every client's events interleave with
// everyone else's, as in a real broker.

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "broker_adapter/adapter.h"
#include "nlohmann/json.hpp"

namespace webhookgw {
namespace {

constexpr const char* kUsage = R"(usage: webhook-eventgen --target HOST:PORT [options]

Emits synthetic broker events through the adapter library and reports the
rate accepted and acknowledged, ack latency (emit to the covering ack) and
drops.

  --target T          gRPC target of the gateways (required)
  --node N            broker node name (default eventgen)
  --streams N         adapter streams (default 4)
  --rate N            events per second; 0 = as fast as the queue has room
                      (default 0)
  --count N           events to emit (default 100000 unless --duration)
  --duration S        seconds to emit for, instead of --count
  --kinds LIST        mix: comma list of kind[:weight], kinds named as in
                      config (on_message_publish) or short (publish,
                      connect, connack, connected, disconnected, subscribe,
                      unsubscribe, subscribed, unsubscribed, terminated,
                      delivered, acked) (default connect,publish:8,disconnected)
  --clients N         distinct client ids c0..c<N-1> (default 1000)
  --session-events N  events between a client's connect and disconnect
                      (default 20)
  --payload-bytes N   message payload size, at least the order tag (default 64)
  --topics N          distinct topics (default 100)
  --topic-pattern P   topic text, {n} replaced by the topic number
                      (default sensors/{n}/data)
  --queue-events N    adapter queue bound in events (default 100000)
  --batch-events N    adapter batch size (default 500)
  --linger-ms N       adapter linger (default 5)
  --max-unacked N     adapter unacked events per stream (default 5000)
  --drain-timeout S   seconds to wait for acks after emitting (default 30)
  --ack-timeout-ms N  cancel a stream that hears nothing from its gateway for
                      N ms while events are outstanding (default 20000; 0 off)
  --keepalive-time-ms N, --keepalive-timeout-ms N
                      HTTP/2 keepalive ping interval and ping deadline
                      (default 10000 and 5000)
  --backoff-max-ms N  longest reconnect backoff (default 10000)
  --drop-when-full    shed events when the queue is full (counted), instead
                      of waiting for room; as a broker does
  --wait-streams S    before emitting, wait up to S seconds for every stream
                      to be connected, so that latency figures leave out
                      connection setup (default 0: emit at once)
  --tls-ca FILE       connect over TLS, verifying the gateway against FILE
  --tls-cert FILE     client certificate (PEM) for mutual TLS
  --tls-key FILE      its private key (PEM)
  --tls-server-name N name the gateway's certificate must carry
                      (default: the target's host)
  --token T           bearer token for the gateways (or set WGW_TOKEN, which
                      keeps it out of the process list)
  --json              print one JSON object instead of text
  --verbose           print the adapter's log lines on stderr
)";

struct KindInfo {
  const char* name;
  const char* short_name;
};
constexpr std::array<KindInfo, 12> kKinds = {{
    {"on_client_connect", "connect"},
    {"on_client_connack", "connack"},
    {"on_client_connected", "connected"},
    {"on_client_disconnected", "disconnected"},
    {"on_client_subscribe", "subscribe"},
    {"on_client_unsubscribe", "unsubscribe"},
    {"on_session_subscribed", "subscribed"},
    {"on_session_unsubscribed", "unsubscribed"},
    {"on_session_terminated", "terminated"},
    {"on_message_publish", "publish"},
    {"on_message_delivered", "delivered"},
    {"on_message_acked", "acked"},
}};

struct Flags {
  std::string target;
  std::string node = "eventgen";
  uint32_t streams = 4;
  double rate = 0;
  uint64_t count = 0;
  double duration = 0;
  std::string kinds = "connect,publish:8,disconnected";
  uint32_t clients = 1000;
  uint32_t session_events = 20;
  size_t payload_bytes = 64;
  uint32_t topics = 100;
  std::string topic_pattern = "sensors/{n}/data";
  uint64_t queue_events = 100000;
  uint32_t batch_events = 500;
  uint32_t linger_ms = 5;
  uint32_t max_unacked = 5000;
  uint32_t ack_timeout_ms = 20000;
  uint32_t keepalive_time_ms = 10000;
  uint32_t keepalive_timeout_ms = 5000;
  uint32_t backoff_max_ms = 10000;
  bool drop_when_full = false;
  double drain_timeout = 30;
  double wait_streams = 0;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string token;
  bool json = false;
  bool verbose = false;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "webhook-eventgen: %s\n", message.c_str());
  std::exit(2);
}

template <typename T>
T Number(const std::string& flag, const char* value) {
  T out{};
  bool ok;
  if constexpr (std::is_same_v<T, double>) {
    ok = absl::SimpleAtod(value, &out);
  } else {
    ok = absl::SimpleAtoi(value, &out);
  }
  if (!ok || out < 0)
    Fail(absl::StrCat(flag, ": expected a non-negative number, got \"", value, "\""));
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a == "--json") {
      f.json = true;
      continue;
    }
    if (a == "--drop-when-full") {
      f.drop_when_full = true;
      continue;
    }
    if (a == "--verbose") {
      f.verbose = true;
      continue;
    }
    if (i + 1 >= argc) Fail(absl::StrCat(a, ": missing value (see --help)"));
    const char* v = argv[++i];
    if (a == "--target")
      f.target = v;
    else if (a == "--node")
      f.node = v;
    else if (a == "--streams")
      f.streams = Number<uint32_t>(a, v);
    else if (a == "--rate")
      f.rate = Number<double>(a, v);
    else if (a == "--count")
      f.count = Number<uint64_t>(a, v);
    else if (a == "--duration")
      f.duration = Number<double>(a, v);
    else if (a == "--kinds")
      f.kinds = v;
    else if (a == "--clients")
      f.clients = Number<uint32_t>(a, v);
    else if (a == "--session-events")
      f.session_events = Number<uint32_t>(a, v);
    else if (a == "--payload-bytes")
      f.payload_bytes = Number<size_t>(a, v);
    else if (a == "--topics")
      f.topics = Number<uint32_t>(a, v);
    else if (a == "--topic-pattern")
      f.topic_pattern = v;
    else if (a == "--queue-events")
      f.queue_events = Number<uint64_t>(a, v);
    else if (a == "--batch-events")
      f.batch_events = Number<uint32_t>(a, v);
    else if (a == "--linger-ms")
      f.linger_ms = Number<uint32_t>(a, v);
    else if (a == "--max-unacked")
      f.max_unacked = Number<uint32_t>(a, v);
    else if (a == "--ack-timeout-ms")
      f.ack_timeout_ms = Number<uint32_t>(a, v);
    else if (a == "--keepalive-time-ms")
      f.keepalive_time_ms = Number<uint32_t>(a, v);
    else if (a == "--keepalive-timeout-ms")
      f.keepalive_timeout_ms = Number<uint32_t>(a, v);
    else if (a == "--backoff-max-ms")
      f.backoff_max_ms = Number<uint32_t>(a, v);
    else if (a == "--drain-timeout")
      f.drain_timeout = Number<double>(a, v);
    else if (a == "--wait-streams")
      f.wait_streams = Number<double>(a, v);
    else if (a == "--tls-ca")
      f.tls_ca = v;
    else if (a == "--tls-cert")
      f.tls_cert = v;
    else if (a == "--tls-key")
      f.tls_key = v;
    else if (a == "--tls-server-name")
      f.tls_server_name = v;
    else if (a == "--token")
      f.token = v;
    else
      Fail(absl::StrCat("unknown flag ", a, " (see --help)"));
  }
  if (f.target.empty()) Fail("--target is required (see --help)");
  if (f.clients == 0 || f.topics == 0) Fail("--clients and --topics must be positive");
  if (f.count == 0 && f.duration == 0) f.count = 100000;
  return f;
}

// The event mix: lifecycle kinds bracket sessions, the rest are drawn by
// weight.
struct Mix {
  bool connect = false;
  bool disconnect = false;
  std::vector<wgw_event_kind> kinds;
  std::vector<double> weights;
};

Mix ParseMix(const std::string& text) {
  Mix mix;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    double weight = 1;
    if (parts.size() == 2) weight = Number<double>("--kinds", parts[1].c_str());
    if (parts.size() > 2 || weight <= 0) Fail(absl::StrCat("--kinds: bad item \"", item, "\""));
    int kind = -1;
    for (int k = 0; k < 12; ++k) {
      if (parts[0] == kKinds[k].name || parts[0] == kKinds[k].short_name) kind = k;
    }
    if (kind < 0) Fail(absl::StrCat("--kinds: unknown event \"", parts[0], "\""));
    if (kind == WGW_CLIENT_CONNECT) {
      mix.connect = true;
    } else if (kind == WGW_CLIENT_DISCONNECTED) {
      mix.disconnect = true;
    } else {
      mix.kinds.push_back(static_cast<wgw_event_kind>(kind));
      mix.weights.push_back(weight);
    }
  }
  if (mix.kinds.empty() && !mix.connect && !mix.disconnect) Fail("--kinds: no event kinds");
  return mix;
}

// Ack latencies in buckets growing by 5%, from 1 µs; filled by the adapter's
// on_acked hook, which runs under the adapter's lock, so it needs none.
class Histogram {
 public:
  void Add(absl::Duration d) {
    const double us = std::max(1.0, absl::ToDoubleMicroseconds(d));
    size_t b = static_cast<size_t>(std::log(us) / std::log(1.05));
    buckets_[std::min(b, buckets_.size() - 1)]++;
    ++total_;
  }
  // The latency below which a fraction q of samples fall, in ms.
  double QuantileMs(double q) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
    uint64_t seen = 0;
    for (size_t b = 0; b < buckets_.size(); ++b) {
      seen += buckets_[b];
      if (seen >= rank) return std::pow(1.05, static_cast<double>(b + 1)) / 1000.0;
    }
    return 0;
  }

 private:
  std::array<uint64_t, 500> buckets_{};  // 1.05^500 µs is far beyond any run
  uint64_t total_ = 0;
};

struct ClientState {
  std::string id;
  std::string username;
  bool connected = false;
  uint32_t in_session = 0;
  uint64_t n = 0;  // events emitted for this client
};

int Main(int argc, char** argv) {
  // Debian's Abseil checks every lock for deadlock cycles (behind one global
  // lock), which costs the generator CPU the measured path needs.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const Flags flags = ParseFlags(argc, argv);
  const Mix mix = ParseMix(flags.kinds);
  auto histogram = std::make_shared<Histogram>();

  AdapterOptions options;
  options.target = flags.target;
  options.node = flags.node;
  options.streams = flags.streams;
  options.queue_max_events = flags.queue_events;
  options.batch_max_events = flags.batch_events;
  options.linger = absl::Milliseconds(flags.linger_ms);
  options.max_unacked_per_stream = flags.max_unacked;
  options.ack_timeout = absl::Milliseconds(flags.ack_timeout_ms);
  options.keepalive_time = absl::Milliseconds(flags.keepalive_time_ms);
  options.keepalive_timeout = absl::Milliseconds(flags.keepalive_timeout_ms);
  options.backoff_max = absl::Milliseconds(flags.backoff_max_ms);
  options.tls_ca_file = flags.tls_ca;
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  options.tls_server_name = flags.tls_server_name;
  options.token = flags.token;
  if (options.token.empty()) {
    if (const char* env = std::getenv("WGW_TOKEN"); env != nullptr) options.token = env;
  }
  options.on_acked = [histogram](absl::Duration d) { histogram->Add(d); };
  if (flags.verbose) {
    options.log = [](wgw_log_level level, const std::string& m) {
      std::fprintf(stderr, "[%d] %s\n", static_cast<int>(level), m.c_str());
    };
  }
  auto adapter_or = Adapter::Create(options);
  if (!adapter_or.ok()) Fail(std::string(adapter_or.status().message()));
  std::unique_ptr<Adapter> adapter = *std::move(adapter_or);

  std::vector<ClientState> clients(flags.clients);
  for (uint32_t i = 0; i < flags.clients; ++i) {
    clients[i].id = absl::StrCat("c", i);
    clients[i].username = absl::StrCat("user", i % 10);
  }
  std::vector<std::string> topics(flags.topics);
  for (uint32_t i = 0; i < flags.topics; ++i) {
    topics[i] = flags.topic_pattern;
    const size_t at = topics[i].find("{n}");
    if (at != std::string::npos) topics[i].replace(at, 3, std::to_string(i));
  }
  std::mt19937_64 rng(42);
  std::discrete_distribution<size_t> pick(mix.weights.begin(), mix.weights.end());
  std::string payload;

  if (flags.wait_streams > 0) {
    const absl::Time give_up = absl::Now() + absl::Seconds(flags.wait_streams);
    while (adapter->GetStats().streams_up < flags.streams && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (adapter->GetStats().streams_up < flags.streams) {
      Fail(absl::StrCat("only ", adapter->GetStats().streams_up, " of ", flags.streams,
                        " streams connected after --wait-streams ", flags.wait_streams, " s"));
    }
  }

  uint64_t emitted = 0;
  uint64_t retried = 0;
  const absl::Time start = absl::Now();
  const absl::Time end =
      flags.duration > 0 ? start + absl::Seconds(flags.duration) : absl::InfiniteFuture();
  for (uint64_t i = 0;; ++i) {
    if (flags.count > 0 && emitted >= flags.count) break;
    if ((i & 255) == 0 && absl::Now() >= end) break;
    if (flags.rate > 0) {
      const absl::Time due = start + absl::Seconds(static_cast<double>(i) / flags.rate);
      const absl::Duration ahead = due - absl::Now();
      if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
    }

    ClientState& c = clients[i % clients.size()];
    wgw_event ev{};
    wgw_event_kind kind;
    if (mix.connect && !c.connected) {
      kind = WGW_CLIENT_CONNECT;
      c.connected = true;
      c.in_session = 0;
    } else if (mix.disconnect && (mix.kinds.empty() || c.in_session >= flags.session_events)) {
      kind = WGW_CLIENT_DISCONNECTED;
      c.connected = false;
    } else if (mix.kinds.empty()) {
      kind = WGW_CLIENT_CONNECT;
    } else {
      kind = mix.kinds[pick(rng)];
      ++c.in_session;
      if (!mix.connect && mix.disconnect) c.connected = true;
    }
    ++c.n;
    ev.kind = kind;
    ev.clientid = c.id.c_str();
    ev.username = c.username.c_str();
    ev.ipaddress = "10.0.0.1";
    ev.keepalive = 60;
    ev.proto_ver = 4;
    ev.reason = "normal";
    ev.topic = topics[i % topics.size()].c_str();
    ev.qos = 1;
    const ClientState& peer = clients[(i + 1) % clients.size()];
    ev.from_client_id = kind == WGW_MESSAGE_PUBLISH ? nullptr : peer.id.c_str();
    ev.from_username = kind == WGW_MESSAGE_PUBLISH ? nullptr : peer.username.c_str();
    payload = absl::StrCat("c=", c.id, " n=", c.n);
    if (payload.size() < flags.payload_bytes) payload.resize(flags.payload_bytes, '.');
    ev.payload = payload.data();
    ev.payload_len = payload.size();

    v1::Event proto;
    if (!EventFromC(ev, &proto).ok()) Fail("internal: generated an invalid event");
    bool stuck = false;
    absl::Time waiting_since = absl::InfiniteFuture();
    for (;;) {
      const int rc = adapter->Emit(proto);
      if (rc != WGW_DROPPED_FULL || flags.rate > 0 || flags.drop_when_full) break;
      // As fast as acks allow: wait for room instead of shedding, but not
      // forever when no gateway acks at all.
      const absl::Time now = absl::Now();
      if (waiting_since == absl::InfiniteFuture()) waiting_since = now;
      if (now - waiting_since > absl::Seconds(flags.drain_timeout)) {
        stuck = true;
        break;
      }
      ++retried;
      // The queue holds a second or more of events at any rate the path
      // sustains, so a millisecond's wait never lets it run dry, and the
      // generator does not take the CPU the gateway needs by retrying.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ++emitted;
    if (stuck) {
      std::fprintf(stderr, "webhook-eventgen: no room in the queue for %.0f s; is a gateway up?\n",
                   flags.drain_timeout);
      break;
    }
  }
  const absl::Time emit_end = absl::Now();

  // Wait for the acks, then stop; what is left is counted as stopped.
  const absl::Time drain_deadline = absl::Now() + absl::Seconds(flags.drain_timeout);
  wgw_adapter_stats s = adapter->GetStats();
  while (s.queue_events > 0 && absl::Now() < drain_deadline) {
    absl::SleepFor(absl::Milliseconds(1));
    s = adapter->GetStats();
  }
  const absl::Time ack_end = absl::Now();
  adapter->Shutdown(absl::ZeroDuration());
  s = adapter->GetStats();

  const double emit_s = absl::ToDoubleSeconds(emit_end - start);
  const double ack_s = absl::ToDoubleSeconds(ack_end - start);
  nlohmann::json out = {
      {"emitted", emitted},
      {"accepted", s.accepted},
      {"acked", s.acked},
      {"sent", s.sent},
      {"resent", s.resent},
      {"dropped_full", s.dropped_full - retried},
      {"dropped_invalid", s.dropped_invalid},
      {"dropped_stopped", s.dropped_stopped},
      {"ack_timeouts", s.ack_timeouts},
      {"full_retries", retried},
      {"emit_seconds", emit_s},
      {"ack_seconds", ack_s},
      {"accepted_per_second", emit_s > 0 ? static_cast<double>(s.accepted) / emit_s : 0},
      {"acked_per_second", ack_s > 0 ? static_cast<double>(s.acked) / ack_s : 0},
      {"ack_latency_ms_p50", histogram->QuantileMs(0.50)},
      {"ack_latency_ms_p99", histogram->QuantileMs(0.99)},
      {"streams", flags.streams},
  };
  if (flags.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "emitted %llu in %.2f s: accepted %llu (%.0f/s), acked %llu (%.0f/s over %.2f s)\n"
        "ack latency p50 %.2f ms, p99 %.2f ms\n"
        "sent %llu, resent %llu, dropped: full %llu, invalid %llu, stopped %llu "
        "(waited for room %llu times), ack timeouts %llu\n",
        static_cast<unsigned long long>(emitted), emit_s,
        static_cast<unsigned long long>(s.accepted), out["accepted_per_second"].get<double>(),
        static_cast<unsigned long long>(s.acked), out["acked_per_second"].get<double>(), ack_s,
        histogram->QuantileMs(0.50), histogram->QuantileMs(0.99),
        static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.resent),
        static_cast<unsigned long long>(s.dropped_full - retried),
        static_cast<unsigned long long>(s.dropped_invalid),
        static_cast<unsigned long long>(s.dropped_stopped),
        static_cast<unsigned long long>(retried), static_cast<unsigned long long>(s.ack_timeouts));
  }
  return s.dropped_stopped == 0 ? 0 : 1;
}

}  // namespace
}  // namespace webhookgw

int main(int argc, char** argv) { return webhookgw::Main(argc, argv); }
