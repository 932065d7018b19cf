#include "broker_adapter/adapter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker_adapter/fake_gateway.h"
#include "gateway/event_kind.h"

namespace webhookgw {
namespace {

// Polls `done` until it holds or `timeout` passes; the caller asserts the
// result, so a slow machine fails loudly instead of flaking silently.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

AdapterOptions TestOptions(const std::string& target, uint32_t streams = 4) {
  AdapterOptions o;
  o.target = target;
  o.node = "test-node";
  o.streams = streams;
  o.linger = absl::Milliseconds(2);
  o.backoff_initial = absl::Milliseconds(10);
  o.backoff_max = absl::Milliseconds(100);
  return o;
}

std::unique_ptr<Adapter> MakeAdapter(AdapterOptions options) {
  auto adapter = Adapter::Create(std::move(options));
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  return adapter.ok() ? *std::move(adapter) : nullptr;
}

// A client's k-th event: connect first, disconnect at `last`, publishes and
// deliveries in between, with k in the payload.
v1::Event ClientEvent(const std::string& client, int k, int last) {
  wgw_event ev{};
  ev.kind = k == 0       ? WGW_CLIENT_CONNECT
            : k == last  ? WGW_CLIENT_DISCONNECTED
            : k % 3 == 0 ? WGW_MESSAGE_DELIVERED
                         : WGW_MESSAGE_PUBLISH;
  ev.clientid = client.c_str();
  ev.topic = "t/1";
  ev.from_client_id = ev.kind == WGW_MESSAGE_DELIVERED ? "someone-else" : nullptr;
  const std::string payload = absl::StrCat("c=", client, " n=", k);
  ev.payload = payload.data();
  ev.payload_len = payload.size();
  v1::Event out;
  EXPECT_TRUE(EventFromC(ev, &out).ok());
  return out;
}

v1::Event Publish(const std::string& client, size_t payload_bytes = 16) {
  wgw_event ev{};
  ev.kind = WGW_MESSAGE_PUBLISH;
  ev.clientid = client.c_str();
  ev.topic = "t/1";
  const std::string payload(payload_bytes, 'x');
  ev.payload = payload.data();
  ev.payload_len = payload.size();
  v1::Event out;
  EXPECT_TRUE(EventFromC(ev, &out).ok());
  return out;
}

// Every accepted sequence 1..n must have arrived; returns the duplicates.
uint64_t CheckAllArrived(const std::vector<FakeGateway::Record>& records, uint64_t n) {
  std::set<uint64_t> seen;
  for (const auto& r : records) seen.insert(r.event.sequence());
  for (uint64_t s = 1; s <= n; ++s) {
    if (seen.count(s) == 0) {
      ADD_FAILURE() << "event sequence " << s << " never arrived";
      break;
    }
  }
  return records.size() - seen.size();
}

TEST(EventFromCTest, FillsKindFieldsAndOptionalUsername) {
  wgw_event ev{};
  ev.kind = WGW_CLIENT_CONNECT;
  ev.clientid = "c1";
  ev.ipaddress = "10.1.2.3";
  ev.keepalive = 30;
  ev.proto_ver = 5;
  ev.time_ms = 1700000000123;
  v1::Event out;
  ASSERT_TRUE(EventFromC(ev, &out).ok());
  ASSERT_TRUE(out.has_client_connect());
  EXPECT_EQ(out.client_connect().clientid(), "c1");
  EXPECT_FALSE(out.client_connect().has_username());
  EXPECT_EQ(out.client_connect().ipaddress(), "10.1.2.3");
  EXPECT_EQ(out.client_connect().keepalive(), 30u);
  EXPECT_EQ(out.client_connect().proto_ver(), 5u);
  EXPECT_EQ(out.time().seconds(), 1700000000);
  EXPECT_EQ(out.time().nanos(), 123000000);

  ev.username = "";
  ASSERT_TRUE(EventFromC(ev, &out).ok());
  EXPECT_TRUE(out.client_connect().has_username());

  wgw_event msg{};
  msg.kind = WGW_MESSAGE_DELIVERED;
  msg.clientid = "sub";
  msg.from_client_id = "pub";
  msg.from_username = "pu";
  msg.topic = "a/b";
  msg.qos = 2;
  msg.retain = 1;
  msg.payload = "\0\1";
  msg.payload_len = 2;
  v1::Event d;
  ASSERT_TRUE(EventFromC(msg, &d).ok());
  EXPECT_EQ(d.message_delivered().clientid(), "sub");
  EXPECT_FALSE(d.message_delivered().has_username());
  EXPECT_EQ(d.message_delivered().from_client_id(), "pub");
  EXPECT_EQ(d.message_delivered().from_username(), "pu");
  EXPECT_EQ(d.message_delivered().payload(), std::string("\0\1", 2));
  EXPECT_TRUE(d.message_delivered().retain());
  EXPECT_EQ(ClientIdOf(d), "sub");

  // A publish names its publisher in clientid or from_client_id.
  msg.kind = WGW_MESSAGE_PUBLISH;
  msg.clientid = "pub2";
  msg.from_client_id = nullptr;
  ASSERT_TRUE(EventFromC(msg, &d).ok());
  EXPECT_EQ(d.message_publish().from_client_id(), "pub2");
  EXPECT_EQ(ClientIdOf(d), "pub2");
}

TEST(AdapterTest, RefusesAndCountsInvalidEvents) {
  auto adapter = MakeAdapter(TestOptions("ipv4:127.0.0.1:1"));
  ASSERT_NE(adapter, nullptr);
  int invalid = 0;
  auto emit_c = [&](wgw_event ev) {
    v1::Event out;
    if (!EventFromC(ev, &out).ok()) {
      adapter->CountInvalid();
      ++invalid;
      return;
    }
    EXPECT_EQ(adapter->Emit(std::move(out)), WGW_DROPPED_INVALID);
    ++invalid;
  };
  wgw_event ev{};
  ev.kind = WGW_CLIENT_SUBSCRIBE;
  ev.clientid = nullptr;
  ev.topic = "a";
  emit_c(ev);  // NULL clientid
  ev.clientid = "c";
  ev.kind = static_cast<wgw_event_kind>(12);
  emit_c(ev);  // kind out of range
  ev.kind = static_cast<wgw_event_kind>(-1);
  emit_c(ev);
  ev.kind = WGW_CLIENT_SUBSCRIBE;
  ev.topic = nullptr;
  emit_c(ev);  // subscribe without a filter
  ev.topic = "bad\xC3(";
  emit_c(ev);  // not UTF-8
  ev.kind = WGW_MESSAGE_PUBLISH;
  ev.topic = "t";
  ev.payload = nullptr;
  ev.payload_len = 3;
  emit_c(ev);  // payload NULL with a length
  EXPECT_EQ(adapter->Emit(Publish("c", kMaxEventBytes)), WGW_DROPPED_INVALID);  // too big
  EXPECT_EQ(adapter->Emit(v1::Event()), WGW_DROPPED_INVALID);                   // no kind
  invalid += 2;

  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.dropped_invalid, static_cast<uint64_t>(invalid));
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.queue_events, 0u);
}

