#include "gateway/event_stream.h"

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {

constexpr char kComponent[] = "stream";
constexpr uint32_t kProtocolVersion = 1;

google::protobuf::ArenaOptions ReadArenaOptions(char* block, size_t size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

// The bearer token of a call's "authorization" metadata, or "" when there is
// none or it is not a bearer token.
std::string_view BearerToken(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return {};
  std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() || value.substr(0, kScheme.size()) != kScheme) return {};
  return value.substr(kScheme.size());
}

absl::StatusOr<std::string> ReadPem(const char* key, const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gateway.tls.", key, ": ", path, ": cannot read or empty"));
  }
  return text.str();
}

}  // namespace

absl::Status ConfigureGrpcListener(const GatewaySettings& settings, grpc::ServerBuilder* builder,
                                   int* port) {
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  const GrpcTlsSettings& tls = settings.tls;
  if (tls.enabled()) {
    absl::StatusOr<std::string> cert = ReadPem("cert_file", tls.cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("key_file", tls.key_file);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions options(
        tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    if (!tls.client_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadPem("client_ca_file", tls.client_ca_file);
      if (!ca.ok()) return ca.status();
      options.pem_root_certs = *ca;
      // A CA given without require_client_cert still verifies the
      // certificates clients choose to send.
      if (!tls.require_client_cert) {
        options.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
      }
    }
    options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
    credentials = grpc::SslServerCredentials(options);
  }
  builder->AddListeningPort(settings.grpc_listen, credentials, port);
  // A batch may hold max_batch_events events of up to max_event_bytes; the
  // per-event limit is enforced (and counted) by the stream itself.
  builder->SetMaxReceiveMessageSize(
      static_cast<int>(std::min<int64_t>(INT32_MAX, settings.max_event_bytes * 4 + (4 << 20))));
  builder->AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE,
                              static_cast<int>(settings.max_metadata_bytes));
  // Liveness: the gateway pings every connection, so a silent adapter (its
  // node or network gone) is dropped and its streams end; and it accepts
  // the adapters' own pings at their interval, with or without calls, where
  // gRPC's defaults would answer them with GOAWAY "too_many_pings".
  auto ms = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); };
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(settings.keepalive_time));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(settings.keepalive_timeout));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              ms(settings.keepalive_min_client_interval));
  if (settings.max_connection_age > absl::ZeroDuration()) {
    builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(settings.max_connection_age));
    builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                                ms(settings.max_connection_age_grace));
  }
  return absl::OkStatus();
}

grpc::ServerBidiReactor<v1::StreamRequest, v1::StreamResponse>* EventGatewayService::Stream(
    grpc::CallbackServerContext* context) {
  return EventStream::Start(gateway_, context);
}

EventStream* EventStream::Start(Gateway* gateway, grpc::CallbackServerContext* context) {
  std::shared_ptr<EventStream> stream(new EventStream(gateway, context));
  stream->self_ = stream;
  GatewayMetrics& metrics = gateway->metrics();
  metrics.streams_opened.fetch_add(1, std::memory_order_relaxed);
  metrics.streams_open.fetch_add(1, std::memory_order_relaxed);
  if (gateway->auth_enabled() && !gateway->TokenAccepted(BearerToken(*context))) {
    metrics.streams_unauthenticated.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&stream->mu_);
    stream->error_ =
        grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "missing or invalid bearer token");
  } else if (!gateway->AcquirePeer(stream->peer_)) {
    metrics.streams_peer_limit.fetch_add(1, std::memory_order_relaxed);
    absl::MutexLock lock(&stream->mu_);
    stream->error_ =
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     absl::StrCat("too many streams from this address (max_streams_per_peer ",
                                  gateway->settings().max_streams_per_peer, ")"));
  } else {
    stream->peer_counted_ = true;
    if (gateway->AddStream(stream)) {
      stream->ReadMore();
    } else {
      absl::MutexLock lock(&stream->mu_);
      stream->error_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway is draining");
    }
  }
  stream->Pump();
  return stream.get();
}

EventStream::EventStream(Gateway* gateway, grpc::CallbackServerContext* context)
    : gateway_(gateway),
      peer_(context->peer()),
      opened_(absl::Now()),
      read_block_(new char[kReadBlockBytes]),
      read_arena_(ReadArenaOptions(read_block_.get(), kReadBlockBytes)),
      request_(google::protobuf::Arena::CreateMessage<v1::StreamRequest>(&read_arena_)) {
  // gRPC spreads connection ages by +-10%; streams spread theirs over the
  // upper 10% so that an adapter's streams do not all reconnect at once.
  const absl::Duration age = gateway_->settings().max_connection_age;
  if (age > absl::ZeroDuration()) {
    thread_local std::mt19937_64 rng(std::random_device{}());
    std::uniform_real_distribution<double> spread(1.0, 1.1);
    retire_at_ = opened_ + age * spread(rng);
  }
  last_write_ = opened_;
}

