// Hostile adapters: oversized events, oversized batches, bytes that are not
// a protobuf, oversized metadata, a flood of streams from one address and a
// client that never reads its acks. After each, the gateway must still
// serve an ordinary stream.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/http_sink.h"
#include "tests/security/security_env.h"
#include "tests/test_events.h"

namespace webhookgw {
namespace {

using ::webhookgw::testing::HttpSink;
using ::webhookgw::testing::ParseOrDie;
using ::webhookgw::testing::Publish;
using ::webhookgw::testing::RunningGateway;
using ::webhookgw::testing::SendOne;
using ::webhookgw::testing::StreamResult;

constexpr char kMethod[] = "/webhookgw.v1.EventGateway/Stream";

class HostileStreamTest : public ::testing::Test {
 protected:
  HttpSink sink_;
  RunningGateway gateway_{ParseOrDie(absl::StrCat(R"(
gateway {
  max_event_bytes = 1KiB
  max_batch_events = 10
  max_streams_per_peer = 50
  max_metadata_bytes = 8KiB
}
webhook {
  url = ")",
                                                  sink_.url(), R"("
  pool_size = 2
  events = [{ event = on_message_publish }]
})"))};

  GatewayMetrics& metrics() { return gateway_.gateway().metrics(); }

  // The gateway still serves an ordinary stream end to end.
  void ExpectStillServing() {
    size_t before = sink_.count();
    StreamResult result = SendOne(gateway_.target(), grpc::InsecureChannelCredentials(), "");
    EXPECT_TRUE(result.status.ok()) << result.status.error_message();
    EXPECT_EQ(result.acked, 1u);
    EXPECT_TRUE(sink_.WaitFor(before + 1));
  }

  std::unique_ptr<v1::EventGateway::Stub> Stub() {
    return v1::EventGateway::NewStub(
        grpc::CreateChannel(gateway_.target(), grpc::InsecureChannelCredentials()));
  }
};

v1::StreamRequest Hello() {
  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_node("node-a");
  return hello;
}

TEST_F(HostileStreamTest, OversizedEventIsDeadLetteredAndTheStreamGoesOn) {
  auto stub = Stub();
  grpc::ClientContext context;
  auto stream = stub->Stream(&context);
  ASSERT_TRUE(stream->Write(Hello()));
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  *batch.mutable_batch()->add_events() = Publish(1, "c1", "t/1", std::string(4096, 'x'));
  *batch.mutable_batch()->add_events() = Publish(2, "c1", "t/1", "small");
  ASSERT_TRUE(stream->Write(batch));
  stream->WritesDone();
  uint64_t acked = 0;
  v1::StreamResponse response;
  while (stream->Read(&response)) {
    if (response.has_ack()) acked = response.ack().seq();
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(acked, 2u) << "the oversized event is finished (dead-lettered), not held";
  EXPECT_EQ(metrics().invalid_events.load(), 1u);
  ASSERT_TRUE(sink_.WaitFor(1));
  EXPECT_EQ(sink_.requests()[0].body.find("xxxx"), std::string::npos);
  ExpectStillServing();
}

TEST_F(HostileStreamTest, OversizedBatchEndsTheStream) {
  auto stub = Stub();
  grpc::ClientContext context;
  auto stream = stub->Stream(&context);
  ASSERT_TRUE(stream->Write(Hello()));
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  for (int i = 1; i <= 11; ++i) {
    *batch.mutable_batch()->add_events() = Publish(i, "c1", "t/1", "p");
  }
  stream->Write(batch);
  stream->WritesDone();
  v1::StreamResponse response;
  while (stream->Read(&response)) {
  }
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "batch of 11 events exceeds max_batch_events 10");
  EXPECT_EQ(metrics().streams_refused.load(), 1u);
  EXPECT_EQ(sink_.count(), 0u);
  ExpectStillServing();
}

// Raw bytes through a generic call: the server cannot parse them as a
// StreamRequest.
grpc::Status SendRawBytes(const std::string& target, const std::vector<std::string>& messages) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto call = stub.PrepareCall(&context, kMethod, &cq);
  void* tag = nullptr;
  bool ok = false;
  int next = 1;
  auto step = [&] {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(next++));
  step();
  for (const std::string& bytes : messages) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call->Write(buffer, reinterpret_cast<void*>(next++));
    if (!step()) break;
  }
  call->WritesDone(reinterpret_cast<void*>(next++));
  step();
  grpc::ByteBuffer reply;
  do {
    call->Read(&reply, reinterpret_cast<void*>(next++));
  } while (step());
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(next++));
  step();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

// gRPC's callback API reports a message it cannot parse exactly like the
// client's half-close, so the gateway finishes such a stream once what it
// read before is done; the client sees it end, not hang.
TEST_F(HostileStreamTest, MalformedProtobufBytesEndOnlyThatStream) {
  // A length-delimited field 1 claiming far more bytes than follow.
  grpc::Status status =
      SendRawBytes(gateway_.target(), {std::string("\x0a\xff\xff\xff\x0f\x01", 6)});
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // A valid hello, then a batch whose event carries invalid UTF-8 in a
  // string field, which proto3 parsing refuses.
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  *batch.mutable_batch()->add_events() = Publish(1, "c1", "t/1", "p");
  std::string bytes = batch.SerializeAsString();
  size_t at = bytes.find("t/1");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';
  status = SendRawBytes(gateway_.target(), {Hello().SerializeAsString(), bytes});
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // Random garbage of assorted sizes.
  std::vector<std::string> garbage;
  uint32_t x = 12345;
  for (int n : {1, 7, 100, 5000}) {
    std::string g;
    for (int i = 0; i < n; ++i) {
      x = x * 1103515245 + 12345;
      g.push_back(static_cast<char>(x >> 24));
    }
    garbage.push_back(g);
  }
  status = SendRawBytes(gateway_.target(), garbage);
  EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(sink_.count(), 0u);
  // The server ends its side (OnDone) a moment after the client saw the
  // status; wait for it rather than race it.
  for (int i = 0; i < 500 && metrics().streams_open.load() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metrics().streams_open.load(), 0);
  ExpectStillServing();
}

TEST_F(HostileStreamTest, OversizedMetadataIsRefused) {
  auto stub = Stub();
  grpc::ClientContext context;
  // gRPC answers oversized metadata by closing the connection; the deadline
  // keeps a lost close from hanging the test.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("x-padding", std::string(32 << 10, 'a'));
  auto stream = stub->Stream(&context);
  stream->Write(Hello());
  stream->WritesDone();
  v1::StreamResponse response;
  while (stream->Read(&response)) {
  }
  EXPECT_FALSE(stream->Finish().ok());
  EXPECT_EQ(metrics().streams_opened.load(), 0u);
  ExpectStillServing();
}

TEST_F(HostileStreamTest, FloodOfStreamsFromOneAddressIsCapped) {
  constexpr int kStreams = 200;
  auto channel = grpc::CreateChannel(gateway_.target(), grpc::InsecureChannelCredentials());
  auto stub = v1::EventGateway::NewStub(channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>>>
      streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub->Stream(contexts.back().get()));
    streams.back()->Write(Hello());
  }
  // Every stream has reached the gateway once 50 are open and 150 refused.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (
      (metrics().streams_peer_limit.load() < kStreams - 50 || metrics().streams_open.load() < 50) &&
      std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metrics().streams_peer_limit.load(), uint64_t{kStreams - 50});
  // Half-closing lets the accepted streams finish with OK; the refused ones
  // keep their RESOURCE_EXHAUSTED.
  for (auto& stream : streams) stream->WritesDone();
  int exhausted = 0;
  for (auto& stream : streams) {
    v1::StreamResponse response;
    while (stream->Read(&response)) {
    }
    grpc::Status status = stream->Finish();
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
  }
  EXPECT_EQ(exhausted, kStreams - 50);
  // Finished streams give their places back.
  while (metrics().streams_open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metrics().streams_open.load(), 0);
  ExpectStillServing();
}

TEST_F(HostileStreamTest, ClientThatNeverReadsAcksHoldsBackOnlyItself) {
  auto stub = Stub();
  grpc::ClientContext context;
  auto stream = stub->Stream(&context);
  ASSERT_TRUE(stream->Write(Hello()));
  uint64_t seq = 1;
  for (int b = 0; b < 200; ++b) {
    v1::StreamRequest batch;
    batch.mutable_batch()->set_first_seq(seq);
    for (int i = 0; i < 10; ++i, ++seq) {
      *batch.mutable_batch()->add_events() = Publish(seq, absl::StrCat("c", i), "t/1", "p");
    }
    ASSERT_TRUE(stream->Write(batch));
  }
  // Never read: the acks stay unread while another stream is served.
  ExpectStillServing();
  ASSERT_TRUE(sink_.WaitFor(2000 + 1));
  context.TryCancel();
  stream->Finish();
  ExpectStillServing();
}

}  // namespace
}  // namespace webhookgw