TEST(AdapterTest, RejectsBadOptions) {
  AdapterOptions o = TestOptions("");
  EXPECT_FALSE(Adapter::Create(o).ok());
  o = TestOptions("127.0.0.1:1");
  o.streams = 0;
  EXPECT_FALSE(Adapter::Create(o).ok());
  o = TestOptions("127.0.0.1:1");
  o.batch_max_events = kMaxBatchEvents + 1;
  EXPECT_FALSE(Adapter::Create(o).ok());
  o = TestOptions("127.0.0.1:1");
  o.backoff_max = absl::Milliseconds(1);
  EXPECT_FALSE(Adapter::Create(o).ok());
  o = TestOptions("127.0.0.1:1");
  o.keepalive_time = absl::Milliseconds(500);
  EXPECT_FALSE(Adapter::Create(o).ok());
  o = TestOptions("127.0.0.1:1");
  o.ack_timeout = absl::Milliseconds(500);
  EXPECT_FALSE(Adapter::Create(o).ok());
  o.ack_timeout = absl::ZeroDuration();  // off
  EXPECT_TRUE(Adapter::Create(o).ok());
}

// A gateway whose connection is alive but that never answers (no ack, no
// heartbeat) holds the events its streams sent; the ack timeout abandons
// those streams and the events reach the other gateway.
TEST(AdapterTest, AckTimeoutMovesEventsOffASilentGateway) {
  FakeGateway silent;
  FakeGateway healthy;
  ASSERT_TRUE(silent.Start().ok());
  ASSERT_TRUE(healthy.Start().ok());
  silent.set_ack(false);
  AdapterOptions options =
      TestOptions(absl::StrCat("ipv4:", silent.target(), ",", healthy.target()), 4);
  options.ack_timeout = absl::Seconds(1);
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);

  constexpr int kEvents = 400;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i % 40))), WGW_OK);
  }
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == kEvents; }))
      << adapter->GetStats().acked;
  CheckAllArrived(healthy.records(), kEvents);
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_GT(silent.received(), 0u);  // some streams did start there
  EXPECT_GE(s.ack_timeouts, 1u);
  EXPECT_EQ(s.resent, silent.received());
  EXPECT_EQ(s.queue_events, 0u);
}