void EventStream::Tick(absl::Time now) {
  bool retire = false;
  {
    absl::MutexLock lock(&mu_);
    if (finish_called_ || done_) return;
    retire = now >= retire_at_ && !go_away_pending_;
    if (!write_in_flight_ && now - last_write_ >= gateway_->settings().stream_heartbeat) {
      heartbeat_due_ = true;
    }
  }
  if (retire) {
    gateway_->metrics().streams_aged_out.fetch_add(1, std::memory_order_relaxed);
    GoAway("max_connection_age reached");
  }
  Pump();
}

void EventStream::GoAway(std::string_view reason) {
  {
    absl::MutexLock lock(&mu_);
    if (go_away_pending_ || finish_called_) return;
    go_away_pending_ = true;
    go_away_reason_ = std::string(reason);
    // A batch being dispatched was accepted before the GoAway. Wait until
    // its jobs are on the endpoints: a drain stops the endpoints next, and a
    // job queued after that would never finish, holding the stream open
    // until the grace deadline.
    mu_.Await(absl::Condition(
        +[](bool* dispatching) { return !*dispatching; }, &dispatching_));
  }
  Pump();
}

void EventStream::OnReadDone(bool ok) {
  if (!ok) {
    // The adapter half-closed (or the call broke): finish once what was read
    // is done.
    {
      absl::MutexLock lock(&mu_);
      read_closed_ = true;
    }
    Pump();
    return;
  }
  if (HandleRequest()) ReadMore();
  Pump();
}

bool EventStream::HandleRequest() {
  if (!hello_seen_) {
    if (!request_->has_hello()) {
      absl::MutexLock lock(&mu_);
      error_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the first message of a stream must be a hello");
      return false;
    }
    const v1::StreamHello& hello = request_->hello();
    if (hello.protocol_version() != kProtocolVersion) {
      absl::MutexLock lock(&mu_);
      error_ = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("protocol version ", hello.protocol_version(),
                                         " is not supported (this "
                                         "gateway speaks ",
                                         kProtocolVersion, ")"));
      return false;
    }
    hello_seen_ = true;
    node_ = hello.node();
    WGW_LOG(kInfo, kComponent, "stream opened", "peer=", LogQuote(peer_), " node=", LogQuote(node_),
            " stream_index=", hello.stream_index(), " adapter=", LogQuote(hello.adapter()));
    return true;
  }
  if (request_->has_batch()) return HandleBatch(request_->mutable_batch());
  absl::MutexLock lock(&mu_);
  error_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        request_->has_hello() ? "hello sent twice" : "empty request");
  return false;
}

bool EventStream::HandleBatch(v1::EventBatch* batch) {
  const GatewaySettings& limits = gateway_->settings();
  const int n = batch->events_size();
  uint64_t first_seq = 0;
  {
    absl::MutexLock lock(&mu_);
    if (go_away_pending_) {
      // The batch crossed the GoAway: it is past last_accepted_seq, so the
      // adapter resends it elsewhere, and the endpoints may be stopping.
      return false;
    }
    if (n > limits.max_batch_events) {
      error_ = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("batch of ", n, " events exceeds max_batch_events ",
                                         limits.max_batch_events));
      return false;
    }
    if (batch->first_seq() != next_seq_) {
      error_ = grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("batch first_seq ", batch->first_seq(), ", expected ", next_seq_));
      return false;
    }
    // Every sequence number enters the window before any job can finish.
    first_seq = next_seq_;
    next_seq_ += n;
    window_.insert(window_.end(), n, false);
    dispatching_ = true;
  }

  std::vector<uint64_t> finished_now;
  for (int i = 0; i < n; ++i) {
    v1::Event* event = batch->mutable_events(i);
    const uint64_t seq = first_seq + i;
    if (event->node().empty()) event->set_node(node_);
    EventKind kind;
    size_t bytes = 0;
    std::string invalid = ValidateEvent(*event, limits.max_event_bytes, &kind, &bytes);
    if (!invalid.empty()) {
      gateway_->RejectEvent(*event, invalid);
      finished_now.push_back(seq);
      continue;
    }
    auto job = std::make_shared<Job>();
    // A copy onto the job's arena (a swap between arenas copies too); the
    // batch's memory is reused by the next read.
    job->event.CopyFrom(*event);
    job->kind = kind;
    job->bytes = bytes;
    job->stream_seq = seq;
    job->owner = shared_from_this();
    jobs_.push_back(std::move(job));
  }
  gateway_->Dispatch(jobs_, &routed_);
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (routed_[i] == 0) finished_now.push_back(jobs_[i]->stream_seq);
  }
  jobs_.clear();
  {
    absl::MutexLock lock(&mu_);
    dispatching_ = false;
    for (uint64_t seq : finished_now) MarkFinishedLocked(seq);
  }
  return true;
}

