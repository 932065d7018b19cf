#include "gateway/body.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace webhookgw {
namespace {

using json = nlohmann::json;

constexpr int64_t kEventMillis = 1706703724960;

// An event with the identity fields set and the time 1706703724.960123456.
v1::Event BaseEvent() {
  v1::Event event;
  event.set_node("emqx@10.0.0.1");
  event.set_incarnation(7);
  event.set_sequence(42);
  event.mutable_time()->set_seconds(kEventMillis / 1000);
  event.mutable_time()->set_nanos(960123456);
  return event;
}

std::string Render(const v1::Event& event, const BodyOptions& options = {}) {
  std::string out;
  EXPECT_TRUE(RenderBody(event, options, &out));
  return out;
}

// Parses a body, failing the test when it is not valid JSON (nlohmann also
// rejects invalid UTF-8 inside strings).
json Parse(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << body;
  return parsed;
}

std::string Plain(std::string_view bytes) {
  std::string out;
  AppendJsonStringContents(bytes, &out);
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out;
  AppendBase64(bytes, &out);
  return out;
}

std::string Base62(std::string_view bytes) {
  std::string out;
  AppendBase62(bytes, &out);
  return out;
}

TEST(RenderBodyTest, ClientConnect) {
  v1::Event event = BaseEvent();
  v1::ClientConnect* m = event.mutable_client_connect();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_ipaddress("192.0.2.7");
  m->set_keepalive(60);
  m->set_proto_ver(5);
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_connect","clientid":"c1",
      "username":"u1","ipaddress":"192.0.2.7","keepalive":60,"proto_ver":5,
      "node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, ClientConnackSuccessWithItsOwnTime) {
  v1::Event event = BaseEvent();
  v1::ClientConnack* m = event.mutable_client_connack();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_ipaddress("192.0.2.7");
  m->set_keepalive(60);
  m->set_proto_ver(4);
  m->set_reason_code(0);
  m->mutable_connected_at()->set_seconds(1700000000);
  m->mutable_connected_at()->set_nanos(5000000);
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_connack","clientid":"c1",
      "username":"u1","keepalive":60,"proto_ver":4,"conn_ack":"success","reason_code":0,
      "ipaddress":"192.0.2.7","connected_at":1700000000005,"node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, ClientConnackFailFallsBackToEventTime) {
  v1::Event event = BaseEvent();
  v1::ClientConnack* m = event.mutable_client_connack();
  m->set_clientid("c1");
  m->set_reason_code(0x86);
  json body = Parse(Render(event));
  EXPECT_EQ(body["conn_ack"], "fail");
  EXPECT_EQ(body["reason_code"], 134);
  EXPECT_EQ(body["connected_at"], kEventMillis);
  EXPECT_EQ(body["username"], "undefined");
  EXPECT_EQ(body.size(), 10u);
}

TEST(RenderBodyTest, ClientConnected) {
  v1::Event event = BaseEvent();
  v1::ClientConnected* m = event.mutable_client_connected();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_ipaddress("2001:db8::1");
  m->set_keepalive(30);
  m->set_proto_ver(3);
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_connected","clientid":"c1",
      "username":"u1","ipaddress":"2001:db8::1","keepalive":30,"proto_ver":3,
      "connected_at":1706703724960,"node":"emqx@10.0.0.1"})"));
  m->mutable_connected_at()->set_seconds(1);
  EXPECT_EQ(Parse(Render(event))["connected_at"], 1000);
}

TEST(RenderBodyTest, ClientDisconnected) {
  v1::Event event = BaseEvent();
  v1::ClientDisconnected* m = event.mutable_client_disconnected();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_reason("keepalive_timeout");
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_disconnected",
      "clientid":"c1","username":"u1","reason":"keepalive_timeout",
      "disconnected_at":1706703724960,"node":"emqx@10.0.0.1"})"));
  m->mutable_disconnected_at()->set_seconds(2);
  m->mutable_disconnected_at()->set_nanos(999999999);
  EXPECT_EQ(Parse(Render(event))["disconnected_at"], 2999);
}

