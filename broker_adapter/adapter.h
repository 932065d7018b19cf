#ifndef WEBHOOKGW_BROKER_ADAPTER_ADAPTER_H_
#define WEBHOOKGW_BROKER_ADAPTER_ADAPTER_H_

#include <grpcpp/security/credentials.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker_adapter/webhookgw_adapter.h"
#include "webhookgw/v1/gateway.grpc.pb.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

// Largest encoded event the adapter accepts; the gateway refuses bigger ones
// with INVALID_ARGUMENT, which would poison the whole stream.
inline constexpr size_t kMaxEventBytes = 1 << 20;
// Largest batch the gateway accepts by default.
inline constexpr uint32_t kMaxBatchEvents = 10000;

// Converts a broker's C event into its wire form, without node, incarnation
// and sequence (the adapter stamps those). Fails with INVALID_ARGUMENT when a
// required string is NULL, a string is not UTF-8, the kind is out of range or
// the payload pointer is NULL with a non-zero length.
absl::Status EventFromC(const wgw_event& in, v1::Event* out);

// Options of the C++ adapter: the C options plus hooks only C++ callers use.
struct AdapterOptions {
  std::string target;
  std::string node;
  uint32_t streams = 4;
  uint64_t queue_max_events = 100000;
  uint64_t queue_max_bytes = 64ULL << 20;
  wgw_drop_policy drop_policy = WGW_DROP_NEWEST;
  uint32_t batch_max_events = 500;
  uint64_t batch_max_bytes = 1 << 20;
  absl::Duration linger = absl::Milliseconds(5);
  uint32_t max_unacked_per_stream = 5000;
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(10);
  // A call with events outstanding that hears nothing from its gateway for
  // this long (no ack, not even the repeat of its last ack that a gateway
  // writes while it works) is cancelled and its events resent on another
  // call. Zero turns the check off.
  absl::Duration ack_timeout = absl::Seconds(20);
  // HTTP/2 keepalive towards the gateways: a ping after keepalive_time, the
  // connection dropped (and its calls failed) when the ping is unanswered
  // for keepalive_timeout. Gateways refuse pings more frequent than their
  // keepalive_min_client_interval (5 s by default).
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(5);
  // Receives connection changes and periodic drop summaries, from the
  // adapter's own thread, never while the adapter holds its lock.
  std::function<void(wgw_log_level, const std::string&)> log;
  // Called once per acknowledged event with the time it waited since emit;
  // runs on a gRPC thread under the adapter's lock, so it must be quick and
  // must not call into the adapter. For benchmarks.
  std::function<void(absl::Duration)> on_acked;
  // How often drops are summarised in the log.
  absl::Duration drop_log_interval = absl::Seconds(10);
  // TLS and token, as in wgw_adapter_options; empty means unset.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  std::string token;
};

// Converts C options (after wgw_adapter_options_init defaults) to C++ ones.
AdapterOptions AdapterOptionsFromC(const wgw_adapter_options& in);

// Streams broker events to gateways: a bounded queue that Emit fills without
// blocking, drained by one pump thread that batches events per stream, writes
// them on gRPC callback-API streams (one channel per stream), tracks what is
// unacknowledged, and resends it first after a stream fails.
//
// Thread safety: Emit, CountInvalid and GetStats may be called from any
// thread concurrently; Shutdown (and the destructor) only from the owner.
// All state lives under one mutex that Emit holds only to append to a
// deque; no gRPC call is started or cancelled while it is held (the pump
// only reads channel states under it), so gRPC callbacks can take it.
class Adapter {
 public:
  // Validates the options and starts the pump thread; connecting happens in
  // the background, so an unreachable target is not an error.
  static absl::StatusOr<std::unique_ptr<Adapter>> Create(AdapterOptions options);

  // Stops immediately (as Shutdown with a zero timeout) if Shutdown was not
  // called.
  ~Adapter();

  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // Stamps node, incarnation and sequence on `event` and queues it; never
  // waits for the network. Returns WGW_OK or a WGW_DROPPED_* code, counted.
  int Emit(v1::Event event);

  // Counts an event the caller refused as malformed (WGW_DROPPED_INVALID).
  void CountInvalid();

  // A snapshot of the counters.
  wgw_adapter_stats GetStats();

  // Waits up to `timeout` for every accepted event to be acknowledged, then
  // cancels the streams and joins the pump thread. What is still held is
  // counted as dropped_stopped. Later Emit calls return WGW_DROPPED_STOPPED.
  void Shutdown(absl::Duration timeout);

  // The incarnation stamped on every event: the start time in microseconds.
  uint64_t incarnation() const { return incarnation_; }

 private:
  class Call;