void EventStream::MarkFinishedLocked(uint64_t seq) {
  window_[seq - acked_ - 1] = true;
  while (!window_.empty() && window_.front()) {
    window_.pop_front();
    ++acked_;
  }
}

void EventStream::JobsFinished(const FinishedJob* jobs, size_t count) {
  int64_t bytes = 0;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < count; ++i) {
      MarkFinishedLocked(jobs[i].stream_seq);
      bytes += static_cast<int64_t>(jobs[i].bytes);
    }
  }
  gateway_->budget().Release(static_cast<int64_t>(count), bytes);
  Pump();
}

void EventStream::ReadMore() {
  {
    absl::MutexLock lock(&mu_);
    if (finish_called_ || cancelled_ || go_away_pending_ || !error_.ok() || read_closed_) return;
  }
  std::weak_ptr<EventStream> weak = weak_from_this();
  bool room = gateway_->budget().HasRoomOrNotify([weak] {
    if (auto stream = weak.lock()) stream->ReadMore();
  });
  if (!room) return;
  {
    absl::MutexLock lock(&mu_);
    if (finish_called_) return;
    starting_read_ = true;
  }
  // The previous request is handled (its events copied into jobs): its
  // memory goes back to the arena for this read.
  read_arena_.Reset();
  request_ = google::protobuf::Arena::CreateMessage<v1::StreamRequest>(&read_arena_);
  StartRead(request_);
  {
    absl::MutexLock lock(&mu_);
    starting_read_ = false;
  }
  Pump();
}

void EventStream::Pump() {
  enum class Action { kNone, kWrite, kFinish };
  Action action = Action::kNone;
  grpc::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (finish_called_ || done_ || write_in_flight_) return;
    if (cancelled_) {
      action = Action::kFinish;
      status = grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
    } else if (!error_.ok()) {
      action = Action::kFinish;
      status = error_;
    } else if (go_away_pending_ && !go_away_sent_) {
      response_.Clear();
      response_.mutable_go_away()->set_last_accepted_seq(next_seq_ - 1);
      response_.mutable_go_away()->set_reason(go_away_reason_);
      go_away_sent_ = true;
      action = Action::kWrite;
    } else if (acked_ > written_ack_ || heartbeat_due_) {
      // A repeated ack is the heartbeat: it tells the adapter that this
      // gateway is alive while its events wait on a slow endpoint.
      response_.Clear();
      response_.mutable_ack()->set_seq(acked_);
      written_ack_ = acked_;
      heartbeat_due_ = false;
      action = Action::kWrite;
    } else if ((read_closed_ || go_away_sent_) && window_.empty()) {
      action = Action::kFinish;
      status = grpc::Status::OK;
    }
    if (action == Action::kWrite) {
      write_in_flight_ = true;
      last_write_ = absl::Now();
    }
    if (action == Action::kFinish) {
      // A read being started must be issued before Finish; its thread pumps
      // again afterwards.
      if (starting_read_) return;
      finish_called_ = true;
    }
  }
  if (action == Action::kWrite) {
    StartWrite(&response_);
  } else if (action == Action::kFinish) {
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      gateway_->metrics().streams_refused.fetch_add(1, std::memory_order_relaxed);
      WGW_LOG(kWarn, kComponent, "stream refused", "peer=", LogQuote(peer_),
              " code=", static_cast<int>(status.error_code()),
              " error=", LogQuote(status.error_message()));
    }
    Finish(status);
  }
}

void EventStream::OnWriteDone(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!ok) cancelled_ = true;
  }
  Pump();
}

void EventStream::OnCancel() {
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  // The adapter cancelled, or the connection broke (a reset, or keepalive
  // pings unanswered): what this stream read is still delivered, and the
  // adapter resends what it did not see acked.
  gateway_->metrics().streams_cancelled.fetch_add(1, std::memory_order_relaxed);
  Pump();
}

void EventStream::OnDone() {
  std::shared_ptr<EventStream> self;
  uint64_t acked = 0;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
    acked = acked_;
    self = std::move(self_);
  }
  gateway_->metrics().streams_open.fetch_sub(1, std::memory_order_relaxed);
  if (peer_counted_) gateway_->ReleasePeer(peer_);
  gateway_->RemoveStream(this);
  WGW_LOG(kInfo, kComponent, "stream closed", "peer=", LogQuote(peer_), " node=", LogQuote(node_),
          " acked=", acked);
  // `self` may hold the last reference; it is released on return.
}

}  // namespace webhookgw