// A gateway that holds events without acking them but repeats its last
// ack (as it does while an endpoint retries) is slow, not gone: its
// streams stay, and everything is acked once it catches up.
TEST(AdapterTest, HeartbeatsKeepASlowGatewaysStreams) {
  FakeGateway slow;
  slow.set_ack(false);
  slow.set_heartbeat(absl::Milliseconds(200));
  ASSERT_TRUE(slow.Start().ok());
  AdapterOptions options = TestOptions(slow.target(), 2);
  options.ack_timeout = absl::Seconds(1);
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);

  for (int i = 0; i < 100; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(slow.WaitForReceived(100, absl::Seconds(30)));
  absl::SleepFor(absl::Seconds(3));  // three ack timeouts
  EXPECT_EQ(adapter->GetStats().ack_timeouts, 0u);
  EXPECT_EQ(adapter->GetStats().queue_events, 100u);
  EXPECT_EQ(slow.calls(), 2u);

  slow.set_ack(true);  // acks again from the next batch on, cumulatively
  for (int i = 0; i < 100; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == 200; }))
      << adapter->GetStats().acked;
  EXPECT_EQ(adapter->GetStats().ack_timeouts, 0u);
  EXPECT_EQ(adapter->GetStats().resent, 0u);
  EXPECT_EQ(slow.received(), 200u);
}

