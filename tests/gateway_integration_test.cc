// A gateway with two webhooks on different filters, fed over a real gRPC
// connection, delivering to two real HTTP servers.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gateway/config.h"
#include "gateway/event_stream.h"
#include "gateway/gateway.h"
#include "tests/http_sink.h"
#include "tests/test_events.h"
#include "webhookgw/v1/gateway.grpc.pb.h"

namespace webhookgw {
namespace {

using ::webhookgw::testing::BaseEvent;
using ::webhookgw::testing::HttpSink;
using ::webhookgw::testing::Publish;
using json = nlohmann::json;

// A gateway and its gRPC server on 127.0.0.1, port chosen by the OS.
class RunningGateway {
 public:
  explicit RunningGateway(const Config& config) {
    auto gateway = Gateway::Create(config);
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    gateway_->Start();
    service_ = std::make_unique<EventGatewayService>(gateway_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
  }
  ~RunningGateway() {
    gateway_->Drain(absl::Now() + absl::Seconds(2));
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  Gateway& gateway() { return *gateway_; }

 private:
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<EventGatewayService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Sends `events` on one stream in batches of `batch_size`, half-closes, and
// returns the last ack and the final status.
std::pair<uint64_t, grpc::Status> SendAll(const std::string& target,
                                          const std::vector<v1::Event>& events,
                                          int batch_size = 5) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = v1::EventGateway::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub->Stream(&context);
  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_node("node-a");
  stream->Write(hello);
  uint64_t seq = 1;
  for (size_t i = 0; i < events.size(); i += batch_size) {
    v1::StreamRequest request;
    request.mutable_batch()->set_first_seq(seq);
    for (size_t j = i; j < events.size() && j < i + batch_size; ++j) {
      *request.mutable_batch()->add_events() = events[j];
      ++seq;
    }
    stream->Write(request);
  }
  stream->WritesDone();
  uint64_t last_ack = 0;
  v1::StreamResponse response;
  while (stream->Read(&response)) {
    if (response.has_ack()) {
      EXPECT_GE(response.ack().seq(), last_ack) << "acks never go backwards";
      last_ack = response.ack().seq();
    }
  }
  return {last_ack, stream->Finish()};
}

v1::Event Connect(uint64_t seq, const std::string& client, bool with_username) {
  v1::Event e = BaseEvent(seq);
  auto* m = e.mutable_client_connect();
  m->set_clientid(client);
  if (with_username) m->set_username("u1");
  m->set_ipaddress("127.0.0.1");
  m->set_keepalive(60);
  m->set_proto_ver(4);
  return e;
}

std::vector<v1::Event> AllTwelveKinds() {
  std::vector<v1::Event> events;
  uint64_t seq = 1;
  events.push_back(Connect(seq++, "c1", true));
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_connack();
    m->set_clientid("c1");
    m->set_username("u1");
    m->set_keepalive(60);
    m->set_proto_ver(4);
    m->set_reason_code(0);
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_connected();
    m->set_clientid("c1");
    m->set_username("u1");
    m->set_ipaddress("127.0.0.1");
    m->set_keepalive(60);
    m->set_proto_ver(4);
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_subscribe();
    m->set_clientid("c1");
    m->set_topic("cmd/lamp/#");
    m->set_qos(1);
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_subscribe();
    m->set_clientid("c1");
    m->set_topic("other/+");
    m->set_qos(0);
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_session_subscribed();
    m->set_clientid("c1");
    m->set_topic("cmd/lamp/#");
    m->set_qos(1);
    events.push_back(e);
  }
  events.push_back(Publish(seq++, "c1", "sensors/k1/temp", "21.5"));
  events.push_back(Publish(seq++, "c1", "sensors/k1/hum", "40"));
  events.push_back(Publish(seq++, "c1", "$SYS/broker/uptime", "12"));
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_message_delivered();
    m->set_clientid("c2");
    m->set_from_client_id("c1");
    m->set_from_username("u1");
    m->set_topic("sensors/k1/temp");
    m->set_qos(1);
    m->set_payload("21.5");
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_message_acked();
    m->set_clientid("c2");
    m->set_from_client_id("c1");
    m->set_topic("sensors/k1/temp");
    m->set_qos(1);
    m->set_payload("21.5");
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_unsubscribe();
    m->set_clientid("c1");
    m->set_topic("cmd/lamp/#");
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_session_unsubscribed();
    m->set_clientid("c1");
    m->set_topic("cmd/lamp/#");
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_session_terminated();
    m->set_clientid("c1");
    m->set_reason("normal");
    events.push_back(e);
  }
  {
    v1::Event e = BaseEvent(seq++);
    auto* m = e.mutable_client_disconnected();
    m->set_clientid("c1");
    m->set_username("u1");
    m->set_reason("normal");
    events.push_back(e);
  }
  events.push_back(Connect(seq++, "c3", false));
  return events;
}

std::string Summarize(const HttpSink::Request& request) {
  json body = json::parse(request.body);
  std::string who = body.contains("clientid") ? body["clientid"].get<std::string>()
                                              : body["from_client_id"].get<std::string>();
  std::string topic = body.contains("topic") ? body["topic"].get<std::string>() : "";
  return absl::StrCat(body["action"].get<std::string>(), " ", who, " ", topic);
}

TEST(GatewayIntegrationTest, TwoWebhooksReceiveExactlyWhatTheirFiltersSelect) {
  HttpSink nanomq;
  HttpSink emqx;
  std::string text =
      absl::StrReplaceAll(R"(
webhook {
  url = "URL_A"
  headers.content-type = "application/json"
  headers.x-api-key = "k-123"
  body.encoding = plain
  pool_size = 2
  events = [
    { event = "on_message_publish", topic = "sensors/+/temp" }
    { event = "on_message_publish", topic = "sensors/#" }
    { event = "on_client_connack" }
    { event = "on_client_disconnected" }
  ]
}
webhooks = [
  {
    name = "audit"
    url = "URL_B"
    body.encoding = base64
    body.username_absent = "null"
    pool_size = 4
    events = [
      { event = "on_client_connect" }
      { event = "on_client_subscribe", topic = "cmd/#" }
      { event = "on_client_unsubscribe" }
      { event = "on_session_subscribed" }
      { event = "on_session_unsubscribed" }
      { event = "on_session_terminated" }
      { event = "on_message_publish", topic = "#" }
      { event = "on_message_delivered" }
      { event = "on_message_acked", topic = "sensors/k1/temp" }
      { event = "on_client_connected" }
    ]
  }
]
gateway { grpc_listen = "127.0.0.1:0", admin_listen = "", dead_letter_path = "", spool_dir = "" }
)",
                          {{"URL_A", nanomq.url("/hook?src=nanomq")}, {"URL_B", emqx.url()}});
  absl::StatusOr<Config> config = ParseConfig(text, "two-webhooks.conf");
  ASSERT_TRUE(config.ok()) << config.status();

