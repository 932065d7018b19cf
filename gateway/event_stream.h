#ifndef WEBHOOKGW_GATEWAY_EVENT_STREAM_H_
#define WEBHOOKGW_GATEWAY_EVENT_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "gateway/gateway.h"
#include "gateway/job.h"
#include "google/protobuf/arena.h"
#include "webhookgw/v1/gateway.grpc.pb.h"

namespace webhookgw {

// One adapter stream (EventGateway.Stream), served with gRPC's callback API
// so that no thread is held per stream.
//
// Reads a hello, then batches; hands each event to the Gateway and acks
// cumulatively as events finish, in stream order. Reading pauses while the
// gateway's queue budget is exhausted. The object is owned by shared
// pointers: gRPC's reference (dropped in OnDone) and one per job in flight,
// so late completions find it alive; after Finish it touches gRPC no more.
//
// Thread-safe: reactions arrive on gRPC threads, completions on delivery
// threads; all state is guarded by mu_.
class EventStream : public grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>,
                    public JobOwner,
                    public std::enable_shared_from_this<EventStream> {
 public:
  // Creates a stream and starts it; gRPC owns it until OnDone.
  static EventStream* Start(Gateway* gateway, grpc::CallbackServerContext* context);

  // Sends GoAway, stops reading and finishes once what was read is done.
  void GoAway(std::string_view reason);

  // Called about once a second: repeats the last ack when nothing was
  // written for stream_heartbeat, and sends a GoAway once the stream is
  // older than max_connection_age.
  void Tick(absl::Time now);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  void JobsFinished(const FinishedJob* jobs, size_t count) override;

 private:
  EventStream(Gateway* gateway, grpc::CallbackServerContext* context);

  // Handles the request just read; returns false when the stream must stop
  // reading: with error_ set, or because a GoAway is pending.
  bool HandleRequest();
  bool HandleBatch(v1::EventBatch* batch);
  // Marks stream sequence numbers finished and advances the ack.
  void MarkFinishedLocked(uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the next read unless the stream is ending or the budget is spent.
  void ReadMore();
  // Starts a write when one is due and none is in flight, or finishes the
  // stream when it is time. Call without mu_ held.
  void Pump();

  Gateway* const gateway_;
  const std::string peer_;
  std::shared_ptr<EventStream> self_;  // gRPC's reference, dropped in OnDone
  bool peer_counted_ = false;          // set in Start; AcquirePeer succeeded
  const absl::Time opened_;
  absl::Time retire_at_ = absl::InfiniteFuture();  // GoAway due (max_connection_age)

  // Each read is parsed onto read_arena_, whose first block (read_block_)
  // is kept across reads, and the arena is reset before the next read: the
  // messages of a batch then cost no allocation each (only string contents
  // longer than the small-string buffer do). Touched only by the read in
  // progress, as are the members below up to mu_.
  static constexpr size_t kReadBlockBytes = 64 << 10;
  std::unique_ptr<char[]> read_block_;
  google::protobuf::Arena read_arena_;
  v1::StreamRequest* request_;
  bool hello_seen_ = false;    // idem
  std::string node_;           // idem
  // The jobs of the batch being dispatched and their routes; idem.
  std::vector<std::shared_ptr<Job>> jobs_;
  std::vector<int> routed_;

  absl::Mutex mu_;
  v1::StreamResponse response_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;  // expected first_seq of the next batch
  uint64_t acked_ ABSL_GUARDED_BY(mu_) = 0;     // highest finished prefix
  uint64_t written_ack_ ABSL_GUARDED_BY(mu_) = 0;
  // finished flags for acked_+1 .. next_seq_-1
  std::deque<bool> window_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_write_ ABSL_GUARDED_BY(mu_);
  bool heartbeat_due_ ABSL_GUARDED_BY(mu_) = false;
  // Set while a thread is between deciding to read and StartRead returning.
  bool starting_read_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool go_away_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool go_away_sent_ ABSL_GUARDED_BY(mu_) = false;
  // A batch's jobs are being handed to the gateway; GoAway waits for it.
  bool dispatching_ ABSL_GUARDED_BY(mu_) = false;
  std::string go_away_reason_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status error_ ABSL_GUARDED_BY(mu_);
};

// The EventGateway service: creates an EventStream per call.
class EventGatewayService final : public v1::EventGateway::CallbackService {
 public:
  explicit EventGatewayService(Gateway* gateway) : gateway_(gateway) {}

  grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* Stream(
      grpc::CallbackServerContext* context) override;

 private:
  Gateway* const gateway_;
};

// Adds the adapter listener of `settings` to `builder`: grpc_listen with
// TLS (and client certificate checks) when gateway.tls is set, plaintext
// otherwise, and the message and metadata size limits. *port receives the
// bound port once the server is built. Fails when a TLS file cannot be read.
absl::Status ConfigureGrpcListener(const GatewaySettings& settings, grpc::ServerBuilder* builder,
                                   int* port);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_EVENT_STREAM_H_
