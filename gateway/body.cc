#include "gateway/body.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "gateway/event_kind.h"

namespace webhookgw {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kBase62Alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Whether a byte may be copied into a JSON string unchanged: printable ASCII
// other than the quote and the backslash.
constexpr bool IsPlainAscii(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void AppendEscapedAscii(unsigned char c, std::string* out) {
  switch (c) {
    case '"':
      out->append("\\\"");
      return;
    case '\\':
      out->append("\\\\");
      return;
    case '\b':
      out->append("\\b");
      return;
    case '\f':
      out->append("\\f");
      return;
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      out->append("\\t");
      return;
    default:
      break;
  }
  if (c < 0x20) {
    const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
    out->append(escape, sizeof(escape));
  } else {
    out->push_back(static_cast<char>(c));  // DEL is legal in JSON strings
  }
}

// Length of the well-formed UTF-8 sequence at the start of `s` (2 to 4), or
// the negated length of its maximal subpart when it is ill-formed: the lead
// byte plus the continuation bytes that were still acceptable when the
// sequence broke off. A byte that can never start a sequence gives -1.
// The accepted ranges are those of the Unicode Standard's table 3-7, which
// excludes overlong forms, surrogates and anything past U+10FFFF.
int MultiByteLength(std::string_view s) {
  unsigned char lead = static_cast<unsigned char>(s[0]);
  int need;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int i = 1; i <= need; ++i) {
    if (static_cast<size_t>(i) >= s.size()) return -i;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < lo || c > hi) return -i;
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

// Milliseconds since the epoch. Seconds are clamped to the range a
// Timestamp may hold (years 1 to 9999) so that a malformed one from the wire
// cannot overflow; nanos are taken as given when in range.
int64_t Millis(const google::protobuf::Timestamp& ts) {
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  int64_t seconds = std::clamp<int64_t>(ts.seconds(), kMinSeconds, kMaxSeconds);
  int64_t nanos = std::clamp<int64_t>(ts.nanos(), 0, 999999999);
  return seconds * 1000 + nanos / 1000000;
}

// Appends one JSON object, member by member. Keys are string literals of
// this file and are written unescaped; every value string goes through
// AppendJsonStringContents.
class ObjectWriter {
 public:
  ObjectWriter(const BodyOptions& options, std::string* out) : options_(options), out_(out) {
    out_->push_back('{');
  }

  void String(std::string_view key, std::string_view value) {
    Key(key);
    out_->push_back('"');
    AppendJsonStringContents(value, out_);
    out_->push_back('"');
  }

  // A string known to need no escaping (a literal of this file).
  void Literal(std::string_view key, std::string_view value) {
    Key(key);
    out_->push_back('"');
    out_->append(value);
    out_->push_back('"');
  }

  // A user name field: the name when there is one, otherwise the configured
  // stand-in.
  void Username(std::string_view key, bool present, std::string_view value) {
    if (present) return String(key, value);
    Key(key);
    out_->append(options_.absent_username == AbsentUsername::kNull ? "null" : "\"undefined\"");
  }

  void Int(std::string_view key, int64_t value) {
    Key(key);
    AppendInt(value);
  }

  void Bool(std::string_view key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
  }

  // A value that is already JSON.
  void Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_->append(json);
  }

  // Writes the payload in the configured encoding; see BodyOptions for what
  // happens to payloads too long for base62.
  void Payload(std::string_view payload) {
    PayloadEncoding encoding = options_.encoding;
    if (encoding == PayloadEncoding::kBase62 && payload.size() > options_.base62_max_bytes) {
      Literal("payload_encoding", "base64");
      encoding = PayloadEncoding::kBase64;
    }
    Key("payload");
    out_->push_back('"');
    switch (encoding) {
      case PayloadEncoding::kPlain:
        AppendJsonStringContents(payload, out_);
        break;
      case PayloadEncoding::kBase64:
        AppendBase64(payload, out_);
        break;
      case PayloadEncoding::kBase62:
        AppendBase62(payload, out_);
        break;
    }
    out_->push_back('"');
  }

  // EMQX 4's subscription options object, which carries only the QoS.
  void QosOpts(uint32_t qos) {
    Key("opts");
    out_->append("{\"qos\":");
    AppendInt(qos);
    out_->push_back('}');
  }

  void Close() { out_->push_back('}'); }

 private:
  void Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    out_->push_back('"');
    out_->append(key);
    out_->append("\":");
  }

  void AppendInt(int64_t value) {
    char buf[24];
    auto result = std::to_chars(buf, buf + sizeof(buf), value);
    out_->append(buf, result.ptr);
  }

  const BodyOptions& options_;
  std::string* out_;
  bool first_ = true;
};

// The client fields every non-message event starts with.
template <typename M>
void WriteClient(const M& m, ObjectWriter& w) {
  w.String("clientid", m.clientid());
  w.Username("username", m.has_username(), m.username());
}