  std::vector<v1::Event> events = AllTwelveKinds();
  {
    RunningGateway gateway(*config);
    auto [ack, status] = SendAll(gateway.target(), events);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(ack, events.size()) << "every event acked once delivered";
  }

  std::vector<std::string> got_a;
  for (const auto& r : nanomq.requests()) got_a.push_back(Summarize(r));
  std::vector<std::string> want_a = {"client_connack c1 ", "message_publish c1 sensors/k1/temp",
                                     "message_publish c1 sensors/k1/hum",
                                     "client_disconnected c1 "};
  EXPECT_EQ(got_a, want_a) << "one POST per event even when two rules match";

  std::multiset<std::string> got_b;
  for (const auto& r : emqx.requests()) got_b.insert(Summarize(r));
  std::multiset<std::string> want_b = {"client_connect c1 ",
                                       "client_connected c1 ",
                                       "client_subscribe c1 cmd/lamp/#",
                                       "session_subscribed c1 cmd/lamp/#",
                                       "message_publish c1 sensors/k1/temp",
                                       "message_publish c1 sensors/k1/hum",
                                       "message_delivered c2 sensors/k1/temp",
                                       "message_acked c2 sensors/k1/temp",
                                       "client_unsubscribe c1 cmd/lamp/#",
                                       "session_unsubscribed c1 cmd/lamp/#",
                                       "session_terminated c1 ",
                                       "client_connect c3 "};
  EXPECT_EQ(got_b, want_b) << "'#' does not match $SYS topics; other/+ is not under cmd/#";

