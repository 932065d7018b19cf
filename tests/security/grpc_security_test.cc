// TLS and bearer tokens between adapters and the gateway, over real TLS
// with certificates made by the openssl CLI at test time: a good client is
// served; a client without a certificate, with one from another CA, with an
// expired one, without a token or with a wrong token is refused.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapter/adapter.h"
#include "tests/http_sink.h"
#include "tests/security/security_env.h"
#include "tests/test_events.h"
#include "webhookgw/v1/gateway.grpc.pb.h"

namespace webhookgw {
namespace {

using ::webhookgw::testing::CertPath;
using ::webhookgw::testing::HttpSink;
using ::webhookgw::testing::ParseOrDie;
using ::webhookgw::testing::ReadFile;
using ::webhookgw::testing::RunningGateway;
using ::webhookgw::testing::SendOne;
using ::webhookgw::testing::StreamResult;

constexpr char kToken[] = "tok-0123456789abcdef";
constexpr char kOtherToken[] = "tok-fedcba9876543210";

std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& client = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFile(CertPath("ca.pem"));
  if (!client.empty()) {
    options.pem_cert_chain = ReadFile(CertPath(client + ".pem"));
    options.pem_private_key = ReadFile(CertPath(client + ".key"));
  }
  return grpc::SslCredentials(options);
}

std::string MutualTlsConfig(const std::string& sink_url) {
  return absl::StrCat(R"(
gateway {
  tls {
    cert_file = ")",
                      CertPath("server.pem"), R"("
    key_file = ")",
                      CertPath("server.key"), R"("
    client_ca_file = ")",
                      CertPath("ca.pem"), R"("
    require_client_cert = true
  }
  auth { tokens = [")",
                      kToken, R"(", "${?WEBHOOKGW_TEST_UNSET_TOKEN}"] }
}
webhook {
  url = ")",
                      sink_url, R"("
  # The test sink serves 8 connections at a time (httplib's thread pool).
  pool_size = 4
  events = [{ event = on_message_publish }]
}
)");
}

class GrpcSecurityTest : public ::testing::Test {
 protected:
  HttpSink sink_;
  RunningGateway gateway_{ParseOrDie(MutualTlsConfig(sink_.url()))};
  GatewayMetrics& metrics() { return gateway_.gateway().metrics(); }
};

TEST_F(GrpcSecurityTest, ClientWithCertificateAndTokenIsServed) {
  StreamResult result = SendOne(gateway_.target(), Tls("client"), kToken);
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.acked, 1u);
  ASSERT_TRUE(sink_.WaitFor(1));
  EXPECT_EQ(metrics().streams_unauthenticated.load(), 0u);
}

