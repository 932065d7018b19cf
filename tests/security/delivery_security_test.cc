// The gateway towards endpoints: HTTPS verified by default, Standard
// Webhooks signatures checked by the reference npm package, the outbound
// address policy at load and at send time, and redirects left unfollowed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/http_sink.h"
#include "tests/security/security_env.h"

namespace webhookgw {
namespace {

using ::testing::HasSubstr;
using ::webhookgw::testing::CertDir;
using ::webhookgw::testing::CertPath;
using ::webhookgw::testing::HttpSink;
using ::webhookgw::testing::ParseOrDie;
using ::webhookgw::testing::ReadFile;
using ::webhookgw::testing::RunningGateway;
using ::webhookgw::testing::SendOne;
using ::webhookgw::testing::StreamResult;

// One delivery attempt per event, so that refusals finish quickly.
constexpr char kNoRetry[] = "retry { max_attempts = 1 }\n  pool_size = 2\n";

// An HTTPS server on 127.0.0.1 with the test CA's server certificate,
// counting requests.
class HttpsSink {
 public:
  HttpsSink() : server_(CertPath("server.pem").c_str(), CertPath("server.key").c_str()) {
    server_.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      ++count_;
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~HttpsSink() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return absl::StrCat("https://127.0.0.1:", port_, "/hook"); }
  int count() const { return count_.load(); }

 private:
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> count_{0};
};

std::string HttpsConfig(const std::string& url, const std::string& tls) {
  return absl::StrCat("webhook {\n  url = \"", url, "\"\n  ", kNoRetry, "  ", tls,
                      "\n  events = [{ event = on_message_publish }]\n}\n");
}

TEST(HttpsDeliveryTest, UnknownCaIsRefusedByDefault) {
  CertDir();
  HttpsSink sink;
  RunningGateway gateway(ParseOrDie(HttpsConfig(sink.url(), "")));
  StreamResult result = SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.acked, 1u) << "acked once given up on (dead-lettered)";
  EXPECT_EQ(sink.count(), 0);
  const EndpointMetrics& m = *gateway.gateway().endpoint_metrics()[0];
  EXPECT_EQ(m.dead_lettered.load(), 1u);
  EXPECT_EQ(m.delivered.load(), 0u);
}

TEST(HttpsDeliveryTest, ConfiguredCaIsAccepted) {
  HttpsSink sink;
  RunningGateway gateway(ParseOrDie(
      HttpsConfig(sink.url(), absl::StrCat("tls { ca_file = \"", CertPath("ca.pem"), "\" }"))));
  StreamResult result = SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(sink.count(), 1);
  EXPECT_EQ(gateway.gateway().endpoint_metrics()[0]->delivered.load(), 1u);
}

TEST(HttpsDeliveryTest, WrongCaIsRefused) {
  HttpsSink sink;
  RunningGateway gateway(ParseOrDie(HttpsConfig(
      sink.url(), absl::StrCat("tls { ca_file = \"", CertPath("other-ca.pem"), "\" }"))));
  SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  EXPECT_EQ(sink.count(), 0);
  EXPECT_EQ(gateway.gateway().endpoint_metrics()[0]->dead_lettered.load(), 1u);
}

TEST(HttpsDeliveryTest, InsecureSkipVerifyDelivers) {
  HttpsSink sink;
  RunningGateway gateway(
      ParseOrDie(HttpsConfig(sink.url(), "tls { insecure_skip_verify = true }")));
  SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  EXPECT_EQ(sink.count(), 1);
}

TEST(HttpsDeliveryTest, MissingCaFileFailsAtStart) {
  Config config =
      ParseOrDie(HttpsConfig("https://127.0.0.1:1/", "tls { ca_file = \"/nonexistent/ca.pem\" }"));
  auto gateway = Gateway::Create(config);
  ASSERT_FALSE(gateway.ok());
  EXPECT_THAT(std::string(gateway.status().message()),
              HasSubstr("tls.ca_file: /nonexistent/ca.pem"));
}

// Signatures checked by the `standardwebhooks` npm package, installed into
// the build directory on first use.
class SigningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    node_dir_ = new std::string(WEBHOOKGW_BINARY_DIR "/node");
    std::string check =
        absl::StrCat("test -f ", *node_dir_, "/node_modules/standardwebhooks/package.json");
    if (std::system(check.c_str()) != 0) {
      std::string install = absl::StrCat("npm install --silent --no-audit --no-fund --prefix ",
                                         *node_dir_, " standardwebhooks@1 >/dev/null 2>&1");
      installed_ = std::system(install.c_str()) == 0;
    } else {
      installed_ = true;
    }
  }

  // Runs the verifier on a recorded request; true when the package accepts it.
  bool Verify(const std::string& secret, const HttpSink::Request& r, const std::string& body) {
    std::string dir = CertDir();
    std::ofstream(dir + "/body.txt") << body;
    std::ofstream(dir + "/headers.json")
        << "{\"webhook-id\":\"" << r.headers.find("webhook-id")->second
        << "\",\"webhook-timestamp\":\"" << r.headers.find("webhook-timestamp")->second
        << "\",\"webhook-signature\":\"" << r.headers.find("webhook-signature")->second << "\"}";
    std::string command = absl::StrCat("NODE_PATH=", *node_dir_, "/node_modules node ",
                                       WEBHOOKGW_SOURCE_DIR "/tests/security/verify_signature.js ",
                                       secret, " ", dir, "/body.txt ", dir, "/headers.json");
    return std::system(command.c_str()) == 0;
  }

  static std::string* node_dir_;
  static bool installed_;
};