  // Request line, headers and body of the NanoMQ-style webhook.
  for (const auto& r : nanomq.requests()) {
    EXPECT_EQ(r.path, "/hook");
    EXPECT_EQ(r.headers.find("Content-Type")->second, "application/json");
    EXPECT_EQ(r.headers.find("x-api-key")->second, "k-123");
    EXPECT_EQ(std::stoul(r.headers.find("Content-Length")->second), r.body.size());
  }
  json publish = json::parse(nanomq.requests()[1].body);
  EXPECT_EQ(publish, json::parse(R"({"action":"message_publish","from_client_id":"c1",
      "from_username":"u1","topic":"sensors/k1/temp","qos":1,"retain":false,
      "payload":"21.5","ts":1706703724960,"node":"node-a"})"));
  // The second webhook configured no content-type: the JSON default is sent.
  for (const auto& r : emqx.requests()) {
    EXPECT_EQ(r.headers.count("Content-Type"), 1u) << r.body;
    EXPECT_EQ(r.headers.find("Content-Type")->second, "application/json");
  }
  for (const auto& r : emqx.requests()) {
    json body = json::parse(r.body);
    if (body["action"] == "message_publish" && body["topic"] == "sensors/k1/temp") {
      EXPECT_EQ(body["payload"], "MjEuNQ==") << r.body;
    }
    if (body["action"] == "client_connect" && body["clientid"] == "c3") {
      EXPECT_TRUE(body["username"].is_null()) << r.body;
    }
  }
}

TEST(GatewayIntegrationTest, KeptAliveConnectionsAreReused) {
  HttpSink sink;
  std::string text = absl::StrCat(R"(webhook {
  url = ")",
                                  sink.url(), R"("
  pool_size = 3
  events = [ { event = "on_message_publish" } ]
}
gateway { admin_listen = "", dead_letter_path = "", spool_dir = "" }
)");
  absl::StatusOr<Config> config = ParseConfig(text, "reuse.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<v1::Event> events;
  for (int i = 1; i <= 300; ++i) {
    events.push_back(Publish(i, absl::StrCat("client-", i % 17), "t/1", absl::StrCat(i)));
  }
  RunningGateway gateway(*config);
  auto [ack, status] = SendAll(gateway.target(), events, 50);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ack, 300u);
  EXPECT_EQ(sink.count(), 300u);
  EXPECT_GE(sink.connections(), 1u);
  EXPECT_LE(sink.connections(), 3u) << "at most pool_size connections, each kept alive";
}