TEST(AdapterTest, KeepsEachClientOnOneStreamInOrder) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  auto adapter = MakeAdapter(TestOptions(gateway.target(), 4));
  ASSERT_NE(adapter, nullptr);

  constexpr int kClients = 1000;
  constexpr int kPerClient = 12;
  // Clients take turns, so their events interleave as in a broker.
  for (int k = 0; k < kPerClient; ++k) {
    for (int c = 0; c < kClients; ++c) {
      ASSERT_EQ(adapter->Emit(ClientEvent(absl::StrCat("client-", c), k, kPerClient - 1)), WGW_OK);
    }
  }
  const uint64_t total = kClients * kPerClient;
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == total; }));

  struct Seen {
    std::set<uint32_t> streams;
    uint64_t last_sequence = 0;
    int count = 0;
  };
  std::map<std::string, Seen> clients;
  std::map<uint64_t, uint64_t> next_stream_seq;  // per call
  std::set<uint32_t> streams_used;
  for (const auto& r : gateway.records()) {
    Seen& seen = clients[std::string(ClientIdOf(r.event))];
    seen.streams.insert(r.stream_index);
    EXPECT_GT(r.event.sequence(), seen.last_sequence) << ClientIdOf(r.event);
    seen.last_sequence = r.event.sequence();
    ++seen.count;
    streams_used.insert(r.stream_index);
    EXPECT_EQ(r.event.node(), "test-node");
    EXPECT_EQ(r.event.incarnation(), adapter->incarnation());
  }
  EXPECT_EQ(clients.size(), static_cast<size_t>(kClients));
  for (const auto& [id, seen] : clients) {
    EXPECT_EQ(seen.streams.size(), 1u) << id;
    EXPECT_EQ(seen.count, kPerClient) << id;
  }
  EXPECT_EQ(streams_used.size(), 4u);
  EXPECT_EQ(gateway.protocol_errors(), 0u);
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.sent, total);
  EXPECT_EQ(s.resent, 0u);
  EXPECT_EQ(s.queue_events, 0u);
  EXPECT_EQ(s.queue_bytes, 0u);
  EXPECT_EQ(s.streams_up, 4u);
}

TEST(AdapterTest, EmitsFromManyThreadsKeepOrderPerClient) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  AdapterOptions options = TestOptions(gateway.target(), 3);
  options.queue_max_events = 1000;  // small, so threads also meet a full queue
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> full{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread owns its clients, as a broker thread owns connections.
      for (int i = 0; i < kPerThread; ++i) {
        const int rc = adapter->Emit(Publish(absl::StrCat("t", t, "-c", i % 50)));
        (rc == WGW_OK ? ok : full).fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == ok.load(); }));

  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.accepted, ok.load());
  EXPECT_EQ(s.dropped_full, full.load());
  EXPECT_EQ(ok.load() + full.load(), static_cast<uint64_t>(kThreads * kPerThread));
  std::map<std::string, uint64_t> last;
  for (const auto& r : gateway.records()) {
    uint64_t& prev = last[std::string(ClientIdOf(r.event))];
    EXPECT_GT(r.event.sequence(), prev);
    prev = r.event.sequence();
  }
  EXPECT_EQ(gateway.received(), ok.load());
}

TEST(AdapterTest, LosesNothingWhenTheGatewayRestarts) {
  FakeGateway gateway;
  auto port = gateway.Start();
  ASSERT_TRUE(port.ok());
  AdapterOptions options = TestOptions(gateway.target(), 4);
  options.max_unacked_per_stream = 500;
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);

  constexpr int kEvents = 20000;
  for (int i = 0; i < kEvents; ++i) {
    if (i == kEvents / 4) {
      ASSERT_TRUE(gateway.WaitForReceived(1, absl::Seconds(30)));
      gateway.Stop();
    }
    if (i == kEvents / 2) {
      ASSERT_TRUE(gateway.Start(*port).ok());
    }
    ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i % 300))), WGW_OK);
  }
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == kEvents; }))
      << adapter->GetStats().acked;

  const auto records = gateway.records();
  const uint64_t duplicates = CheckAllArrived(records, kEvents);
  EXPECT_LE(duplicates, 4u * options.max_unacked_per_stream);
  // Unacked events are resent before newer ones, so each client's events
  // first arrive in emit order even across the restart.
  std::set<uint64_t> seen;
  std::map<std::string, uint64_t> last_first_arrival;
  for (const auto& r : records) {
    if (!seen.insert(r.event.sequence()).second) continue;
    uint64_t& last = last_first_arrival[std::string(ClientIdOf(r.event))];
    EXPECT_GT(r.event.sequence(), last) << ClientIdOf(r.event);
    last = r.event.sequence();
  }
  EXPECT_GT(gateway.calls(), 4u);  // every stream reconnected
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.accepted, static_cast<uint64_t>(kEvents));
  EXPECT_EQ(s.sent, s.accepted + s.resent);
  EXPECT_EQ(s.queue_events, 0u);
  EXPECT_EQ(gateway.protocol_errors(), 0u);
}

