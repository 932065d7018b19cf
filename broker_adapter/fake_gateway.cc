#include "broker_adapter/fake_gateway.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"

namespace webhookgw {

FakeGateway::~FakeGateway() { Stop(); }

absl::StatusOr<int> FakeGateway::Start(int port) {
  absl::MutexLock lock(&server_mu_);
  if (server_ != nullptr) return absl::FailedPreconditionError("fake gateway: already started");
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port), grpc::InsecureServerCredentials(),
                           &bound);
  builder.RegisterService(this);
  builder.SetMaxReceiveMessageSize(64 << 20);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("fake gateway: cannot listen on port ", port));
  }
  port_ = bound;
  return bound;
}

void FakeGateway::Stop() {
  std::unique_ptr<grpc::Server> server;
  {
    absl::MutexLock lock(&server_mu_);
    server = std::move(server_);
  }
  if (server == nullptr) return;
  server->Shutdown(std::chrono::system_clock::now());  // cancels open calls now
  server->Wait();
}

std::string FakeGateway::target() const {
  absl::MutexLock lock(const_cast<absl::Mutex*>(&server_mu_));
  return absl::StrCat("127.0.0.1:", port_);
}

void FakeGateway::FailNextBatch(grpc::StatusCode code) { fail_code_.store(code); }

void FakeGateway::GoAwayOpenCalls(uint64_t holdback) {
  go_away_holdback_.store(holdback);
  go_away_generation_.fetch_add(1);
}

std::vector<FakeGateway::Record> FakeGateway::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

uint64_t FakeGateway::received() const {
  absl::MutexLock lock(&mu_);
  return received_;
}

bool FakeGateway::WaitForReceived(uint64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  std::pair<const uint64_t*, uint64_t> arg(&received_, n);
  return mu_.AwaitWithTimeout(
      absl::Condition(
          +[](std::pair<const uint64_t*, uint64_t>* a) { return *a->first >= a->second; }, &arg),
      timeout);
}

grpc::Status FakeGateway::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamResponse, v1::StreamRequest>* stream) {
  const uint64_t call = calls_.fetch_add(1) + 1;
  const uint64_t generation = go_away_generation_.load();
  v1::StreamRequest request;
  if (!stream->Read(&request)) return grpc::Status::OK;
  if (!request.has_hello() || request.hello().protocol_version() != 1) {
    protocol_errors_.fetch_add(1);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fake gateway: hello missing");
  }
  const uint32_t index = request.hello().stream_index();
  uint64_t next_seq = 1;
  // Writes come from this thread and the heartbeat thread; gRPC allows one
  // at a time.
  absl::Mutex write_mu;
  uint64_t acked = 0;
  auto write_ack = [&](uint64_t seq) {
    absl::MutexLock lock(&write_mu);
    acked = std::max(acked, seq);
    v1::StreamResponse response;
    response.mutable_ack()->set_seq(acked);
    return stream->Write(response);
  };
  absl::Notification ended;
  std::thread heartbeat;
  if (const int64_t every = heartbeat_ms_.load(); every > 0) {
    heartbeat = std::thread([&, every] {
      while (!ended.WaitForNotificationWithTimeout(absl::Milliseconds(every))) {
        if (!write_ack(0)) return;
      }
    });
  }
  struct Join {
    absl::Notification& ended;
    std::thread& thread;
    ~Join() {
      ended.Notify();
      if (thread.joinable()) thread.join();
    }
  } join{ended, heartbeat};
  while (stream->Read(&request)) {
    if (!request.has_batch() || request.batch().first_seq() != next_seq) {
      protocol_errors_.fetch_add(1);
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "fake gateway: expected a batch without gap");
    }
    const auto& events = request.batch().events();
    {
      absl::MutexLock lock(&mu_);
      received_ += events.size();
      if (record_) {
        for (int i = 0; i < events.size(); ++i) {
          records_.push_back(Record{call, index, next_seq + i, events[i]});
        }
      }
    }
    next_seq += events.size();
    const uint64_t last = next_seq - 1;

    const int fail = fail_code_.exchange(-1);
    if (fail >= 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(fail), "fake gateway: told to fail");
    }
    if (go_away_generation_.load() != generation) {
      const uint64_t holdback = std::min<uint64_t>(go_away_holdback_.load(), events.size());
      v1::StreamResponse response;
      response.mutable_go_away()->set_last_accepted_seq(last - holdback);
      response.mutable_go_away()->set_reason("fake gateway: draining");
      absl::MutexLock lock(&write_mu);
      stream->Write(response);
      response.mutable_ack()->set_seq(last - holdback);
      stream->Write(response);
      return grpc::Status::OK;
    }
    if (ack_.load() && !write_ack(last)) break;
  }
  return context->IsCancelled() ? grpc::Status::CANCELLED : grpc::Status::OK;
}

}  // namespace webhookgw