// With batch on, one POST carries a JSON array of the very bodies that
// single delivery sends; per-client order holds across and within batches;
// the events of a failed batch are retried; a batch respects max_events.
TEST(GatewayIntegrationTest, BatchesCarryTheSameBodiesInClientOrder) {
  HttpSink single;
  int failures_left = 2;
  absl::Mutex mu;
  HttpSink batched([&](const HttpSink::Request&) {
    absl::MutexLock lock(&mu);
    return failures_left-- > 0 ? 503 : 204;
  });
  std::string text = absl::StrCat(R"(webhooks = [
  { name = "single", url = ")",
                                  single.url(), R"(", pool_size = 2,
    events = [ { event = "on_message_publish" } ] },
  { name = "batched", url = ")",
                                  batched.url(), R"(", pool_size = 2,
    retry { initial_backoff = 10ms, max_backoff = 20ms },
    batch { max_events = 25, linger = 20ms },
    events = [ { event = "on_message_publish" } ] }
]
gateway { admin_listen = "", dead_letter_path = "", spool_dir = "" }
)");
  absl::StatusOr<Config> config = ParseConfig(text, "batch.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  constexpr int kEvents = 400;
  std::vector<v1::Event> events;
  for (int i = 1; i <= kEvents; ++i) {
    events.push_back(Publish(i, absl::StrCat("client-", i % 7), "t/1", absl::StrCat(i)));
  }
  RunningGateway gateway(*config);
  auto [ack, status] = SendAll(gateway.target(), events, 50);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ack, static_cast<uint64_t>(kEvents));

  // The single endpoint's bodies, by event id.
  std::map<std::string, json> by_id;
  for (const HttpSink::Request& r : single.requests()) {
    json body = json::parse(r.body);
    by_id[body["payload"].get<std::string>()] = body;
  }
  ASSERT_EQ(by_id.size(), static_cast<size_t>(kEvents));

  std::vector<HttpSink::Request> posts = batched.requests();
  ASSERT_GE(posts.size(), 3u);
  // The first two posts failed with 503; their events come again later.
  std::set<std::string> failed;
  for (size_t i = 0; i < 2; ++i) {
    for (const json& body : json::parse(posts[i].body)) failed.insert(body["payload"]);
  }
  EXPECT_GE(failed.size(), 2u);
  std::map<std::string, int> last_n;  // client -> last payload number seen
  size_t delivered = 0;
  for (size_t i = 2; i < posts.size(); ++i) {
    const HttpSink::Request& r = posts[i];
    EXPECT_EQ(r.headers.find("Content-Type")->second, "application/json");
    json array = json::parse(r.body);
    ASSERT_TRUE(array.is_array()) << r.body;
    EXPECT_GE(array.size(), 1u);
    EXPECT_LE(array.size(), 25u);
    for (const json& body : array) {
      std::string payload = body["payload"].get<std::string>();
      ASSERT_EQ(by_id.count(payload), 1u) << payload;
      EXPECT_EQ(body, by_id[payload]) << "the same body as single delivery";
      std::string client = body["from_client_id"].get<std::string>();
      int n = std::stoi(payload);
      EXPECT_GT(n, last_n[client]) << "order of " << client;
      last_n[client] = n;
      failed.erase(payload);
      ++delivered;
    }
  }
  EXPECT_EQ(delivered, static_cast<size_t>(kEvents)) << "each event once after the retries";
  EXPECT_TRUE(failed.empty()) << "events of the failed batches were delivered later";
  EXPECT_LT(posts.size(), static_cast<size_t>(kEvents) / 4) << "events were batched";
}

TEST(GatewayIntegrationTest, EndpointsAreIsolated) {
  // One endpoint refuses connections (nothing listens there); the other must
  // still receive everything while the first keeps retrying.
  HttpSink healthy;
  int dead_port = 0;
  {
    HttpSink closed;
    dead_port = closed.port();
  }
  std::string text = absl::StrCat(R"(webhooks = [
  { name = "dead", url = "http://127.0.0.1:)",
                                  dead_port, R"(/", pool_size = 2,
    retry { max_attempts = 1000, initial_backoff = 50ms, max_backoff = 100ms }
    events = [ { event = "on_message_publish" } ] }
  { name = "healthy", url = ")",
                                  healthy.url(), R"(", pool_size = 2,
    events = [ { event = "on_message_publish" } ] }
]
gateway { admin_listen = "", dead_letter_path = "", spool_dir = "" }
)");
  absl::StatusOr<Config> config = ParseConfig(text, "isolation.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  RunningGateway gateway(*config);
  std::vector<v1::Event> events;
  for (int i = 1; i <= 100; ++i) events.push_back(Publish(i, absl::StrCat("c", i % 5), "t", "x"));

  auto channel = grpc::CreateChannel(gateway.target(), grpc::InsecureChannelCredentials());
  auto stub = v1::EventGateway::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Stream(&context);
  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  stream->Write(hello);
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  for (const auto& e : events) *batch.mutable_batch()->add_events() = e;
  stream->Write(batch);
  EXPECT_TRUE(healthy.WaitFor(100)) << "healthy endpoint got " << healthy.count();
  // Nothing is acked: every event still waits for the dead endpoint.
  auto& metrics = *gateway.gateway().endpoint_metrics()[0];
  for (int i = 0; i < 1000 && metrics.retries.load() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(metrics.retries.load(), 10u) << "the dead endpoint keeps retrying";
  EXPECT_EQ(metrics.delivered.load(), 0u);
  EXPECT_EQ(metrics.dead_lettered.load(), 0u);
  EXPECT_EQ(gateway.gateway().endpoint_metrics()[1]->delivered.load(), 100u);
  context.TryCancel();
}

// Sends `requests` on one stream to a gateway with one publish webhook,
// half-closes, and returns how the gateway ended the stream.
grpc::Status StreamEndingOf(const std::vector<v1::StreamRequest>& requests) {
  HttpSink sink;
  absl::StatusOr<Config> config = ParseConfig(
      absl::StrCat("webhook { url = \"", sink.url(),
                   "\", events = [ {event = on_message_publish} ] }\n",
                   "gateway { admin_listen = \"\", dead_letter_path = \"\", spool_dir = \"\" }\n"),
      "refusal.conf");
  EXPECT_TRUE(config.ok()) << config.status();
  RunningGateway gateway(*config);
  auto channel = grpc::CreateChannel(gateway.target(), grpc::InsecureChannelCredentials());
  auto stub = v1::EventGateway::NewStub(channel);
  grpc::ClientContext context;
  auto stream = stub->Stream(&context);
  for (const auto& request : requests) stream->Write(request);
  stream->WritesDone();
  v1::StreamResponse response;
  while (stream->Read(&response)) {
  }
  return stream->Finish();
}

TEST(GatewayIntegrationTest, BatchWithSequenceGapIsRefused) {
  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(5);
  *batch.mutable_batch()->add_events() = Publish(1, "c", "t", "x");
  grpc::Status status = StreamEndingOf({hello, batch});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "batch first_seq 5, expected 1");
}