TEST(RenderBodyTest, ClientSubscribe) {
  v1::Event event = BaseEvent();
  v1::ClientSubscribe* m = event.mutable_client_subscribe();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_topic("a/+/#");
  m->set_qos(2);
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_subscribe","clientid":"c1",
      "username":"u1","topic":"a/+/#","opts":{"qos":2},"node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, ClientUnsubscribe) {
  v1::Event event = BaseEvent();
  v1::ClientUnsubscribe* m = event.mutable_client_unsubscribe();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_topic("a/b");
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"client_unsubscribe",
      "clientid":"c1","username":"u1","topic":"a/b","opts":{},"node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, SessionSubscribed) {
  v1::Event event = BaseEvent();
  v1::SessionSubscribed* m = event.mutable_session_subscribed();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_topic("$SYS/#");
  m->set_qos(1);
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"session_subscribed",
      "clientid":"c1","username":"u1","topic":"$SYS/#","opts":{"qos":1},
      "node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, SessionUnsubscribed) {
  v1::Event event = BaseEvent();
  v1::SessionUnsubscribed* m = event.mutable_session_unsubscribed();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_topic("x");
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"session_unsubscribed",
      "clientid":"c1","username":"u1","topic":"x","node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, SessionTerminated) {
  v1::Event event = BaseEvent();
  v1::SessionTerminated* m = event.mutable_session_terminated();
  m->set_clientid("c1");
  m->set_username("u1");
  m->set_reason("takenover");
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"session_terminated",
      "clientid":"c1","username":"u1","reason":"takenover","node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, MessagePublish) {
  v1::Event event = BaseEvent();
  v1::MessagePublish* m = event.mutable_message_publish();
  m->set_from_client_id("c1");
  m->set_from_username("u1");
  m->set_topic("nmq/pub");
  m->set_qos(1);
  m->set_retain(true);
  m->set_payload("Hello World!");
  EXPECT_EQ(Parse(Render(event)), json::parse(R"({"action":"message_publish",
      "from_client_id":"c1","from_username":"u1","topic":"nmq/pub","qos":1,"retain":true,
      "payload":"Hello World!","ts":1706703724960,"node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, MessageDelivered) {
  v1::Event event = BaseEvent();
  v1::MessageDelivered* m = event.mutable_message_delivered();
  m->set_clientid("sub");
  m->set_username("su");
  m->set_from_client_id("pub");
  m->set_from_username("pu");
  m->set_topic("t/1");
  m->set_qos(2);
  m->set_retain(false);
  m->set_payload("hello");
  BodyOptions options;
  options.encoding = PayloadEncoding::kBase62;
  EXPECT_EQ(Parse(Render(event, options)), json::parse(R"({"action":"message_delivered",
      "clientid":"sub","username":"su","from_client_id":"pub","from_username":"pu",
      "topic":"t/1","qos":2,"retain":false,"payload":"7tQLFHz","ts":1706703724960,
      "node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, MessageAcked) {
  v1::Event event = BaseEvent();
  v1::MessageAcked* m = event.mutable_message_acked();
  m->set_clientid("sub");
  m->set_username("su");
  m->set_from_client_id("pub");
  m->set_topic("t/1");
  m->set_qos(1);
  m->set_retain(true);
  m->set_payload("hello");
  BodyOptions options;
  options.encoding = PayloadEncoding::kBase64;
  EXPECT_EQ(Parse(Render(event, options)), json::parse(R"({"action":"message_acked",
      "clientid":"sub","username":"su","from_client_id":"pub","from_username":"undefined",
      "topic":"t/1","qos":1,"retain":true,"payload":"aGVsbG8=","ts":1706703724960,
      "node":"emqx@10.0.0.1"})"));
}

TEST(RenderBodyTest, NoKindRendersNothing) {
  std::string out = "kept";
  EXPECT_FALSE(RenderBody(BaseEvent(), {}, &out));
  EXPECT_EQ(out, "kept");
}

TEST(RenderBodyTest, AppendsToExistingOutput) {
  v1::Event event = BaseEvent();
  event.mutable_session_terminated()->set_clientid("c");
  std::string out = "prefix";
  ASSERT_TRUE(RenderBody(event, {}, &out));
  EXPECT_EQ(out.substr(0, 7), "prefix{");
  EXPECT_EQ(out.back(), '}');
}

// NanoMQ's own example bodies: the same members, our extra ones aside.
TEST(RenderBodyTest, ReproducesNanoMqExamples) {
  json connack = json::parse(R"({"proto_ver":4,"keepalive":60,"conn_ack":"success",
      "username":"u1","clientid":"c1","action":"client_connack"})");
  json disconnected = json::parse(R"({"reason":"normal","username":"u1","clientid":"c1",
      "action":"client_disconnected"})");
  json publish = json::parse(R"({"ts":1706703724960,"topic":"nmq/pub","retain":true,"qos":1,
      "action":"message_publish","from_username":"u1","from_client_id":"c1",
      "payload":"Hello World!"})");

  v1::Event event = BaseEvent();
  v1::ClientConnack* ca = event.mutable_client_connack();
  ca->set_clientid("c1");
  ca->set_username("u1");
  ca->set_keepalive(60);
  ca->set_proto_ver(4);
  json body = Parse(Render(event));
  for (const char* extra : {"reason_code", "ipaddress", "connected_at", "node"}) {
    EXPECT_EQ(body.erase(extra), 1u) << extra;
  }
  EXPECT_EQ(body, connack);

  event = BaseEvent();
  v1::ClientDisconnected* d = event.mutable_client_disconnected();
  d->set_clientid("c1");
  d->set_username("u1");
  d->set_reason("normal");
  body = Parse(Render(event));
  for (const char* extra : {"disconnected_at", "node"}) EXPECT_EQ(body.erase(extra), 1u);
  EXPECT_EQ(body, disconnected);

  event = BaseEvent();
  v1::MessagePublish* p = event.mutable_message_publish();
  p->set_from_client_id("c1");
  p->set_from_username("u1");
  p->set_topic("nmq/pub");
  p->set_qos(1);
  p->set_retain(true);
  p->set_payload("Hello World!");
  body = Parse(Render(event));
  EXPECT_EQ(body.erase("node"), 1u);
  EXPECT_EQ(body, publish);
}

TEST(RenderBodyTest, AbsentUsernameInBothModes) {
  v1::Event event = BaseEvent();
  event.mutable_message_delivered()->set_clientid("c");
  json body = Parse(Render(event));
  EXPECT_EQ(body["username"], "undefined");
  EXPECT_EQ(body["from_username"], "undefined");

  BodyOptions options;
  options.absent_username = AbsentUsername::kNull;
  body = Parse(Render(event, options));
  ASSERT_TRUE(body.contains("username"));
  EXPECT_TRUE(body["username"].is_null());
  EXPECT_TRUE(body["from_username"].is_null());

  // An empty user name is present, not absent.
  event.mutable_message_delivered()->set_username("");
  body = Parse(Render(event, options));
  EXPECT_EQ(body["username"], "");
}

TEST(RenderBodyTest, EscapesEveryStringField) {
  v1::Event event = BaseEvent();
  event.set_node("n\"1");
  v1::ClientSubscribe* m = event.mutable_client_subscribe();
  m->set_clientid(std::string("c\0\xff", 3));
  m->set_username("a\\b");
  m->set_topic("t\n");
  std::string body = Render(event);
  json parsed = Parse(body);
  EXPECT_EQ(parsed["clientid"], std::string("c\0\xEF\xBF\xBD", 5));
  EXPECT_EQ(parsed["username"], "a\\b");
  EXPECT_EQ(parsed["topic"], "t\n");
  EXPECT_EQ(parsed["node"], "n\"1");
  EXPECT_NE(body.find("\"clientid\":\"c\\u0000\xEF\xBF\xBD\""), std::string::npos) << body;
}

TEST(RenderBodyTest, OutOfRangeTimestampsAreClamped) {
  v1::Event event = BaseEvent();
  event.mutable_time()->set_seconds(INT64_MAX);
  event.mutable_time()->set_nanos(-5);
  event.mutable_message_publish()->set_topic("t");
  EXPECT_EQ(Parse(Render(event))["ts"], int64_t{253402300799000});
}

TEST(PlainPayloadTest, PassesTextThrough) {
  EXPECT_EQ(Plain(""), "");
  EXPECT_EQ(Plain("Hello World!"), "Hello World!");
  EXPECT_EQ(Plain("a/b c~\x7f"), "a/b c~\x7f");
  EXPECT_EQ(Plain("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
            "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF");
  EXPECT_EQ(Plain("\xEF\xBF\xBD"), "\xEF\xBF\xBD");
}

TEST(PlainPayloadTest, EscapesQuotesAndControlCharacters) {
  EXPECT_EQ(Plain("\"q\" \\"), R"(\"q\" \\)");
  EXPECT_EQ(Plain(std::string_view("a\0b", 3)), R"(a\u0000b)");
  EXPECT_EQ(Plain("\b\f\n\r\t"), R"(\b\f\n\r\t)");
  EXPECT_EQ(Plain("\x01\x1f"), R"(\u0001\u001f)");
}

// Each maximal subpart of an ill-formed sequence (the lead byte and the
// continuation bytes that were still possible) becomes one U+FFFD; the byte
// that broke the sequence is then read afresh. Every case is checked as
// written and as nlohmann reads it back inside a JSON string.
TEST(PlainPayloadTest, ReplacesInvalidUtf8) {
  const std::string r = "\xEF\xBF\xBD";
  struct Case {
    std::string input;
    std::string escaped;  // what AppendJsonStringContents writes
    std::string decoded;  // the string a JSON parser reads back
    const char* what;
  };
  const Case cases[] = {
      {"\x80", r, r, "lone continuation byte"},
      {"a\x80\xBF"
       "b",
       "a" + r + r + "b", "a" + r + r + "b", "two continuation bytes"},
      {"a\xE2\x82", "a" + r, "a" + r, "truncated at the end"},
      {"\xE2\x82"
       "b",
       r + "b", r + "b", "truncated before ASCII"},
      {"\xF0\x9F\x98", r, r, "truncated 4-byte sequence"},
      {"\xC0\x80", r + r, r + r, "overlong NUL"},
      {"\xE0\x80\x80", r + r + r, r + r + r, "overlong 3-byte form"},
      {"\xF0\x80\x80\x80", r + r + r + r, r + r + r + r, "overlong 4-byte form"},
      {"\xED\xA0\x80", r + r + r, r + r + r, "surrogate U+D800"},
      {"\xF4\x90\x80\x80", r + r + r + r, r + r + r + r, "U+110000"},
      {"\xF5\xFF\xFE", r + r + r, r + r + r, "bytes that never start a sequence"},
      {"\xC3\"x", r + "\\\"x", r + "\"x", "quote after a lead byte"},
      {std::string("\xC3\0", 2), r + "\\u0000", r + std::string(1, '\0'), "NUL after a lead byte"},
      {"\xE2\x82\xE2\x82\xAC", r + "\xE2\x82\xAC", r + "\xE2\x82\xAC", "restart on a lead byte"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Plain(c.input), c.escaped) << c.what;
    json parsed = json::parse("\"" + Plain(c.input) + "\"", nullptr, false);
    ASSERT_TRUE(parsed.is_string()) << c.what;
    EXPECT_EQ(parsed.get<std::string>(), c.decoded) << c.what;
  }
}

TEST(PlainPayloadTest, ValidTextAndEscapesReadBackExactly) {
  const std::string inputs[] = {
      std::string("nul\0end", 7),
      "\x01\x02\x1f\x7f",
      "tab\tline\nquote\"slash\\",
      "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF",
      "12345678\"12345678\\12345678",  // specials at block edges
  };
  for (const std::string& input : inputs) {
    json parsed = json::parse("\"" + Plain(input) + "\"", nullptr, false);
    ASSERT_TRUE(parsed.is_string()) << Plain(input);
    EXPECT_EQ(parsed.get<std::string>(), input);
  }
}

TEST(PlainPayloadTest, OutputAlwaysParses) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string doc = "\"" + Plain(bytes) + "\"";
    ASSERT_TRUE(json::accept(doc)) << doc;
  }
}

