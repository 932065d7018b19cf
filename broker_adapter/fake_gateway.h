#ifndef WEBHOOKGW_BROKER_ADAPTER_FAKE_GATEWAY_H_
#define WEBHOOKGW_BROKER_ADAPTER_FAKE_GATEWAY_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "webhookgw/v1/gateway.grpc.pb.h"

namespace webhookgw {

// A stand-in for the gateway's EventGateway.Stream, for adapter tests and
// benchmarks: it checks the stream contract (hello first, batches without
// gaps), records every event with the call it came on, and acks each batch
// cumulatively as soon as it is read. Tests can make it fail calls, stop
// acking, send GoAway, or stop and start again on the same port.
//
// Thread safety: every method may be called from any thread.
class FakeGateway final : public v1::EventGateway::Service {
 public:
  // One event as received.
  struct Record {
    uint64_t call = 0;          // server-side call number, from 1
    uint32_t stream_index = 0;  // from the call's hello
    uint64_t stream_seq = 0;
    v1::Event event;
  };

  // Whether to record event bodies; benchmarks turn it off to save memory.
  explicit FakeGateway(bool record = true) : record_(record) {}
  ~FakeGateway() override;

  // Listens on 127.0.0.1:`port` (0 picks one); returns the port.
  absl::StatusOr<int> Start(int port = 0);
  // Cancels every call and stops listening; Start may follow.
  void Stop();

  // "127.0.0.1:<port>".
  std::string target() const;

  // Whether batches are acked; when false they are recorded only.
  void set_ack(bool ack) { ack_.store(ack); }
  // When positive, every call repeats its last ack this often, as the
  // gateway does while its endpoints are slow. Applies to calls opened
  // after it is set.
  void set_heartbeat(absl::Duration every) {
    heartbeat_ms_.store(absl::ToInt64Milliseconds(every));
  }
  // The next batch read on any call ends that call with `code`.
  void FailNextBatch(grpc::StatusCode code);
  // Every call open now, at its next batch, sends GoAway whose
  // last_accepted_seq excludes that batch's last `holdback` events, acks up
  // to it and ends with OK.
  void GoAwayOpenCalls(uint64_t holdback);

  std::vector<Record> records() const;
  uint64_t received() const;
  uint64_t calls() const { return calls_.load(); }
  uint64_t protocol_errors() const { return protocol_errors_.load(); }
  // Waits until at least `n` events were received; false on timeout.
  bool WaitForReceived(uint64_t n, absl::Duration timeout) const;

  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::StreamResponse, v1::StreamRequest>* stream) override;

 private:
  const bool record_;
  std::atomic<bool> ack_{true};
  std::atomic<int64_t> heartbeat_ms_{0};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> protocol_errors_{0};
  std::atomic<int> fail_code_{-1};
  std::atomic<uint64_t> go_away_generation_{0};
  std::atomic<uint64_t> go_away_holdback_{0};

  mutable absl::Mutex mu_;
  std::vector<Record> records_ ABSL_GUARDED_BY(mu_);
  uint64_t received_ ABSL_GUARDED_BY(mu_) = 0;

  absl::Mutex server_mu_;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(server_mu_);
  int port_ ABSL_GUARDED_BY(server_mu_) = 0;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_BROKER_ADAPTER_FAKE_GATEWAY_H_