TEST(GatewayIntegrationTest, StreamWithoutHelloIsRefused) {
  v1::StreamRequest batch;
  batch.mutable_batch()->set_first_seq(1);
  grpc::Status status = StreamEndingOf({batch});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "the first message of a stream must be a hello");
}

}  // namespace
}  // namespace webhookgw

namespace webhookgw {
namespace {

TEST(GatewayIntegrationTest, ReloadSwitchesFiltersForNewEventsOnly) {
  HttpSink sink;
  auto config_for = [&](const std::string& topic) {
    return ParseConfig(
        absl::StrCat(
            "webhook { url = \"", sink.url(), "\"\n",
            "events = [ { event = on_message_publish, topic = \"", topic, "\" } ] }\n",
            "gateway { admin_listen = \"\", dead_letter_path = \"\", spool_dir = \"\" }\n"),
        "reload.conf");
  };
  absl::StatusOr<Config> before = config_for("old/#");
  absl::StatusOr<Config> after = config_for("new/#");
  ASSERT_TRUE(before.ok() && after.ok());
  RunningGateway gateway(*before);

  std::vector<v1::Event> first = {Publish(1, "c", "old/1", "a"), Publish(2, "c", "new/1", "b")};
  auto [ack1, status1] = SendAll(gateway.target(), first);
  ASSERT_TRUE(status1.ok()) << status1.error_message();
  EXPECT_EQ(ack1, 2u);

  ASSERT_TRUE(gateway.gateway().Reload(*after).ok());
  std::vector<v1::Event> second = {Publish(3, "c", "old/2", "c"), Publish(4, "c", "new/2", "d")};
  auto [ack2, status2] = SendAll(gateway.target(), second);
  ASSERT_TRUE(status2.ok()) << status2.error_message();
  EXPECT_EQ(ack2, 2u);

  std::vector<std::string> topics;
  for (const auto& r : sink.requests()) topics.push_back(json::parse(r.body)["topic"]);
  EXPECT_EQ(topics, (std::vector<std::string>{"old/1", "new/2"}));
}

}  // namespace
}  // namespace webhookgw