TEST(RenderBodyTest, PlainPayloadBodyParses) {
  v1::Event event = BaseEvent();
  v1::MessagePublish* m = event.mutable_message_publish();
  m->set_payload(std::string("\0\x01\xED\xA0\x80\xE2\x82\xAC", 8));
  EXPECT_EQ(Parse(Render(event))["payload"],
            std::string("\0\x01\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xE2\x82\xAC", 14));
  m->set_payload("");
  EXPECT_EQ(Parse(Render(event))["payload"], "");
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("\xFB\xFF\xBF"), "+/+/");
  EXPECT_EQ(Base64(std::string_view("\0\0", 2)), "AAA=");
}

TEST(Base62Test, NanoMqVectors) {
  EXPECT_EQ(Base62("hello"), "7tQLFHz");
  EXPECT_EQ(Base62("a"), "1Z");
  EXPECT_EQ(Base62("\xFF"), "47");
  EXPECT_EQ(Base62(std::string_view("\0\0\x01", 3)), "001");
  EXPECT_EQ(Base62(std::string_view("\0", 1)), "0");
  EXPECT_EQ(Base62("\xFB\xFF"), "GmV");
  EXPECT_EQ(Base62("Hello, World!"), "1wJfrzvdbtXUOlUjUf");
  EXPECT_EQ(Base62(""), "");
  EXPECT_EQ(Base62(std::string_view("\x01\x00", 2)), "48");
}

