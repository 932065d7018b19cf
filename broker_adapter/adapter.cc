#include "broker_adapter/adapter.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gateway/event_kind.h"

namespace webhookgw {
namespace {

constexpr char kAdapterName[] = "webhookgw-adapter/0.1";
constexpr uint32_t kProtocolVersion = 1;
// Log lines that callbacks may queue for the pump before new ones are
// counted instead; state changes are few, so this is never reached in
// practice but keeps memory bounded if a gateway flaps very fast.
constexpr size_t kMaxPendingLogs = 1000;

bool ValidUtf8(const char* s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  while (*p != 0) {
    int extra;
    uint32_t cp;
    if (*p < 0x80) {
      ++p;
      continue;
    } else if ((*p & 0xE0) == 0xC0) {
      extra = 1;
      cp = *p & 0x1F;
    } else if ((*p & 0xF0) == 0xE0) {
      extra = 2;
      cp = *p & 0x0F;
    } else if ((*p & 0xF8) == 0xF0) {
      extra = 3;
      cp = *p & 0x07;
    } else {
      return false;
    }
    ++p;
    for (int i = 0; i < extra; ++i, ++p) {
      if ((*p & 0xC0) != 0x80) return false;  // also stops at the NUL
      cp = (cp << 6) | (*p & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  }
  return true;
}

// Copies a C string into a proto field: NULL is an error when required and
// leaves the field untouched when not.
absl::Status Copy(const char* s, const char* name, bool required, std::string* out) {
  if (s == nullptr) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("event: ", name, " is NULL"));
    return absl::OkStatus();
  }
  if (!ValidUtf8(s)) {
    return absl::InvalidArgumentError(absl::StrCat("event: ", name, " is not valid UTF-8"));
  }
  out->assign(s);
  return absl::OkStatus();
}

// Fills the common fields of the connect-like messages.
template <typename M>
absl::Status FillConnection(const wgw_event& in, M* m) {
  if (auto s = Copy(in.clientid, "clientid", true, m->mutable_clientid()); !s.ok()) return s;
  if (in.username != nullptr) {
    if (auto s = Copy(in.username, "username", false, m->mutable_username()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Fills the message fields shared by delivered and acked.
template <typename M>
absl::Status FillMessage(const wgw_event& in, M* m) {
  if (auto s = FillConnection(in, m); !s.ok()) return s;
  if (auto s = Copy(in.from_client_id, "from_client_id", false, m->mutable_from_client_id());
      !s.ok()) {
    return s;
  }
  if (in.from_username != nullptr) {
    if (auto s = Copy(in.from_username, "from_username", false, m->mutable_from_username());
        !s.ok()) {
      return s;
    }
  }
  if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
  m->set_qos(in.qos);
  m->set_retain(in.retain != 0);
  m->set_payload(static_cast<const char*>(in.payload), in.payload_len);
  return absl::OkStatus();
}

absl::Status FillKind(const wgw_event& in, int kind, const google::protobuf::Timestamp& time,
                      v1::Event* out) {
  switch (kind) {
    case WGW_CLIENT_CONNECT: {
      auto* m = out->mutable_client_connect();
      m->set_keepalive(in.keepalive);
      m->set_proto_ver(in.proto_ver);
      if (auto s = Copy(in.ipaddress, "ipaddress", false, m->mutable_ipaddress()); !s.ok()) {
        return s;
      }
      return FillConnection(in, m);
    }
    case WGW_CLIENT_CONNACK: {
      auto* m = out->mutable_client_connack();
      m->set_keepalive(in.keepalive);
      m->set_proto_ver(in.proto_ver);
      m->set_reason_code(in.reason_code);
      *m->mutable_connected_at() = time;
      if (auto s = Copy(in.ipaddress, "ipaddress", false, m->mutable_ipaddress()); !s.ok()) {
        return s;
      }
      return FillConnection(in, m);
    }
    case WGW_CLIENT_CONNECTED: {
      auto* m = out->mutable_client_connected();
      m->set_keepalive(in.keepalive);
      m->set_proto_ver(in.proto_ver);
      *m->mutable_connected_at() = time;
      if (auto s = Copy(in.ipaddress, "ipaddress", false, m->mutable_ipaddress()); !s.ok()) {
        return s;
      }
      return FillConnection(in, m);
    }
    case WGW_CLIENT_DISCONNECTED: {
      auto* m = out->mutable_client_disconnected();
      *m->mutable_disconnected_at() = time;
      if (auto s = Copy(in.reason, "reason", false, m->mutable_reason()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_CLIENT_SUBSCRIBE: {
      auto* m = out->mutable_client_subscribe();
      m->set_qos(in.qos);
      if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_CLIENT_UNSUBSCRIBE: {
      auto* m = out->mutable_client_unsubscribe();
      if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_SESSION_SUBSCRIBED: {
      auto* m = out->mutable_session_subscribed();
      m->set_qos(in.qos);
      if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_SESSION_UNSUBSCRIBED: {
      auto* m = out->mutable_session_unsubscribed();
      if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_SESSION_TERMINATED: {
      auto* m = out->mutable_session_terminated();
      if (auto s = Copy(in.reason, "reason", false, m->mutable_reason()); !s.ok()) return s;
      return FillConnection(in, m);
    }
    case WGW_MESSAGE_PUBLISH: {
      // The publisher is the client the event is about; a broker may name
      // it in either field, and from_client_id wins when both are set.
      auto* m = out->mutable_message_publish();
      const bool from = in.from_client_id != nullptr;
      const char* id = from ? in.from_client_id : in.clientid;
      const char* user = from ? in.from_username : in.username;
      if (auto s = Copy(id, "clientid", true, m->mutable_from_client_id()); !s.ok()) return s;
      if (user != nullptr) {
        if (auto s = Copy(user, "username", false, m->mutable_from_username()); !s.ok()) return s;
      }
      if (auto s = Copy(in.topic, "topic", true, m->mutable_topic()); !s.ok()) return s;
      m->set_qos(in.qos);
      m->set_retain(in.retain != 0);
      m->set_payload(static_cast<const char*>(in.payload), in.payload_len);
      return absl::OkStatus();
    }
    case WGW_MESSAGE_DELIVERED:
      return FillMessage(in, out->mutable_message_delivered());
    case WGW_MESSAGE_ACKED:
      return FillMessage(in, out->mutable_message_acked());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("event: kind ", kind, " is not one of the twelve event kinds"));
}

// The kind as the C caller stored it. Read as an int, because a value
// outside the enumerators may not be loaded as the enum type in C++.
int RawKind(const wgw_event& in) {
  static_assert(sizeof(in.kind) == sizeof(int), "wgw_event_kind must be int-sized");
  int kind;
  std::memcpy(&kind, &in.kind, sizeof kind);
  return kind;
}

// Stable across processes and platforms (unlike std::hash), so a client's
// stream index only depends on its id and the stream count.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Codes after which retrying the same bytes cannot succeed until someone
// fixes the deployment; the adapter keeps retrying, slowly, so that nothing
// is lost once it is fixed.
bool NeedsOperator(grpc::StatusCode code) {
  return code == grpc::StatusCode::INVALID_ARGUMENT ||
         code == grpc::StatusCode::FAILED_PRECONDITION ||
         code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::UNIMPLEMENTED;
}

}  // namespace

absl::Status EventFromC(const wgw_event& in, v1::Event* out) {
  const int kind = RawKind(in);
  if (kind < 0 || kind >= kEventKindCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("event: kind ", kind, " is not one of the twelve event kinds"));
  }
  if (in.payload == nullptr && in.payload_len != 0) {
    return absl::InvalidArgumentError("event: payload is NULL with a non-zero length");
  }
  const int64_t ms = in.time_ms != 0 ? in.time_ms : absl::ToUnixMillis(absl::Now());
  google::protobuf::Timestamp time;
  time.set_seconds(ms / 1000);
  time.set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
  if (time.nanos() < 0) {  // times before 1970 round towards minus infinity
    time.set_seconds(time.seconds() - 1);
    time.set_nanos(time.nanos() + 1000000000);
  }
  *out->mutable_time() = time;
  return FillKind(in, kind, time, out);
}

AdapterOptions AdapterOptionsFromC(const wgw_adapter_options& in) {
  AdapterOptions o;
  o.target = in.target != nullptr ? in.target : "";
  o.node = in.node != nullptr ? in.node : "";
  o.streams = in.streams;
  o.queue_max_events = in.queue_max_events;
  o.queue_max_bytes = in.queue_max_bytes;
  o.drop_policy = in.drop_policy;
  o.batch_max_events = in.batch_max_events;
  o.batch_max_bytes = in.batch_max_bytes;
  o.linger = absl::Milliseconds(in.linger_ms);
  o.max_unacked_per_stream = in.max_unacked_per_stream;
  o.backoff_initial = absl::Milliseconds(in.backoff_initial_ms);
  o.backoff_max = absl::Milliseconds(in.backoff_max_ms);
  o.ack_timeout = absl::Milliseconds(in.ack_timeout_ms);
  o.keepalive_time = absl::Milliseconds(in.keepalive_time_ms);
  o.keepalive_timeout = absl::Milliseconds(in.keepalive_timeout_ms);
  auto text = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
  o.tls_ca_file = text(in.tls_ca_file);
  o.tls_cert_file = text(in.tls_cert_file);
  o.tls_key_file = text(in.tls_key_file);
  o.tls_server_name = text(in.tls_server_name);
  o.token = text(in.token);
  if (in.log != nullptr) {
    wgw_log_fn fn = in.log;
    void* ctx = in.log_ctx;
    o.log = [fn, ctx](wgw_log_level level, const std::string& m) { fn(ctx, level, m.c_str()); };
  }
  return o;
}

// One EventGateway.Stream call. Its callbacks only forward to the adapter;
// the pump thread is the only caller of Start*, RemoveHold and TryCancel,
// and deletes the call after OnDone, so no callback can outlive it.
class Adapter::Call : public grpc::ClientBidiReactor<v1::StreamRequest, v1::StreamResponse> {
 public:
  Call(Adapter* adapter, Shard* shard, CallState* state)
      : adapter_(adapter), shard_(shard), state_(state) {}

  void OnWriteDone(bool ok) override { adapter_->OnWriteDone(*shard_, *state_, ok); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      adapter_->OnReadFailed(*shard_, *state_);
      return;
    }
    adapter_->OnResponse(*shard_, *state_, response);
    StartRead(&response);
  }

  void OnDone(const grpc::Status& status) override { adapter_->OnDone(*shard_, *state_, status); }

  grpc::ClientContext context;
  v1::StreamRequest request;  // the write in flight; rebuilt only between writes
  v1::StreamResponse response;

 private:
  Adapter* const adapter_;
  Shard* const shard_;
  CallState* const state_;
};

namespace {

absl::StatusOr<std::string> ReadPem(const char* what, const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("adapter: ", what, " ", path, ": cannot read or empty"));
  }
  return text.str();
}

// Plaintext unless a CA is given; TLS files are read here, once, so that a
// wrong path fails Create instead of every connection attempt.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    const AdapterOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "adapter: tls_cert_file and tls_key_file go together; give both or neither");
  }
  if (options.tls_ca_file.empty()) {
    if (!options.tls_cert_file.empty() || !options.tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "adapter: tls_cert_file and tls_server_name need tls_ca_file (TLS is off without it)");
    }
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  absl::StatusOr<std::string> ca = ReadPem("tls_ca_file", options.tls_ca_file);
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("tls_cert_file", options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("tls_key_file", options.tls_key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Adapter>> Adapter::Create(AdapterOptions options) {
  if (options.target.empty()) return absl::InvalidArgumentError("adapter: target is empty");
  if (options.node.empty()) return absl::InvalidArgumentError("adapter: node is empty");
  if (options.streams == 0 || options.streams > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("adapter: streams must be 1 to 256, got ", options.streams));
  }
  if (options.queue_max_events == 0 || options.queue_max_bytes == 0) {
    return absl::InvalidArgumentError("adapter: queue bounds must be positive");
  }
  if (options.drop_policy != WGW_DROP_NEWEST && options.drop_policy != WGW_DROP_OLDEST) {
    return absl::InvalidArgumentError("adapter: drop_policy is neither newest nor oldest");
  }
  if (options.batch_max_events == 0 || options.batch_max_events > kMaxBatchEvents) {
    return absl::InvalidArgumentError(absl::StrCat("adapter: batch_max_events must be 1 to ",
                                                   kMaxBatchEvents, ", got ",
                                                   options.batch_max_events));
  }
  if (options.batch_max_bytes == 0 || options.max_unacked_per_stream == 0) {
    return absl::InvalidArgumentError(
        "adapter: batch_max_bytes and max_unacked_per_stream must be positive");
  }
  if (options.backoff_initial <= absl::ZeroDuration() ||
      options.backoff_max < options.backoff_initial) {
    return absl::InvalidArgumentError(
        "adapter: backoff must satisfy 0 < backoff_initial <= backoff_max");
  }
  if (options.keepalive_time < absl::Seconds(1) || options.keepalive_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "adapter: keepalive_time and keepalive_timeout must be at least 1 s");
  }
  if (options.ack_timeout != absl::ZeroDuration() && options.ack_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("adapter: ack_timeout must be 0 (off) or at least 1 s");
  }
  if (options.token.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    return absl::InvalidArgumentError("adapter: token contains CR, LF or NUL");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      ChannelCredentials(options);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<Adapter> adapter(new Adapter(std::move(options), *std::move(credentials)));
  adapter->pump_ = std::thread([a = adapter.get()] { a->Run(); });
  return adapter;
}

Adapter::Adapter(AdapterOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials)
    : options_(std::move(options)),
      incarnation_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {
  // All streams share one channel with round_robin: each new call is
  // picked onto the next connected gateway in turn, so the streams started
  // one after another land evenly on the gateways the target resolves to,
  // and a stream reopened after a failure moves on to the next one. Streams
  // on the same gateway share its HTTP/2 connection.
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  // Keepalive pings find a gateway that went silent (its node or network
  // gone, so no reset ever arrives); the connection is then dropped and its
  // calls fail. Pings continue while a stream idles (no data to send), or a
  // silent gateway would only be noticed at the next batch.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.backoff_initial)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.backoff_max)));
  args.SetMaxSendMessageSize(-1);
  if (!options_.tls_server_name.empty()) args.SetSslTargetNameOverride(options_.tls_server_name);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options_.target, credentials, args);
  channel->GetState(/*try_to_connect=*/true);
  for (uint32_t i = 0; i < options_.streams; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->index = i;
    shard->channel = channel;
    shard->stub = v1::EventGateway::NewStub(channel);
    shards_.push_back(std::move(shard));
  }
}

Adapter::~Adapter() {
  if (!shut_down_) Shutdown(absl::ZeroDuration());
}

uint32_t Adapter::ShardOf(const v1::Event& event) const {
  return static_cast<uint32_t>(Fnv1a(ClientIdOf(event)) % shards_.size());
}

void Adapter::CountInvalid() { dropped_invalid_.fetch_add(1, std::memory_order_relaxed); }

int Adapter::Emit(v1::Event event) {
  if (event.kind_case() == v1::Event::KIND_NOT_SET) {
    CountInvalid();
    return WGW_DROPPED_INVALID;
  }
  Shard& shard = *shards_[ShardOf(event)];
  event.set_node(options_.node);
  event.set_incarnation(incarnation_);
  // The sequence is stamped under the lock; reserve its largest encoding.
  const uint64_t bytes = event.ByteSizeLong() + 11;
  if (bytes > kMaxEventBytes) {
    CountInvalid();
    return WGW_DROPPED_INVALID;
  }
  const absl::Time now = absl::Now();
  // Allocated before the lock, and released after it on the refusal paths.
  auto shared = std::make_shared<v1::Event>(std::move(event));

  absl::MutexLock lock(&mu_);
  if (stopped_) {
    dropped_stopped_.fetch_add(1, std::memory_order_relaxed);
    return WGW_DROPPED_STOPPED;
  }
  if (bytes > options_.queue_max_bytes) {  // would evict everything in vain
    dropped_full_.fetch_add(1, std::memory_order_relaxed);
    return WGW_DROPPED_FULL;
  }
  while (held_events_ + 1 > options_.queue_max_events ||
         held_bytes_ + bytes > options_.queue_max_bytes) {
    if (options_.drop_policy == WGW_DROP_NEWEST || !EvictOldestLocked()) {
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return WGW_DROPPED_FULL;
    }
  }
  shared->set_sequence(next_sequence_++);
  const bool was_empty = shard.unsent.size() == shard.resend_prefix;
  shard.unsent.push_back(Entry{std::move(shared), bytes, now});
  shard.unsent_bytes += bytes;
  held_events_ += 1;
  held_bytes_ += bytes;
  accepted_.fetch_add(1, std::memory_order_relaxed);
  // Wake the pump only when a linger timer starts or a batch fills, not for
  // every event: most emits then cost no system call.
  const uint64_t fresh = shard.unsent.size() - shard.resend_prefix;
  if (was_empty || fresh == options_.batch_max_events ||
      (shard.unsent_bytes >= options_.batch_max_bytes &&
       shard.unsent_bytes - bytes < options_.batch_max_bytes)) {
    wake_ = true;
    cv_.Signal();
  }
  return WGW_OK;
}

bool Adapter::EvictOldestLocked() {
  Shard* victim = nullptr;
  uint64_t oldest = 0;
  for (auto& shard : shards_) {
    if (shard->resend_prefix >= shard->unsent.size()) continue;
    const uint64_t seq = shard->unsent[shard->resend_prefix].event->sequence();
    if (victim == nullptr || seq < oldest) {
      victim = shard.get();
      oldest = seq;
    }
  }
  if (victim == nullptr) return false;
  auto it = victim->unsent.begin() + static_cast<ptrdiff_t>(victim->resend_prefix);
  victim->unsent_bytes -= it->bytes;
  held_events_ -= 1;
  held_bytes_ -= it->bytes;
  victim->unsent.erase(it);
  dropped_full_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

wgw_adapter_stats Adapter::GetStats() {
  wgw_adapter_stats s{};
  {
    absl::MutexLock lock(&mu_);
    s.queue_events = held_events_;
    s.queue_bytes = held_bytes_;
    s.streams_up = streams_up_;
  }
  s.accepted = accepted_.load(std::memory_order_relaxed);
  s.sent = sent_.load(std::memory_order_relaxed);
  s.acked = acked_.load(std::memory_order_relaxed);
  s.resent = resent_.load(std::memory_order_relaxed);
  s.dropped_full = dropped_full_.load(std::memory_order_relaxed);
  s.dropped_invalid = dropped_invalid_.load(std::memory_order_relaxed);
  s.dropped_stopped = dropped_stopped_.load(std::memory_order_relaxed);
  s.ack_timeouts = ack_timeouts_.load(std::memory_order_relaxed);
  return s;
}

void Adapter::LogLocked(wgw_log_level level, std::string message) {
  if (!options_.log) return;
  if (logs_.size() >= kMaxPendingLogs) {
    ++logs_dropped_;
    return;
  }
  logs_.emplace_back(level, std::move(message));
  wake_ = true;
  cv_.Signal();
}

absl::Duration Adapter::BackoffLocked(Shard& shard) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  absl::Duration base = options_.backoff_initial;
  for (int i = 1; i < shard.failures && base < options_.backoff_max; ++i) base *= 2;
  base = std::min(base, options_.backoff_max);
  // Full jitter over the upper half keeps reconnects of many brokers apart
  // while still growing.
  std::uniform_real_distribution<double> half(0.5, 1.0);
  return base * half(rng);
}

void Adapter::RequeueLocked(Shard& shard, std::deque<Entry>& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    it->sent_before = true;
    shard.unsent_bytes += it->bytes;
    shard.unsent.push_front(std::move(*it));
    ++shard.resend_prefix;
  }
  entries.clear();
}

std::vector<std::shared_ptr<const v1::Event>> Adapter::TakeBatchLocked(Shard& shard,
                                                                       CallState& cs) {
  std::vector<std::shared_ptr<const v1::Event>> batch;
  uint64_t bytes = 0;
  if (cs.inflight.empty()) cs.waiting_since = absl::Now();
  while (!shard.unsent.empty() && batch.size() < options_.batch_max_events &&
         cs.inflight.size() < options_.max_unacked_per_stream) {
    Entry& e = shard.unsent.front();
    if (!batch.empty() && bytes + e.bytes > options_.batch_max_bytes) break;
    batch.push_back(e.event);
    bytes += e.bytes;
    if (e.sent_before) {
      resent_.fetch_add(1, std::memory_order_relaxed);
      --shard.resend_prefix;
    }
    e.stream_seq = cs.next_seq++;
    shard.unsent_bytes -= e.bytes;
    cs.inflight.push_back(std::move(e));
    shard.unsent.pop_front();
  }
  sent_.fetch_add(batch.size(), std::memory_order_relaxed);
  return batch;
}

void Adapter::CheckAckTimeoutLocked(Shard& shard, CallState& cs, absl::Time now, absl::Time* wake,
                                    std::vector<std::function<void()>>* actions) {
  if (options_.ack_timeout == absl::ZeroDuration() || cs.cancel_requested || cs.done ||
      cs.waiting_since == absl::InfiniteFuture()) {
    return;
  }
  const absl::Time due = cs.waiting_since + options_.ack_timeout;
  if (now < due) {
    *wake = std::min(*wake, due);
    return;
  }
  // The gateway said nothing for ack_timeout although it repeats its ack
  // every few seconds while it holds events: it, or the way to it, is gone.
  // Cancelling ends the call locally at once; OnDone then requeues what it
  // held, in order, for the next call.
  cs.cancel_requested = true;
  cs.broken = true;
  ack_timeouts_.fetch_add(1, std::memory_order_relaxed);
  LogLocked(WGW_LOG_WARN, absl::StrCat("adapter: stream ", shard.index, " ack timeout call=", cs.id,
                                       " silent_for=", absl::FormatDuration(now - cs.waiting_since),
                                       " unacked=", cs.inflight.size(), " peer=", cs.peer));
  Call* call = cs.call;
  actions->push_back([call] { call->context.TryCancel(); });
}

bool Adapter::FirstCallDueLocked(Shard& shard, absl::Time now, absl::Time* wake) {
  // round_robin picks only among gateways already connected, so a call
  // started the moment the first connection is up would land there for
  // every stream. Waiting until the channel is READY and then a little
  // longer lets the other addresses connect too, and the picker's random
  // start then spreads the streams. A target that never connects gets its
  // first call anyway after kFirstCallWait, which then fails and backs off.
  static constexpr absl::Duration kFirstCallWait = absl::Seconds(1);
  static constexpr absl::Duration kSettle = absl::Milliseconds(250);
  if (shard.created == absl::InfinitePast()) shard.created = now;
  if (now >= shard.created + kFirstCallWait) return true;
  if (shard.ready_since == absl::InfiniteFuture() &&
      shard.channel->GetState(false) == GRPC_CHANNEL_READY) {
    shard.ready_since = now;
  }
  const absl::Time due = std::min(shard.created + kFirstCallWait, shard.ready_since + kSettle);
  if (now >= due) return true;
  *wake = std::min(*wake, std::min(due, now + absl::Milliseconds(10)));
  return false;
}

void Adapter::PlanShardLocked(Shard& shard, absl::Time now, absl::Time* wake,
                              std::vector<std::function<void()>>* actions) {
  // Reap calls whose OnDone ran; their entries were requeued there.
  for (auto it = shard.calls.begin(); it != shard.calls.end();) {
    if ((*it)->done) {
      delete (*it)->call;
      it = shard.calls.erase(it);
    } else {
      ++it;
    }
  }

  for (auto& cs : shard.calls) {
    Call* call = cs->call;
    if (stopping_) {
      if (!cs->cancel_requested) {
        cs->cancel_requested = true;
        actions->push_back([call] { call->context.TryCancel(); });
      }
      if (!cs->hold_released) {
        cs->hold_released = true;
        actions->push_back([call] { call->RemoveHold(); });
      }
      continue;
    }
    CheckAckTimeoutLocked(shard, *cs, now, wake, actions);
    // A call that can take no more writes lets go of its hold so that it
    // can finish; one that got a GoAway half-closes first.
    if ((cs->draining || cs->broken) && !cs->hold_released && !cs->write_in_flight) {
      cs->hold_released = true;
      const bool half_close = !cs->broken;
      actions->push_back([call, half_close] {
        if (half_close) call->StartWritesDone();
        call->RemoveHold();
      });
    }
  }
  if (stopping_) return;

  if (shard.current == nullptr) {
    if (now < shard.retry_at) {
      *wake = std::min(*wake, shard.retry_at);
      return;
    }
    if (!shard.started && !FirstCallDueLocked(shard, now, wake)) return;
    shard.started = true;
    auto cs = std::make_unique<CallState>();
    cs->id = next_call_id_++;
    cs->call = new Call(this, &shard, cs.get());
    cs->write_in_flight = true;
    v1::StreamHello* hello = cs->call->request.mutable_hello();
    hello->set_protocol_version(kProtocolVersion);
    hello->set_node(options_.node);
    hello->set_adapter(kAdapterName);
    hello->set_stream_index(shard.index);
    Call* call = cs->call;
    if (!options_.token.empty()) {
      call->context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
    }
    v1::EventGateway::Stub* stub = shard.stub.get();
    actions->push_back([call, stub] {
      stub->async()->Stream(&call->context, call);
      call->AddHold();
      call->StartWrite(&call->request);
      call->StartRead(&call->response);
      call->StartCall();
    });
    shard.current = cs.get();
    shard.calls.push_back(std::move(cs));
    return;
  }

  CallState& cs = *shard.current;
  if (!cs.hello_sent || cs.write_in_flight || cs.broken || shard.unsent.empty()) return;
  if (cs.inflight.size() >= options_.max_unacked_per_stream) return;  // an ack wakes us
  const uint64_t fresh = shard.unsent.size() - shard.resend_prefix;
  const absl::Time due = shard.unsent.front().emitted + options_.linger;
  const bool ready = shard.resend_prefix > 0 || fresh >= options_.batch_max_events ||
                     shard.unsent_bytes >= options_.batch_max_bytes || now >= due || flushing_;
  if (!ready) {
    *wake = std::min(*wake, due);
    return;
  }
  Call* call = cs.call;
  const uint64_t first_seq = cs.next_seq;
  auto batch = TakeBatchLocked(shard, cs);
  if (batch.empty()) return;
  cs.write_in_flight = true;
  // The events are shared with the inflight entries, so the copy into the
  // request happens here, outside the lock that emitters wait on.
  actions->push_back([call, first_seq, batch = std::move(batch)] {
    call->request.Clear();
    v1::EventBatch* out = call->request.mutable_batch();
    out->set_first_seq(first_seq);
    out->mutable_events()->Reserve(static_cast<int>(batch.size()));
    for (const auto& event : batch) *out->add_events() = *event;
    call->StartWrite(&call->request);
  });
}

std::vector<std::function<void()>> Adapter::PlanLocked(absl::Time now, absl::Time* wake) {
  std::vector<std::function<void()>> actions;
  for (auto& shard : shards_) PlanShardLocked(*shard, now, wake, &actions);
  return actions;
}

void Adapter::Run() {
  absl::Time next_drop_log = absl::Now() + options_.drop_log_interval;
  uint64_t logged_full = 0;
  uint64_t logged_invalid = 0;
  uint64_t logged_stopped = 0;
  for (;;) {
    std::vector<std::function<void()>> actions;
    std::vector<std::pair<wgw_log_level, std::string>> logs;
    std::vector<grpc::Channel*> warming;
    uint64_t lost_logs = 0;
    bool exit = false;
    {
      absl::MutexLock lock(&mu_);
      for (;;) {
        const absl::Time now = absl::Now();
        absl::Time wake = std::min(now + absl::Seconds(1), next_drop_log);
        actions = PlanLocked(now, &wake);
        logs.swap(logs_);
        std::swap(lost_logs, logs_dropped_);
        if (stopping_) {
          exit = std::all_of(shards_.begin(), shards_.end(),
                             [](const auto& s) { return s->calls.empty(); });
        }
        for (auto& shard : shards_) {
          if (!shard->started && !stopping_) warming.push_back(shard->channel.get());
        }
        if (exit || !actions.empty() || !logs.empty() || !warming.empty() || now >= next_drop_log) {
          break;
        }
        if (!wake_) cv_.WaitWithDeadline(&mu_, wake);
        wake_ = false;
      }
    }
    // A channel only makes connection progress while something polls it;
    // before its first call nothing does, so the pump watches it briefly.
    for (grpc::Channel* channel : warming) {
      const grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
      if (state == GRPC_CHANNEL_READY) continue;
      channel->WaitForStateChange(state,
                                  std::chrono::system_clock::now() + std::chrono::milliseconds(2));
    }
    for (auto& action : actions) action();
    if (options_.log) {
      for (auto& [level, message] : logs) options_.log(level, message);
      if (lost_logs > 0) {
        options_.log(WGW_LOG_WARN, absl::StrCat("adapter: ", lost_logs, " log lines dropped"));
      }
    }
    if (absl::Now() >= next_drop_log) {
      next_drop_log = absl::Now() + options_.drop_log_interval;
      const uint64_t full = dropped_full_.load(std::memory_order_relaxed);
      const uint64_t invalid = dropped_invalid_.load(std::memory_order_relaxed);
      const uint64_t stopped = dropped_stopped_.load(std::memory_order_relaxed);
      if (options_.log &&
          (full != logged_full || invalid != logged_invalid || stopped != logged_stopped)) {
        options_.log(WGW_LOG_WARN, absl::StrCat("adapter: events dropped in the last ",
                                                absl::FormatDuration(options_.drop_log_interval),
                                                ": queue_full=", full - logged_full,
                                                " invalid=", invalid - logged_invalid,
                                                " stopped=", stopped - logged_stopped));
      }
      logged_full = full;
      logged_invalid = invalid;
      logged_stopped = stopped;
    }
    if (exit) return;
  }
}

void Adapter::OnWriteDone(Shard& shard, CallState& cs, bool ok) {
  // The gateway's address, for the log; known once the call is on a
  // connection, and read outside the lock.
  const std::string peer = ok && !cs.hello_sent ? cs.call->context.peer() : std::string();
  absl::MutexLock lock(&mu_);
  cs.write_in_flight = false;
  if (!ok) {
    cs.broken = true;  // the stream is ending; OnDone brings the status
  } else if (!cs.hello_sent) {
    cs.hello_sent = true;
    cs.peer = peer;
    cs.up = true;
    ++streams_up_;
    LogLocked(WGW_LOG_INFO, absl::StrCat("adapter: stream ", shard.index, " connected to ",
                                         options_.target, " call=", cs.id, " peer=", peer));
  }
  wake_ = true;
  cv_.Signal();
}

void Adapter::OnResponse(Shard& shard, CallState& cs, const v1::StreamResponse& response) {
  absl::MutexLock lock(&mu_);
  if (response.has_ack()) {
    const uint64_t seq = response.ack().seq();
    const absl::Time now = absl::Now();
    uint64_t n = 0;
    while (!cs.inflight.empty() && cs.inflight.front().stream_seq <= seq) {
      Entry& e = cs.inflight.front();
      held_events_ -= 1;
      held_bytes_ -= e.bytes;
      if (options_.on_acked) options_.on_acked(now - e.emitted);
      cs.inflight.pop_front();
      ++n;
    }
    // Any ack, a repeated one included, shows the gateway is alive.
    cs.waiting_since = cs.inflight.empty() ? absl::InfiniteFuture() : now;
    if (n > 0) {
      acked_.fetch_add(n, std::memory_order_relaxed);
      if (&cs == shard.current) shard.failures = 0;
      wake_ = true;
      cv_.Signal();
    }
    return;
  }
  if (response.has_go_away()) {
    const uint64_t last = response.go_away().last_accepted_seq();
    // Entries above `last` will not be finished by this gateway: they go
    // back to the front of the queue for the next call.
    std::deque<Entry> back;
    while (!cs.inflight.empty() && cs.inflight.back().stream_seq > last) {
      back.push_front(std::move(cs.inflight.back()));
      cs.inflight.pop_back();
    }
    RequeueLocked(shard, back);
    cs.waiting_since = cs.inflight.empty() ? absl::InfiniteFuture() : absl::Now();
    cs.draining = true;
    if (&cs == shard.current) {
      shard.current = nullptr;
      shard.retry_at = absl::InfinitePast();  // reconnect now, elsewhere
    }
    if (cs.up) {
      cs.up = false;
      --streams_up_;
    }
    LogLocked(WGW_LOG_INFO, absl::StrCat("adapter: stream ", shard.index,
                                         " got GoAway call=", cs.id, " last_accepted_seq=", last,
                                         " reason=\"", response.go_away().reason(), "\""));
    wake_ = true;
    cv_.Signal();
  }
}

void Adapter::OnReadFailed(Shard& shard, CallState& cs) {
  absl::MutexLock lock(&mu_);
  cs.broken = true;
  wake_ = true;
  cv_.Signal();
}

void Adapter::OnDone(Shard& shard, CallState& cs, const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  // A call that never connected has no gateway address.
  const std::string peer = cs.peer.empty() ? "none" : cs.peer;
  cs.done = true;
  cs.broken = true;
  if (cs.up) {
    cs.up = false;
    --streams_up_;
  }
  const size_t lost = cs.inflight.size();
  RequeueLocked(shard, cs.inflight);
  const std::string what =
      absl::StrCat("adapter: stream ", shard.index, " ended call=", cs.id,
                   " code=", static_cast<int>(status.error_code()), " message=\"",
                   status.error_message(), "\" unacked=", lost, " peer=", peer);
  if (&cs == shard.current) {
    shard.current = nullptr;
    ++shard.failures;
    absl::Duration delay = BackoffLocked(shard);
    if (NeedsOperator(status.error_code())) delay = options_.backoff_max;
    shard.retry_at = absl::Now() + delay;
    wgw_log_level level = WGW_LOG_WARN;
    if (stopping_) {
      level = WGW_LOG_DEBUG;
    } else if (NeedsOperator(status.error_code())) {
      level = WGW_LOG_ERROR;
    }
    LogLocked(level, absl::StrCat(what, " retry_in=", absl::FormatDuration(delay)));
  } else {
    LogLocked(status.ok() ? WGW_LOG_INFO : WGW_LOG_WARN, what);
  }
  wake_ = true;
  cv_.Signal();
}

void Adapter::Shutdown(absl::Duration timeout) {
  if (shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    flushing_ = true;
    wake_ = true;
    cv_.Signal();
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](uint64_t* held) { return *held == 0; }, &held_events_),
                         timeout);
    stopping_ = true;
    wake_ = true;
    cv_.Signal();
  }
  pump_.join();

  uint64_t lost = 0;
  {
    absl::MutexLock lock(&mu_);
    lost = held_events_;
    for (auto& shard : shards_) {
      shard->unsent.clear();
      shard->resend_prefix = 0;
      shard->unsent_bytes = 0;
    }
    held_events_ = 0;
    held_bytes_ = 0;
  }
  dropped_stopped_.fetch_add(lost, std::memory_order_relaxed);
  if (options_.log && lost > 0) {
    options_.log(WGW_LOG_WARN,
                 absl::StrCat("adapter: stopped with ", lost, " events not acknowledged"));
  }
}

}  // namespace webhookgw