namespace webhookgw {
namespace {

TEST(GatewayIntegrationTest, FullQueueStopsReadingInsteadOfDropping) {
  // A slow endpoint and a small queue: the gateway must hold at most the
  // queue bound plus the batch it was reading, and still deliver everything.
  HttpSink slow([](const HttpSink::Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return 200;
  });
  std::string text =
      absl::StrCat("webhook { url = \"", slow.url(), "\", pool_size = 2\n",
                   "events = [ { event = on_message_publish } ] }\n",
                   "gateway { admin_listen = \"\", dead_letter_path = \"\", spool_dir = \"\",\n",
                   "          max_queue_events = 20 }\n");
  absl::StatusOr<Config> config = ParseConfig(text, "budget.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  RunningGateway gateway(*config);
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{0};
  std::thread sampler([&] {
    while (!done) {
      int64_t held = gateway.gateway().metrics().queue_events.load();
      if (held > peak) peak = held;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<v1::Event> events;
  for (int i = 1; i <= 400; ++i) events.push_back(Publish(i, absl::StrCat("c", i % 40), "t", "x"));
  auto [ack, status] = SendAll(gateway.target(), events, 10);
  done = true;
  sampler.join();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ack, 400u);
  EXPECT_EQ(slow.count(), 400u);
  EXPECT_GT(peak.load(), 0);
  EXPECT_LE(peak.load(), 30) << "queue bound 20 plus one batch of 10";
}

// A webhook whose endpoint refuses connections parks what it holds, so the
// stream is acked although that endpoint delivered nothing; a gateway
// started later on the same spool directory delivers the parked events, in
// client order, to the endpoint now configured under that name.
TEST(GatewayIntegrationTest, AStalledWebhookParksAndALaterGatewayDeliversTheSpool) {
  char tmpl[] = "/tmp/wgw-park-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string spool = tmpl;
  HttpSink up;
  // A port nothing listens on: bound, never listened to, then closed.
  int closed_port = 0;
  {
    HttpSink gone;
    closed_port = gone.port();
  }
  auto config_for = [&](const std::string& down_url) {
    std::string text =
        absl::StrReplaceAll(R"(
webhooks = [
  { name = "up", url = "URL_UP", events = [ { event = "on_message_publish" } ] }
  {
    name = "down"
    url = "URL_DOWN"
    connect_timeout = 200ms
    retry { max_attempts = 1000, initial_backoff = 10ms, max_backoff = 50ms, max_age = 1h }
    park { after = 50ms }
    events = [ { event = "on_message_publish" } ]
  }
]
gateway { admin_listen = "", dead_letter_path = "", spool_dir = "SPOOL" }
)",
                            {{"URL_UP", up.url()}, {"URL_DOWN", down_url}, {"SPOOL", spool}});
    absl::StatusOr<Config> config = ParseConfig(text, "park.conf");
    EXPECT_TRUE(config.ok()) << config.status();
    return *config;
  };

  constexpr int kClients = 7;
  constexpr int kEvents = 140;
  std::vector<v1::Event> events;
  for (int i = 1; i <= kEvents; ++i) {
    events.push_back(Publish(i, absl::StrCat("c", i % kClients), "t", std::to_string(i)));
  }
  {
    RunningGateway gateway(config_for(absl::StrCat("http://127.0.0.1:", closed_port, "/")));
    auto [ack, status] = SendAll(gateway.target(), events);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(ack, static_cast<uint64_t>(kEvents)) << "acked once parked";
    ASSERT_TRUE(up.WaitFor(kEvents));
    for (EndpointMetrics* m : gateway.gateway().endpoint_metrics()) {
      EXPECT_EQ(m->parked.load(), m->webhook == "down" ? kEvents : 0) << m->webhook;
    }
  }
  // Stopped with the events still parked: they are in the spool.
  EXPECT_EQ(system(("test -n \"$(ls " + spool + "/down/*.jsonl)\"").c_str()), 0);

  HttpSink back;
  {
    RunningGateway gateway(config_for(back.url()));
    ASSERT_TRUE(back.WaitFor(kEvents)) << back.count();
  }
  std::map<std::string, std::vector<int>> per_client;
  for (const auto& r : back.requests()) {
    json body = json::parse(r.body);
    per_client[body["from_client_id"]].push_back(std::stoi(body["payload"].get<std::string>()));
  }
  EXPECT_EQ(back.count(), static_cast<size_t>(kEvents)) << "none twice";
  EXPECT_EQ(per_client.size(), static_cast<size_t>(kClients));
  for (const auto& [client, payloads] : per_client) {
    EXPECT_TRUE(std::is_sorted(payloads.begin(), payloads.end())) << client;
    EXPECT_EQ(payloads.size(), static_cast<size_t>(kEvents / kClients)) << client;
  }
  EXPECT_EQ(up.count(), static_cast<size_t>(kEvents)) << "the up webhook had nothing parked";
  // Everything delivered and the gateway stopped: no spool file is left.
  EXPECT_NE(system(("ls " + spool + "/down/*.jsonl >/dev/null 2>&1").c_str()), 0);
  (void)!system(("rm -rf " + spool).c_str());
}

}  // namespace
}  // namespace webhookgw