  // One queued or unacknowledged event.
  struct Entry {
    // Immutable once queued and shared with the batch being written, so
    // that copying it into a request needs no lock.
    std::shared_ptr<const v1::Event> event;
    uint64_t bytes = 0;
    absl::Time emitted;
    bool sent_before = false;  // written on a stream that failed since
    uint64_t stream_seq = 0;   // valid while in a call's inflight list
  };

  // The per-call bookkeeping, owned by the adapter (the Call reactor only
  // points at it); lives in Shard::calls until the pump reaps the call.
  struct CallState {
    Call* call = nullptr;
    uint64_t id = 0;
    uint64_t next_seq = 1;       // stream sequence of the next event sent
    std::deque<Entry> inflight;  // sent, not acked, in stream order
    bool hello_sent = false;     // hello write finished
    bool up = false;             // counted in streams_up
    bool write_in_flight = false;
    bool draining = false;  // GoAway received or failed: no more writes
    bool broken = false;    // a write or read failed: no more writes
    bool hold_released = false;
    bool cancel_requested = false;
    bool done = false;  // OnDone ran; the pump deletes it
    std::string peer;   // the gateway's address, once connected (for logs)
    // Since when the call has had events outstanding with no word from the
    // gateway; InfiniteFuture while nothing is outstanding.
    absl::Time waiting_since = absl::InfiniteFuture();
    absl::Status status;
  };

  // One stream index: its events not yet written, and the calls serving it
  // (the current one plus, after a GoAway, a draining one).
  struct Shard {
    uint32_t index = 0;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::EventGateway::Stub> stub;
    std::deque<Entry> unsent;  // previously sent entries first, then new
    size_t resend_prefix = 0;  // entries at unsent's front with sent_before
    uint64_t unsent_bytes = 0;
    std::vector<std::unique_ptr<CallState>> calls;
    CallState* current = nullptr;                     // the call new events go to, or null
    int failures = 0;                                 // consecutive, for backoff
    bool started = false;                             // a call was ever opened
    absl::Time created = absl::InfinitePast();        // when the pump first saw it
    absl::Time ready_since = absl::InfiniteFuture();  // channel first READY
    absl::Time retry_at = absl::InfinitePast();
  };

  Adapter(AdapterOptions options, std::shared_ptr<grpc::ChannelCredentials> credentials);

  void Run();
  // Decides under the lock what the pump must do with gRPC next; the
  // returned closures run after the lock is released.
  std::vector<std::function<void()>> PlanLocked(absl::Time now, absl::Time* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PlanShardLocked(Shard& shard, absl::Time now, absl::Time* wake,
                       std::vector<std::function<void()>>* actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the next batch from unsent to the call's inflight list, assigning
  // stream sequence numbers; returns its events (empty: nothing to send).
  std::vector<std::shared_ptr<const v1::Event>> TakeBatchLocked(Shard& shard, CallState& cs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Cancels `cs` when it has waited ack_timeout for any word from its
  // gateway with events outstanding; otherwise moves *wake to its deadline.
  void CheckAckTimeoutLocked(Shard& shard, CallState& cs, absl::Time now, absl::Time* wake,
                             std::vector<std::function<void()>>* actions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the first call of a shard may open now (see the definition).
  bool FirstCallDueLocked(Shard& shard, absl::Time now, absl::Time* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequeueLocked(Shard& shard, std::deque<Entry>& entries) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool EvictOldestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void LogLocked(wgw_log_level level, std::string message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Duration BackoffLocked(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t ShardOf(const v1::Event& event) const;

  // Callbacks from Call, on gRPC threads.
  void OnWriteDone(Shard& shard, CallState& cs, bool ok);
  void OnResponse(Shard& shard, CallState& cs, const v1::StreamResponse& response);
  void OnReadFailed(Shard& shard, CallState& cs);
  void OnDone(Shard& shard, CallState& cs, const grpc::Status& status);

  const AdapterOptions options_;
  const uint64_t incarnation_;

  absl::Mutex mu_;
  absl::CondVar cv_;                            // wakes the pump; signalled with wake_ set
  std::vector<std::unique_ptr<Shard>> shards_;  // fixed after construction
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_call_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t held_events_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t held_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t streams_up_ ABSL_GUARDED_BY(mu_) = 0;
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;  // Shutdown waits: no linger
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // cancel everything
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;   // Emit refuses
  bool wake_ ABSL_GUARDED_BY(mu_) = false;      // the pump has work
  std::vector<std::pair<wgw_log_level, std::string>> logs_ ABSL_GUARDED_BY(mu_);
  uint64_t logs_dropped_ ABSL_GUARDED_BY(mu_) = 0;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> resent_{0};
  std::atomic<uint64_t> dropped_full_{0};
  std::atomic<uint64_t> dropped_invalid_{0};
  std::atomic<uint64_t> dropped_stopped_{0};
  std::atomic<uint64_t> ack_timeouts_{0};

  std::thread pump_;
  bool shut_down_ = false;  // Shutdown ran; touched only by the owner
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_ADAPTER_H_
