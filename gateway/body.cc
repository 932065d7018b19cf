#include "gateway/body.h"

#include <algorithm>
#include <array>
#include <cassert>
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

// Whether none of the eight bytes in `x` needs attention in a JSON string:
// each is printable ASCII other than the quote and the backslash. Once the
// high bits are known clear, a byte below 0x20 or equal to a given value
// shows up as a borrow into its own high bit; a borrow rippling further
// up only happens after a byte that already failed, so it cannot cause a
// false answer.
inline bool WordIsPlain(uint64_t x) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighs = 0x8080808080808080;
  uint64_t flags =
      x | (x - kOnes * 0x20) | ((x ^ (kOnes * '"')) - kOnes) | ((x ^ (kOnes * '\\')) - kOnes);
  return (flags & kHighs) == 0;
}

// The short escapes JSON has; zero where a character needs \u00XX.
constexpr char ShortEscape(unsigned char c) {
  switch (c) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    default:
      return 0;
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
  // Writes `,"key":` (no comma before the first member) in one append.
  void Key(std::string_view key) {
    char buf[32];
    size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    buf[n++] = '"';
    assert(key.size() + 4 <= sizeof(buf));
    std::memcpy(buf + n, key.data(), key.size());
    n += key.size();
    buf[n++] = '"';
    buf[n++] = ':';
    out_->append(buf, n);
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

// Base 62 conversion divides the number, held as big-endian 32-bit limbs,
// by 62^5 over and over: 62^5 is the largest power of 62 below 2^32, so a
// remainder shifted up by 32 bits plus a limb fits in 64 bits. Each sweep
// over the limbs divides kChains times, each division working on the
// quotient limb the previous one just produced. The remainder chains do
// not depend on each other, so the processor overlaps them and a sweep
// yields 5 * kChains digits for little more than the latency of one chain.
constexpr uint64_t kBase62Pow5 = 62ull * 62 * 62 * 62 * 62;
constexpr int kChains = 4;

// Writes the digits of `value` backwards ending at `p`, exactly `count`
// of them (leading zeros included) or, when count is 0, only as many as
// the value needs. Returns the new start.
char* WriteDigitsBackwards(uint32_t value, int count, char* p) {
  for (int i = 0; count == 0 ? (i == 0 || value != 0) : i < count; ++i) {
    *--p = kBase62Alphabet[value % 62];
    value /= 62;
  }
  return p;
}

// Writes the number in limbs[0..count) in base 62 backwards ending at
// `end`, destroying the limbs, and returns the number of digits: exactly
// as many as the number needs. limbs[0] must not be zero.
size_t WriteBase62Number(uint32_t* limbs, size_t count, char* end) {
  char* p = end;
  size_t first = 0;
  while (first < count) {
    uint64_t rem[kChains] = {};  // rem[k] holds digits 5k..5k+4 of this sweep
    for (size_t i = first; i < count; ++i) {
      uint64_t q = limbs[i];
      for (int k = 0; k < kChains; ++k) {
        uint64_t cur = (rem[k] << 32) | q;
        q = cur / kBase62Pow5;
        rem[k] = cur % kBase62Pow5;
      }
      limbs[i] = static_cast<uint32_t>(q);
    }
    while (first < count && limbs[first] == 0) ++first;

    // Digits above the number's top must not be written: only the last
    // sweep reaches it, and then its highest nonzero remainder is trimmed.
    bool last = first == count;
    int top = kChains - 1;
    while (last && top > 0 && rem[top] == 0) --top;
    for (int k = 0; k <= top; ++k) {
      p = WriteDigitsBackwards(static_cast<uint32_t>(rem[k]), last && k == top ? 0 : 5, p);
    }
  }
  return static_cast<size_t>(end - p);
}

// How each ASCII character is written in a JSON string: its text, padded to
// eight bytes so that it can be stored with one fixed-size copy, and how
// many of those bytes count. Walking a payload this way has no branch per
// ASCII byte, which matters for JSON payloads with a quote every few bytes.
struct AsciiEscape {
  char text[8];
  uint8_t size;
};

constexpr std::array<AsciiEscape, 128> MakeAsciiEscapes() {
  std::array<AsciiEscape, 128> escapes{};
  for (int c = 0; c < 128; ++c) {
    AsciiEscape& e = escapes[c];
    char short_escape = ShortEscape(static_cast<unsigned char>(c));
    if (short_escape != 0) {
      e = {{'\\', short_escape}, 2};
    } else if (c < 0x20) {
      e = {{'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]}, 6};
    } else {
      e = {{static_cast<char>(c)}, 1};
    }
  }
  return escapes;
}
constexpr std::array<AsciiEscape, 128> kAsciiEscapes = MakeAsciiEscapes();

// Slack EscapeJsonString needs past the end of its output, for the
// fixed-size copies.
constexpr size_t kEscapeSlack = 8;

// How long `bytes` becomes once escaped for a JSON string, by the same
// rules as EscapeJsonString; *verbatim tells whether it would come out
// unchanged, the common case for ids and topics.
size_t EscapedSize(std::string_view bytes, bool* verbatim) {
  const size_t n = bytes.size();
  size_t size = 0;
  bool changed = false;
  for (size_t i = 0; i < n;) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      size += kAsciiEscapes[c].size;
      changed |= kAsciiEscapes[c].size != 1;
      ++i;
      continue;
    }
    int len = MultiByteLength(bytes.substr(i));
    if (len > 0) {
      size += static_cast<size_t>(len);
      i += static_cast<size_t>(len);
    } else {
      size += 3;
      i += static_cast<size_t>(-len);
      changed = true;
    }
  }
  *verbatim = !changed;
  return size;
}

// Escapes `bytes` for a JSON string into `dst`, which has room for
// EscapedSize(bytes) + kEscapeSlack bytes, and returns the number of bytes
// of output (the slack may be scribbled on). Runs of eight plain bytes are
// checked and copied at once.
size_t EscapeJsonString(std::string_view bytes, char* dst) {
  const char* p = bytes.data();
  const size_t n = bytes.size();
  size_t size = 0;
  for (size_t i = 0; i < n;) {
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if (WordIsPlain(word)) {
        std::memcpy(dst + size, p + i, 8);
        size += 8;
        i += 8;
        continue;
      }
    }
    // A multibyte sequence may carry i past the block; that is fine.
    for (size_t stop = std::min(n, i + 8); i < stop;) {
      unsigned char c = static_cast<unsigned char>(p[i]);
      if (c < 0x80) {
        const AsciiEscape& e = kAsciiEscapes[c];
        std::memcpy(dst + size, e.text, 8);
        size += e.size;
        ++i;
        continue;
      }
      int len = MultiByteLength(bytes.substr(i));
      if (len > 0) {
        std::memcpy(dst + size, p + i, static_cast<size_t>(len));
        size += static_cast<size_t>(len);
        i += static_cast<size_t>(len);
      } else {
        std::memcpy(dst + size, kReplacement, 3);
        size += 3;
        i += static_cast<size_t>(-len);
      }
    }
  }
  return size;
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
  size_t room = rest.size() * 1344 / 1000 + 5 * kChains;
  size_t start = out->size();
  out->resize(start + room);
  char* end = out->data() + start + room;
  size_t written = WriteBase62Number(limbs, count, end);
  std::memmove(out->data() + start, end - written, written);
  out->resize(start + written);
}

void AppendJsonStringContents(std::string_view bytes, std::string* out) {
  // Measuring first lets the output grow once, to its exact size, so a body
  // kept for retries holds no slack; the measuring pass costs little next
  // to reallocating.
  bool verbatim;
  size_t size = EscapedSize(bytes, &verbatim);
  if (verbatim) {
    out->append(bytes);
    return;
  }
  size_t start = out->size();
  out->resize(start + size + kEscapeSlack);
  [[maybe_unused]] size_t written = EscapeJsonString(bytes, out->data() + start);
  assert(written == size);
  out->resize(start + size);
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