std::string* SigningTest::node_dir_ = nullptr;
bool SigningTest::installed_ = false;

TEST_F(SigningTest, SignaturesVerifyWithTheReferencePackage) {
  if (!installed_) GTEST_SKIP() << "npm install standardwebhooks failed (offline?)";
  const std::string secret1 = "whsec_" + absl::Base64Escape("0123456789abcdef0123456789abcdef");
  const std::string secret2 = "whsec_" + absl::Base64Escape("another secret of 32 bytes......");
  const std::string unused = "whsec_" + absl::Base64Escape("a third secret, never configured");
  setenv("WEBHOOKGW_TEST_SECRET", secret2.c_str(), 1);
  HttpSink sink;
  RunningGateway gateway(ParseOrDie(absl::StrCat(R"(
webhook {
  url = ")",
                                                 sink.url(), R"("
  pool_size = 2
  signing { secrets = [")",
                                                 secret1, R"(", ${?WEBHOOKGW_TEST_SECRET}] }
  events = [{ event = on_message_publish }]
})")));
  StreamResult result = SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  ASSERT_TRUE(result.status.ok());
  ASSERT_TRUE(sink.WaitFor(1));
  HttpSink::Request r = sink.requests()[0];
  EXPECT_EQ(r.headers.find("webhook-id")->second, "node-a-7-1");
  std::string signature = r.headers.find("webhook-signature")->second;
  EXPECT_EQ(std::count(signature.begin(), signature.end(), ' '), 1) << signature;
  // Either secret verifies: receivers can rotate.
  EXPECT_TRUE(Verify(secret1, r, r.body));
  EXPECT_TRUE(Verify(secret2, r, r.body));
  EXPECT_FALSE(Verify(unused, r, r.body));
  std::string tampered = r.body;
  tampered[tampered.size() / 2] ^= 1;
  EXPECT_FALSE(Verify(secret1, r, tampered));
  unsetenv("WEBHOOKGW_TEST_SECRET");
}

TEST(SigningConfigTest, InvalidSecretIsAConfigErrorThatHidesIt) {
  absl::StatusOr<Config> config = ParseConfig(R"(
webhook {
  url = "http://127.0.0.1:1/"
  signing { secrets = ["whsec_not*base64*secret"] }
  events = [{ event = on_message_publish }]
})",
                                              "t.conf");
  ASSERT_FALSE(config.ok());
  std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("t.conf:4: webhook.signing.secrets[0]: expected a secret"));
  EXPECT_EQ(message.find("not*base64"), std::string::npos) << message;
}