// Schoolbook base 62, one byte at a time: slow and obviously right.
std::string ReferenceBase62(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == '\0') ++zeros;
  std::vector<int> number(bytes.begin() + zeros, bytes.end());
  for (int& b : number) b &= 0xFF;
  std::string digits;
  while (!number.empty()) {
    int rem = 0;
    std::vector<int> quotient;
    for (int b : number) {
      int cur = rem * 256 + b;
      if (!quotient.empty() || cur / 62 != 0) quotient.push_back(cur / 62);
      rem = cur % 62;
    }
    digits.insert(digits.begin(), kAlphabet[rem]);
    number = quotient;
  }
  return std::string(zeros, '0') + digits;
}

TEST(Base62Test, AgreesWithSchoolbookConversion) {
  std::mt19937 rng(99);
  for (size_t len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (len % 7 == 0 && len > 2) bytes[0] = bytes[1] = '\0';
    if (len % 11 == 0) bytes.assign(len, '\xFF');
    ASSERT_EQ(Base62(bytes), ReferenceBase62(bytes)) << "length " << len;
  }
}

TEST(RenderBodyTest, Base62FallsBackToBase64PastTheBound) {
  v1::Event event = BaseEvent();
  v1::MessagePublish* m = event.mutable_message_publish();
  BodyOptions options;
  options.encoding = PayloadEncoding::kBase62;
  options.base62_max_bytes = 5;

  m->set_payload("hello");
  json body = Parse(Render(event, options));
  EXPECT_EQ(body["payload"], "7tQLFHz");
  EXPECT_FALSE(body.contains("payload_encoding"));

  m->set_payload("hello!");
  body = Parse(Render(event, options));
  EXPECT_EQ(body["payload"], "aGVsbG8h");
  EXPECT_EQ(body["payload_encoding"], "base64");

  // The default bound.
  options.base62_max_bytes = BodyOptions().base62_max_bytes;
  m->set_payload(std::string(options.base62_max_bytes, 'x'));
  EXPECT_FALSE(Parse(Render(event, options)).contains("payload_encoding"));
  m->set_payload(std::string(options.base62_max_bytes + 1, 'x'));
  EXPECT_EQ(Parse(Render(event, options))["payload_encoding"], "base64");

  // Other encodings never carry the marker.
  options.encoding = PayloadEncoding::kBase64;
  EXPECT_FALSE(Parse(Render(event, options)).contains("payload_encoding"));
}

}  // namespace
}  // namespace webhookgw