template <typename M>
void WritePublisher(const M& m, ObjectWriter& w) {
  w.String("from_client_id", m.from_client_id());
  w.Username("from_username", m.has_from_username(), m.from_username());
}

template <typename M>
void WriteMessage(const M& m, const v1::Event& event, ObjectWriter& w) {
  w.String("topic", m.topic());
  w.Int("qos", m.qos());
  w.Bool("retain", m.retain());
  w.Payload(m.payload());
  w.Int("ts", Millis(event.time()));
}

// Delivered and acked bodies are the same apart from `action`.
template <typename M>
void WriteSubscriberMessage(const M& m, const v1::Event& event, ObjectWriter& w) {
  WriteClient(m, w);
  WritePublisher(m, w);
  WriteMessage(m, event, w);
}

// The fields after `action` and before `node`, per kind.
void WriteFields(const v1::Event& event, ObjectWriter& w) {
  using E = v1::Event;
  switch (event.kind_case()) {
    case E::kClientConnect: {
      const v1::ClientConnect& m = event.client_connect();
      WriteClient(m, w);
      w.String("ipaddress", m.ipaddress());
      w.Int("keepalive", m.keepalive());
      w.Int("proto_ver", m.proto_ver());
      return;
    }
    case E::kClientConnack: {
      const v1::ClientConnack& m = event.client_connack();
      WriteClient(m, w);
      w.Int("keepalive", m.keepalive());
      w.Int("proto_ver", m.proto_ver());
      w.Literal("conn_ack", m.reason_code() == 0 ? "success" : "fail");
      w.Int("reason_code", m.reason_code());
      w.String("ipaddress", m.ipaddress());
      w.Int("connected_at", Millis(m.has_connected_at() ? m.connected_at() : event.time()));
      return;
    }
    case E::kClientConnected: {
      const v1::ClientConnected& m = event.client_connected();
      WriteClient(m, w);
      w.String("ipaddress", m.ipaddress());
      w.Int("keepalive", m.keepalive());
      w.Int("proto_ver", m.proto_ver());
      w.Int("connected_at", Millis(m.has_connected_at() ? m.connected_at() : event.time()));
      return;
    }
    case E::kClientDisconnected: {
      const v1::ClientDisconnected& m = event.client_disconnected();
      WriteClient(m, w);
      w.String("reason", m.reason());
      w.Int("disconnected_at",
            Millis(m.has_disconnected_at() ? m.disconnected_at() : event.time()));
      return;
    }
    case E::kClientSubscribe: {
      const v1::ClientSubscribe& m = event.client_subscribe();
      WriteClient(m, w);
      w.String("topic", m.topic());
      w.QosOpts(m.qos());
      return;
    }
    case E::kClientUnsubscribe: {
      const v1::ClientUnsubscribe& m = event.client_unsubscribe();
      WriteClient(m, w);
      w.String("topic", m.topic());
      w.Raw("opts", "{}");
      return;
    }
    case E::kSessionSubscribed: {
      const v1::SessionSubscribed& m = event.session_subscribed();
      WriteClient(m, w);
      w.String("topic", m.topic());
      w.QosOpts(m.qos());
      return;
    }
    case E::kSessionUnsubscribed: {
      const v1::SessionUnsubscribed& m = event.session_unsubscribed();
      WriteClient(m, w);
      w.String("topic", m.topic());
      return;
    }
    case E::kSessionTerminated: {
      const v1::SessionTerminated& m = event.session_terminated();
      WriteClient(m, w);
      w.String("reason", m.reason());
      return;
    }
    case E::kMessagePublish: {
      const v1::MessagePublish& m = event.message_publish();
      WritePublisher(m, w);
      WriteMessage(m, event, w);
      return;
    }
    case E::kMessageDelivered:
      WriteSubscriberMessage(event.message_delivered(), event, w);
      return;
    case E::kMessageAcked:
      WriteSubscriberMessage(event.message_acked(), event, w);
      return;
    case E::KIND_NOT_SET:
      return;
  }
}

// An upper bound on the payload's encoded size, so that the body is built
// with at most one reallocation.
size_t PayloadEstimate(const v1::Event& event, PayloadEncoding encoding) {
  using E = v1::Event;
  size_t n = 0;
  switch (event.kind_case()) {
    case E::kMessagePublish:
      n = event.message_publish().payload().size();
      break;
    case E::kMessageDelivered:
      n = event.message_delivered().payload().size();
      break;
    case E::kMessageAcked:
      n = event.message_acked().payload().size();
      break;
    default:
      return 0;
  }
  // Plain text usually passes through unchanged; base62 and base64 both
  // stay under 4/3 of the input plus a few digits.
  return encoding == PayloadEncoding::kPlain ? n + 16 : n / 3 * 4 + 16;
}

// Digits of base 62 produced per pass over the number: 62^5 is the largest
// power of 62 below 2^32, so a remainder times 2^32 plus a limb fits in 64
// bits.
constexpr int kDigitsPerPass = 5;
constexpr uint64_t kBase62Pow5 = 62ull * 62 * 62 * 62 * 62;