TEST(AdapterTest, ResendsAfterAFailedStatus) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  auto adapter = MakeAdapter(TestOptions(gateway.target(), 2));
  ASSERT_NE(adapter, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == 1000; }));

  gateway.FailNextBatch(grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == 2000; }));

  const auto records = gateway.records();
  const uint64_t duplicates = CheckAllArrived(records, 2000);
  const wgw_adapter_stats s = adapter->GetStats();
  // The failed call's batch was recorded but not acked, so it came again;
  // batches written behind it but never read count as resent only.
  EXPECT_GE(s.resent, 1u);
  EXPECT_GE(duplicates, 1u);
  EXPECT_LE(duplicates, s.resent);
  EXPECT_GE(gateway.calls(), 3u);
}

// Collects log lines; the adapter calls it from its pump thread.
class LogSink {
 public:
  std::function<void(wgw_log_level, const std::string&)> Fn() {
    return [this](wgw_log_level, const std::string& line) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(line);
    };
  }
  size_t Count(const std::string& part) {
    absl::MutexLock lock(&mu_);
    size_t n = 0;
    for (const auto& line : lines_) n += line.find(part) != std::string::npos;
    return n;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_;
};

TEST(AdapterTest, GoAwayResendsWhatTheGatewayWillNotFinish) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  LogSink logs;
  AdapterOptions options = TestOptions(gateway.target(), 2);
  options.log = logs.Fn();
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == 2000; }));
  const uint64_t calls_before = gateway.calls();

  constexpr uint64_t kHoldback = 5;
  gateway.GoAwayOpenCalls(kHoldback);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(WaitFor([&] { return adapter->GetStats().acked == 4000; }));

  const auto records = gateway.records();
  const uint64_t duplicates = CheckAllArrived(records, 4000);
  const wgw_adapter_stats s = adapter->GetStats();
  // Events above last_accepted_seq come again on the new calls: the held
  // back ones were recorded twice, batches behind them only once.
  EXPECT_GE(duplicates, 1u);
  EXPECT_LE(duplicates, 2 * kHoldback);
  EXPECT_GE(s.resent, duplicates);
  EXPECT_EQ(gateway.calls(), calls_before + 2);
  EXPECT_EQ(gateway.protocol_errors(), 0u);
  EXPECT_TRUE(WaitFor([&] { return logs.Count("got GoAway") == 2; }));
  EXPECT_EQ(logs.Count("connected"), 4u);
}

TEST(AdapterTest, KeepsAtMostMaxUnackedInFlight) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  gateway.set_ack(false);
  AdapterOptions options = TestOptions(gateway.target(), 1);
  options.max_unacked_per_stream = 100;
  options.batch_max_events = 30;
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  ASSERT_TRUE(gateway.WaitForReceived(100, absl::Seconds(30)));
  EXPECT_EQ(adapter->GetStats().sent, 100u);
  EXPECT_EQ(adapter->GetStats().queue_events, 1000u);

  // Stopping while nothing is acked loses what is held, counted.
  adapter->Shutdown(absl::Milliseconds(50));
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.dropped_stopped, 1000u);
  EXPECT_EQ(s.queue_events, 0u);
  EXPECT_EQ(adapter->Emit(Publish("late")), WGW_DROPPED_STOPPED);
  EXPECT_EQ(adapter->GetStats().dropped_stopped, 1001u);
}

TEST(AdapterTest, ShutdownWaitsForAcks) {
  FakeGateway gateway;
  ASSERT_TRUE(gateway.Start().ok());
  AdapterOptions options = TestOptions(gateway.target(), 4);
  options.linger = absl::Seconds(60);  // only the shutdown flush sends them
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(adapter->Emit(Publish(absl::StrCat("c", i))), WGW_OK);
  adapter->Shutdown(absl::Seconds(30));
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.acked, 10u);
  EXPECT_EQ(s.dropped_stopped, 0u);
  EXPECT_EQ(gateway.received(), 10u);
}