TEST_F(GrpcSecurityTest, ClientWithoutCertificateIsRefused) {
  StreamResult result = SendOne(gateway_.target(), Tls(), kToken);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << result.status.error_message();
  EXPECT_EQ(result.acked, 0u);
  // The handshake fails before any call exists: no stream was opened.
  EXPECT_EQ(metrics().streams_opened.load(), 0u);
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(GrpcSecurityTest, ClientCertificateFromAnotherCaIsRefused) {
  StreamResult result = SendOne(gateway_.target(), Tls("rogue"), kToken);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(result.acked, 0u);
  EXPECT_EQ(metrics().streams_opened.load(), 0u);
}

TEST_F(GrpcSecurityTest, ExpiredClientCertificateIsRefused) {
  StreamResult result = SendOne(gateway_.target(), Tls("expired"), kToken);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(result.acked, 0u);
  EXPECT_EQ(metrics().streams_opened.load(), 0u);
}

TEST_F(GrpcSecurityTest, PlaintextClientIsRefused) {
  StreamResult result = SendOne(gateway_.target(), grpc::InsecureChannelCredentials(), kToken);
  EXPECT_FALSE(result.status.ok());
  EXPECT_EQ(result.acked, 0u);
  EXPECT_EQ(metrics().streams_opened.load(), 0u);
}

TEST_F(GrpcSecurityTest, WrongTokenIsRefusedAndCounted) {
  StreamResult result = SendOne(gateway_.target(), Tls("client"), kOtherToken);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(result.status.error_message(), "missing or invalid bearer token");
  EXPECT_EQ(result.acked, 0u);
  EXPECT_EQ(metrics().streams_unauthenticated.load(), 1u);
  EXPECT_EQ(sink_.count(), 0u);
}

TEST_F(GrpcSecurityTest, MissingTokenIsRefusedAndCounted) {
  StreamResult result = SendOne(gateway_.target(), Tls("client"), "");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(result.acked, 0u);
  // A token prefix is not the token.
  result = SendOne(gateway_.target(), Tls("client"), std::string(kToken).substr(0, 10));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(metrics().streams_unauthenticated.load(), 2u);
}

// The adapter library end to end: TLS with server verification against the
// CA (the gateway is addressed by IP, matched by the certificate's IP SAN),
// its client certificate, and the token.
TEST_F(GrpcSecurityTest, AdapterLibraryConnectsWithTlsAndToken) {
  wgw_adapter_options c;
  wgw_adapter_options_init(&c);
  EXPECT_EQ(c.tls_ca_file, nullptr);
  EXPECT_EQ(c.token, nullptr);
  const std::string target = gateway_.target();
  const std::string ca = CertPath("ca.pem");
  const std::string cert = CertPath("client.pem");
  const std::string key = CertPath("client.key");
  c.target = target.c_str();
  c.node = "node-a";
  c.streams = 2;
  c.tls_ca_file = ca.c_str();
  c.tls_cert_file = cert.c_str();
  c.tls_key_file = key.c_str();
  c.token = kToken;
  char err[256] = {0};
  wgw_adapter* adapter = wgw_adapter_create(&c, err, sizeof err);
  ASSERT_NE(adapter, nullptr) << err;
  for (int i = 0; i < 20; ++i) {
    std::string client = absl::StrCat("c", i);
    wgw_event e{};
    e.kind = WGW_MESSAGE_PUBLISH;
    e.clientid = client.c_str();
    e.from_client_id = client.c_str();
    e.topic = "t/1";
    e.payload = "x";
    e.payload_len = 1;
    ASSERT_EQ(wgw_adapter_emit(adapter, &e), WGW_OK);
  }
  ASSERT_TRUE(sink_.WaitFor(20));
  wgw_adapter_destroy(adapter, 10000);
  EXPECT_EQ(sink_.count(), 20u);
  EXPECT_EQ(metrics().streams_unauthenticated.load(), 0u);
}

TEST(AdapterTlsOptionsTest, UnreadableCaFailsCreate) {
  AdapterOptions options;
  options.target = "127.0.0.1:1";
  options.node = "n";
  options.tls_ca_file = "/nonexistent/ca.pem";
  auto adapter = Adapter::Create(options);
  EXPECT_FALSE(adapter.ok());
  EXPECT_NE(std::string(adapter.status().message()).find("tls_ca_file"), std::string::npos);
  options.tls_ca_file = "";
  options.tls_cert_file = "/x.pem";
  EXPECT_FALSE(Adapter::Create(options).ok()) << "a certificate without key or CA is refused";
}

// Server-only TLS with a token: a client without a certificate is served,
// since require_client_cert is false.
TEST(GrpcServerTlsTest, ServerOnlyTlsServesClientsWithoutCertificate) {
  HttpSink sink;
  RunningGateway gateway(ParseOrDie(
      absl::StrCat(R"(
gateway.tls { cert_file = ")",
                   CertPath("server.pem"), R"(", key_file = ")", CertPath("server.key"), R"("
              require_client_cert = false }
webhook { url = ")",
                   sink.url(), R"(", events = [{ event = on_message_publish }] }
)")));
  StreamResult result = SendOne(gateway.target(), Tls(), "");
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.acked, 1u);
}

}  // namespace
}  // namespace webhookgw