// Divides the big-endian number in limbs[first..] by 62^5 in place and
// returns the remainder.
uint32_t DivideByBase62Pow5(uint32_t* limbs, size_t first, size_t count) {
  uint64_t rem = 0;
  for (size_t i = first; i < count; ++i) {
    uint64_t cur = (rem << 32) | limbs[i];
    limbs[i] = static_cast<uint32_t>(cur / kBase62Pow5);
    rem = cur % kBase62Pow5;
  }
  return static_cast<uint32_t>(rem);
}

// Writes the number held in `limbs` in base 62 over the `digits` bytes at
// `end - digits`, filling from the end, and returns the number of digits
// actually written (no leading zeros).
size_t WriteBase62Number(uint32_t* limbs, size_t count, char* end) {
  char* p = end;
  size_t first = 0;
  while (first < count) {
    uint32_t rem = DivideByBase62Pow5(limbs, first, count);
    while (first < count && limbs[first] == 0) ++first;
    for (int i = 0; i < kDigitsPerPass; ++i) {
      *--p = kBase62Alphabet[rem % 62];
      rem /= 62;
      // The last pass must not leave zero digits above the number's top.
      if (first == count && rem == 0) break;
    }
  }
  return static_cast<size_t>(end - p);
}

}  // namespace

void AppendBase64(std::string_view bytes, std::string* out) {
  size_t start = out->size();
  out->resize(start + (bytes.size() + 2) / 3 * 4);
  char* p = out->data() + start;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *p++ = kBase64Alphabet[v >> 18];
    *p++ = kBase64Alphabet[(v >> 12) & 63];
    *p++ = kBase64Alphabet[(v >> 6) & 63];
    *p++ = kBase64Alphabet[v & 63];
  }
  if (i < n) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (i + 1 < n) v |= uint32_t{in[i + 1]} << 8;
    *p++ = kBase64Alphabet[v >> 18];
    *p++ = kBase64Alphabet[(v >> 12) & 63];
    *p++ = i + 1 < n ? kBase64Alphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

void AppendBase62(std::string_view bytes, std::string* out) {
  // Each leading zero byte is written as its own '0' and left out of the
  // number, so that the encoding keeps the payload's length information.
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == '\0') ++zeros;
  out->append(zeros, '0');
  std::string_view rest = bytes.substr(zeros);
  if (rest.empty()) return;

  // The number as big-endian 32-bit limbs, the first one partial.
  constexpr size_t kStackLimbs = 64;
  uint32_t stack_limbs[kStackLimbs];
  std::vector<uint32_t> heap_limbs;
  size_t count = (rest.size() + 3) / 4;
  uint32_t* limbs = stack_limbs;
  if (count > kStackLimbs) {
    heap_limbs.resize(count);
    limbs = heap_limbs.data();
  }
  size_t head = rest.size() - (count - 1) * 4;  // bytes in the first limb
  size_t pos = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t limb = 0;
    for (size_t j = 0, len = i == 0 ? head : 4; j < len; ++j) {
      limb = (limb << 8) | static_cast<unsigned char>(rest[pos++]);
    }
    limbs[i] = limb;
  }

  // 256^n < 62^d needs d > n * log(256) / log(62) = n * 1.34359...; the
  // digits are written backwards from the end of this room, then moved down.
  size_t room = rest.size() * 1344 / 1000 + kDigitsPerPass + 1;
  size_t start = out->size();
  out->resize(start + room);
  char* end = out->data() + start + room;
  size_t written = WriteBase62Number(limbs, count, end);
  std::memmove(out->data() + start, end - written, written);
  out->resize(start + written);
}

void AppendJsonStringContents(std::string_view bytes, std::string* out) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    // Copy the longest run that needs no attention in one append.
    size_t run = i;
    while (run < n && IsPlainAscii(static_cast<unsigned char>(bytes[run]))) ++run;
    out->append(bytes.data() + i, run - i);
    i = run;
    if (i == n) break;

    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      AppendEscapedAscii(c, out);
      ++i;
      continue;
    }
    int len = MultiByteLength(bytes.substr(i));
    if (len > 0) {
      out->append(bytes.data() + i, static_cast<size_t>(len));
      i += static_cast<size_t>(len);
    } else {
      out->append(kReplacement, 3);
      i += static_cast<size_t>(-len);
    }
  }
}

bool RenderBody(const v1::Event& event, const BodyOptions& options, std::string* out) {
  std::optional<EventKind> kind = KindOf(event);
  if (!kind.has_value()) return false;

  out->reserve(out->size() + 256 + PayloadEstimate(event, options.encoding));
  ObjectWriter w(options, out);
  w.Literal("action", EventAction(*kind));
  WriteFields(event, w);
  w.String("node", event.node());
  w.Close();
  return true;
}

}  // namespace webhookgw