TEST(SigningConfigTest, SecretFilesAreRead) {
  std::string path = CertDir() + "/secret.txt";
  std::ofstream(path) << "whsec_" << absl::Base64Escape("0123456789abcdef0123456789abcdef") << "\n";
  HttpSink sink;
  RunningGateway gateway(ParseOrDie(absl::StrCat(R"(
webhook {
  url = ")",
                                                 sink.url(), R"("
  pool_size = 1
  signing.secret_files = [")",
                                                 path, R"("]
  events = [{ event = on_message_publish }]
})")));
  SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  ASSERT_TRUE(sink.WaitFor(1));
  EXPECT_EQ(sink.requests()[0].headers.count("webhook-signature"), 1u);
}

TEST(OutboundPolicyConfigTest, DeniedLiteralAddressIsRefusedAtLoad) {
  absl::StatusOr<Config> config = ParseConfig(R"(
gateway.outbound.deny_cidrs = ["127.0.0.0/8"]
webhook {
  url = "http://127.0.0.1:8080/hook"
  events = [{ event = on_message_publish }]
})",
                                              "t.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("webhook.url: outbound policy: 127.0.0.1 is in denied range 127.0.0.0/8"));
  // The defaults refuse the metadata address without any configuration.
  config = ParseConfig(
      "webhook { url = \"http://169.254.169.254/latest\", events = [{event = "
      "on_client_connect}] }",
      "t.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("169.254.169.254/32"));
  config = ParseConfig(
      "gateway.outbound.https_only = true\n"
      "webhook { url = \"http://example.com/\", events = [{event = on_client_connect}] }",
      "t.conf");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("https_only"));
}

TEST(OutboundPolicyDeliveryTest, NameResolvingIntoDeniedRangeIsRefusedAtSend) {
  HttpSink sink;
  std::string dead_letters = CertDir() + "/dead-letters.jsonl";
  std::remove(dead_letters.c_str());
  RunningGateway gateway(ParseOrDie(absl::StrCat(R"(
gateway {
  outbound.deny_cidrs = ["127.0.0.0/8", "::1/128"]
  dead_letter_path = ")",
                                                 dead_letters, R"("
}
webhook {
  url = "http://localhost:)",
                                                 sink.port(), R"(/hook"
  pool_size = 1
  events = [{ event = on_message_publish }]
})")));
  StreamResult result = SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(result.acked, 1u);
  EXPECT_EQ(sink.count(), 0u);
  const EndpointMetrics& m = *gateway.gateway().endpoint_metrics()[0];
  EXPECT_EQ(m.outbound_refused.load(), 1u);
  EXPECT_EQ(m.dead_lettered.load(), 1u);
  EXPECT_EQ(m.retries.load(), 0u) << "a refusal is final";
  EXPECT_THAT(ReadFile(dead_letters), HasSubstr("outbound policy: "));
  EXPECT_THAT(ReadFile(dead_letters), HasSubstr("is in denied range"));
}

TEST(RedirectTest, RedirectIsFinalAndNotFollowed) {
  HttpSink target;
  httplib::Server redirecting;
  std::atomic<int> redirected{0};
  redirecting.Post(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++redirected;
    res.set_redirect(target.url("/elsewhere"), 302);
  });
  int port = redirecting.bind_to_any_port("127.0.0.1");
  std::thread thread([&] { redirecting.listen_after_bind(); });
  while (!redirecting.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  {
    RunningGateway gateway(ParseOrDie(absl::StrCat(R"(
webhook {
  url = "http://127.0.0.1:)",
                                                   port, R"(/hook"
  pool_size = 1
  events = [{ event = on_message_publish }]
})")));
    SendOne(gateway.target(), grpc::InsecureChannelCredentials(), "");
    const EndpointMetrics& m = *gateway.gateway().endpoint_metrics()[0];
    EXPECT_EQ(m.dead_lettered.load(), 1u);
    EXPECT_EQ(m.retries.load(), 0u);
    EXPECT_EQ(m.responses[3].load(), 1u);
  }
  redirecting.stop();
  thread.join();
  EXPECT_EQ(redirected.load(), 1);
  EXPECT_EQ(target.count(), 0u);
}

}  // namespace
}  // namespace webhookgw