TEST(AdapterTest, AnEventBiggerThanTheQueueEvictsNothing) {
  AdapterOptions options = TestOptions("ipv4:127.0.0.1:1", 1);
  options.queue_max_bytes = 1000;
  options.drop_policy = WGW_DROP_OLDEST;
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(adapter->Emit(Publish("c")), WGW_OK);
  EXPECT_EQ(adapter->Emit(Publish("c", 2000)), WGW_DROPPED_FULL);
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_EQ(s.queue_events, 5u);
  EXPECT_EQ(s.dropped_full, 1u);
}

class NoGatewayTest : public testing::TestWithParam<wgw_drop_policy> {};

TEST_P(NoGatewayTest, EmitReturnsQueueStaysBoundedDropsCountedExactly) {
  AdapterOptions options = TestOptions("ipv4:127.0.0.1:1", 4);
  options.queue_max_events = 1000;
  options.queue_max_bytes = 60000;
  options.drop_policy = GetParam();
  options.drop_log_interval = absl::Milliseconds(20);
  LogSink logs;
  options.log = logs.Fn();
  auto adapter = MakeAdapter(options);
  ASSERT_NE(adapter, nullptr);

  uint64_t ok = 0;
  uint64_t full = 0;
  constexpr uint64_t kEmitted = 5000;
  for (uint64_t i = 0; i < kEmitted; ++i) {
    // Sizes vary so that sometimes the byte bound binds, sometimes the count.
    const int rc = adapter->Emit(Publish(absl::StrCat("c", i % 97), (i * 37) % 200));
    ok += rc == WGW_OK;
    full += rc == WGW_DROPPED_FULL;
    if (i % 50 == 0) {
      const wgw_adapter_stats s = adapter->GetStats();
      ASSERT_LE(s.queue_events, options.queue_max_events);
      ASSERT_LE(s.queue_bytes, options.queue_max_bytes);
    }
  }
  const wgw_adapter_stats s = adapter->GetStats();
  EXPECT_LE(s.queue_events, options.queue_max_events);
  EXPECT_LE(s.queue_bytes, options.queue_max_bytes);
  EXPECT_EQ(ok + full, kEmitted);
  EXPECT_EQ(s.accepted, ok);
  EXPECT_EQ(s.acked, 0u);
  EXPECT_EQ(s.sent, 0u);
  EXPECT_EQ(s.streams_up, 0u);
  if (GetParam() == WGW_DROP_NEWEST) {
    // Every refusal is a drop and nothing held is ever evicted.
    EXPECT_EQ(s.accepted + s.dropped_full, kEmitted);
    EXPECT_EQ(s.dropped_full, full);
    EXPECT_EQ(s.queue_events, s.accepted);
  } else {
    // Nothing was sent, so there is always an older event to evict: every
    // emit is accepted, and every eviction is a counted drop.
    EXPECT_EQ(s.accepted, kEmitted);
    EXPECT_EQ(s.queue_events + s.dropped_full, s.accepted);
    EXPECT_GT(s.dropped_full, 0u);
  }
  // Drops are summarised per interval, never logged per event.
  EXPECT_TRUE(WaitFor([&] { return logs.Count("events dropped") >= 1; }));
  EXPECT_LT(logs.Count("events dropped"), 100u);
  const uint64_t held = s.queue_events;
  adapter->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(adapter->GetStats().dropped_stopped, held);
}

INSTANTIATE_TEST_SUITE_P(Policies, NoGatewayTest,
                         testing::Values(WGW_DROP_NEWEST, WGW_DROP_OLDEST));

}  // namespace
}  // namespace webhookgw
