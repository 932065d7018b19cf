#ifndef WEBHOOKGW_TESTS_SECURITY_SECURITY_ENV_H_
#define WEBHOOKGW_TESTS_SECURITY_SECURITY_ENV_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/config.h"
#include "gateway/event_stream.h"
#include "gateway/gateway.h"
#include "tests/test_events.h"
#include "webhookgw/v1/gateway.grpc.pb.h"

namespace webhookgw::testing {

// A temporary directory with the certificates of make_certs.sh, made once
// per test binary. Not thread-safe; call from test set-up.
inline const std::string& CertDir() {
  static const std::string* dir = [] {
    char pattern[] = "/tmp/webhookgw-sec-XXXXXX";
    char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    auto* path = new std::string(made != nullptr ? made : "/tmp");
    std::string command =
        absl::StrCat(WEBHOOKGW_SOURCE_DIR "/tests/security/make_certs.sh ", *path, " >/dev/null");
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return path;
  }();
  return *dir;
}

inline std::string CertPath(const std::string& name) { return CertDir() + "/" + name; }

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline Config ParseOrDie(const std::string& text) {
  absl::StatusOr<Config> config = ParseConfig(text, "test.conf");
  EXPECT_TRUE(config.ok()) << config.status() << "\n" << text;
  return config.ok() ? *config : Config();
}

// A gateway in this process with its gRPC listener built by the same
// ConfigureGrpcListener as the binary's (TLS, limits), on 127.0.0.1.
class RunningGateway {
 public:
  explicit RunningGateway(Config config) {
    config.gateway.grpc_listen = "127.0.0.1:0";
    if (config.gateway.dead_letter_path == GatewaySettings().dead_letter_path) {
      config.gateway.dead_letter_path = "";
    }
    if (config.gateway.spool_dir == GatewaySettings().spool_dir) config.gateway.spool_dir = "";
    auto gateway = Gateway::Create(config);
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    if (!gateway.ok()) return;
    gateway_ = *std::move(gateway);
    gateway_->Start();
    service_ = std::make_unique<EventGatewayService>(gateway_.get());
    grpc::ServerBuilder builder;
    absl::Status st = ConfigureGrpcListener(gateway_->settings(), &builder, &port_);
    EXPECT_TRUE(st.ok()) << st;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
  }
  ~RunningGateway() {
    if (gateway_ == nullptr) return;
    gateway_->Drain(absl::Now() + absl::Seconds(2));
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  Gateway& gateway() { return *gateway_; }

 private:
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<EventGatewayService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

struct StreamResult {
  uint64_t acked = 0;
  grpc::Status status;
};

// Opens one stream, sends a hello and one publish, half-closes and reads
// until the gateway finishes the call.
inline StreamResult SendOne(const std::string& target,
                            const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                            const std::string& token) {
  // A connection of its own: gRPC would otherwise share the connection of
  // an earlier channel to the same target, which a test may just have had
  // the gateway close (oversized metadata) and which then fails this call.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(target, credentials, args);
  auto stub = v1::EventGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  auto stream = stub->Stream(&context);
  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_node("node-a");
  stream->Write(hello);
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  *batch.mutable_batch()->add_events() = Publish(1, "c1", "t/1", "hello");
  stream->Write(batch);
  stream->WritesDone();
  StreamResult result;
  v1::StreamResponse response;
  while (stream->Read(&response)) {
    if (response.has_ack()) result.acked = response.ack().seq();
  }
  result.status = stream->Finish();
  return result;
}

}  // namespace webhookgw::testing

#endif  // WEBHOOKGW_TESTS_SECURITY_SECURITY_ENV_H_
