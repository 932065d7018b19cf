#include "gateway/config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/hocon.h"
#include "gateway/outbound_policy.h"
#include "gateway/topic_filter.h"

namespace webhookgw {
namespace {

using hocon::Member;
using hocon::Type;
using hocon::Value;

absl::Status Bad(const Value& v, absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(v.Where(), ": ", path, ": ", message));
}

absl::Status Expected(const Value& v, absl::string_view path, absl::string_view what) {
  return Bad(v, path, absl::StrCat("expected ", what, ", got ", hocon::Describe(v)));
}

std::string Child(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown key", with the closest known key as a hint when one is close.
absl::Status UnknownKey(const Member& m, absl::string_view path,
                        std::initializer_list<absl::string_view> known) {
  std::string message = "unknown key";
  size_t best = 3;
  absl::string_view hint;
  if (m.key.size() < 64) {
    for (absl::string_view k : known) {
      size_t d = EditDistance(m.key, k);
      if (d < best) {
        best = d;
        hint = k;
      }
    }
  }
  if (!hint.empty()) absl::StrAppend(&message, "; did you mean ", hint, "?");
  return absl::InvalidArgumentError(
      absl::StrCat(*m.value.file, ":", m.key_line, ": ", Child(path, m.key), ": ", message));
}

absl::Status Missing(const Value& obj, absl::string_view path, absl::string_view key) {
  return Bad(obj, Child(path, key), "required key is missing");
}

absl::Status ExpectObject(const Value& v, absl::string_view path) {
  if (v.type != Type::kObject) return Expected(v, path, "an object");
  return absl::OkStatus();
}

absl::StatusOr<std::string> String(const Value& v, absl::string_view path) {
  if (v.type != Type::kString) return Expected(v, path, "a string");
  return v.text;
}

absl::StatusOr<bool> Bool(const Value& v, absl::string_view path) {
  if (v.type == Type::kBool) return v.text == "true";
  if (v.type == Type::kString && (v.text == "true" || v.text == "false")) return v.text == "true";
  return Expected(v, path, "true or false");
}

absl::StatusOr<std::vector<std::string>> StringList(const Value& v, absl::string_view path) {
  if (v.type != Type::kArray) return Expected(v, path, "an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.elements.size(); ++i) {
    absl::StatusOr<std::string> s = String(v.elements[i], absl::StrCat(path, "[", i, "]"));
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

// Numbers may come as strings too (HOCON converts, and `${VAR}` is a string).
bool NumberText(const Value& v, absl::string_view* text) {
  if (v.type != Type::kNumber && v.type != Type::kString) return false;
  *text = absl::StripAsciiWhitespace(v.text);
  return true;
}

absl::StatusOr<int64_t> Integer(const Value& v, absl::string_view path, int64_t lo, int64_t hi) {
  std::string what = lo == 1   ? "a positive integer"
                     : lo == 0 ? "a non-negative integer"
                               : absl::StrCat("an integer from ", lo, " to ", hi);
  absl::string_view text;
  int64_t n;
  if (!NumberText(v, &text) || !absl::SimpleAtoi(text, &n) || n < lo) {
    return Expected(v, path, what);
  }
  if (n > hi) return Expected(v, path, absl::StrCat("an integer from ", lo, " to ", hi));
  return n;
}

// Splits "250ms" into 250 and "ms"; false when there is no leading integer.
bool SplitUnit(absl::string_view text, int64_t* n, absl::string_view* unit) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return false;
  if (!absl::SimpleAtoi(text.substr(0, i), n)) return false;
  *unit = absl::StripAsciiWhitespace(text.substr(i));
  return true;
}

// A number is milliseconds; strings may carry a unit: ms, s, m, h.
absl::StatusOr<absl::Duration> Duration(const Value& v, absl::string_view path, bool allow_zero) {
  constexpr absl::string_view kWhat =
      "a duration (milliseconds, or a string like \"250ms\", \"5s\", \"2m\", \"1h\")";
  absl::string_view text;
  int64_t n;
  absl::string_view unit;
  if (!NumberText(v, &text) || !SplitUnit(text, &n, &unit)) return Expected(v, path, kWhat);
  absl::Duration d;
  if (unit.empty() || unit == "ms") {
    d = absl::Milliseconds(n);
  } else if (unit == "s") {
    d = absl::Seconds(n);
  } else if (unit == "m") {
    d = absl::Minutes(n);
  } else if (unit == "h") {
    d = absl::Hours(n);
  } else {
    return Expected(v, path, kWhat);
  }
  if (!allow_zero && d == absl::ZeroDuration()) {
    return Expected(v, path, "a duration greater than zero");
  }
  return d;
}

// A number is bytes; strings may carry a unit: B, KB/MB/GB (powers of 1000)
// or KiB/MiB/GiB (powers of 1024), as HOCON defines them.
absl::StatusOr<int64_t> Size(const Value& v, absl::string_view path, int64_t lo) {
  constexpr absl::string_view kWhat = "a size (bytes, or a string like \"64MiB\", \"512KB\")";
  absl::string_view text;
  int64_t n;
  absl::string_view unit;
  if (!NumberText(v, &text) || !SplitUnit(text, &n, &unit)) return Expected(v, path, kWhat);
  int64_t scale;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KB" || unit == "kB") {
    scale = 1000;
  } else if (unit == "MB") {
    scale = 1000 * 1000;
  } else if (unit == "GB") {
    scale = 1000 * 1000 * 1000;
  } else if (unit == "KiB") {
    scale = 1 << 10;
  } else if (unit == "MiB") {
    scale = 1 << 20;
  } else if (unit == "GiB") {
    scale = 1 << 30;
  } else {
    return Expected(v, path, kWhat);
  }
  constexpr int64_t kMax = int64_t{1} << 50;
  if (n > kMax / scale) return Expected(v, path, "a size of at most 1PiB");
  if (n * scale < lo) return Expected(v, path, lo == 1 ? "a size greater than zero" : kWhat);
  return n * scale;
}

absl::Status ValidateUrl(const Value& v, absl::string_view path) {
  absl::string_view url = v.text;
  auto bad = [&](absl::string_view why) {
    return Bad(v, path,
               absl::StrCat("expected an http:// or https:// URL with a host, got ",
                            hocon::Describe(v), " (", why, ")"));
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F)
      return bad("blank or control character");
  }
  absl::string_view rest;
  std::string lower = absl::AsciiStrToLower(url.substr(0, 8));
  if (absl::StartsWith(lower, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWith(lower, "https://")) {
    rest = url.substr(8);
  } else {
    return bad("unsupported scheme");
  }
  // A fragment is never sent to a server, so one in a webhook URL is a mistake.
  if (rest.find('#') != absl::string_view::npos) return bad("fragments are not supported");
  size_t end = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, end);
  if (authority.find('@') != absl::string_view::npos) return bad("user info is not supported");
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("bad port");
      port = after.substr(1);
      if (port.empty()) return bad("bad port");
    }
    if (host.size() <= 2) return bad("no host");
  } else {
    size_t colon = authority.rfind(':');
    if (colon != absl::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("bad port");
    }
    if (host.empty()) return bad("no host");
    if (host.find(':') != absl::string_view::npos) return bad("bad host");
  }
  if (!port.empty()) {
    int p;
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) {
      return bad("bad port");
    }
  }
  return absl::OkStatus();
}

// "host:port", "[v6]:port" or ":port"; port 0 asks for any free port.
absl::Status ValidateListen(const Value& v, absl::string_view path) {
  absl::string_view s = v.text;
  size_t colon = s.rfind(':');
  absl::string_view port = colon == absl::string_view::npos ? "" : s.substr(colon + 1);
  int p;
  if (colon == absl::string_view::npos || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) || !absl::SimpleAtoi(port, &p) ||
      p > 65535 || s.find_first_of(" \t\r\n") != absl::string_view::npos) {
    return Expected(v, path, "a listen address \"host:port\"");
  }
  absl::string_view host = s.substr(0, colon);
  if (host.find(':') != absl::string_view::npos &&
      !(absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))) {
    return Expected(v, path, "a listen address \"host:port\" (IPv6 hosts in brackets)");
  }
  return absl::OkStatus();
}

bool IsHeaderNameChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

absl::Status BindHeaders(const Value& v, absl::string_view path, WebhookConfig* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key.empty() || !std::all_of(m.key.begin(), m.key.end(), IsHeaderNameChar)) {
      return Bad(m.value, p, "not a valid HTTP header name");
    }
    const Value& hv = m.value;
    if (hv.type != Type::kString && hv.type != Type::kNumber && hv.type != Type::kBool) {
      return Expected(hv, p, "a string");
    }
    if (hv.text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return Bad(hv, p, "header values may not contain CR, LF or NUL");
    }
    if (m.key.size() > kMaxHeaderNameBytes) {
      return Bad(hv, p, absl::StrCat("header name is longer than ", kMaxHeaderNameBytes, " bytes"));
    }
    if (hv.text.size() > kMaxHeaderValueBytes) {
      return Bad(hv, p,
                 absl::StrCat("header value is longer than ", kMaxHeaderValueBytes, " bytes"));
    }
    std::string name = absl::AsciiStrToLower(m.key);
    // These frame the request; the HTTP client owns them.
    if (name == "content-length" || name == "transfer-encoding" || name == "host" ||
        name == "connection") {
      return Bad(hv, p, "this header is set by the gateway and cannot be configured");
    }
    for (const auto& [existing, value] : out->headers) {
      if (existing == name) {
        return Bad(hv, p, "duplicate header (header names are case-insensitive)");
      }
    }
    out->headers.emplace_back(std::move(name), hv.text);
  }
  return absl::OkStatus();
}

absl::Status BindBody(const Value& v, absl::string_view path, BodyOptions* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    const Value& mv = m.value;
    if (m.key == "encoding") {
      if (mv.type == Type::kString && mv.text == "plain") {
        out->encoding = PayloadEncoding::kPlain;
      } else if (mv.type == Type::kString && mv.text == "base64") {
        out->encoding = PayloadEncoding::kBase64;
      } else if (mv.type == Type::kString && mv.text == "base62") {
        out->encoding = PayloadEncoding::kBase62;
      } else {
        return Expected(mv, p, "plain, base64 or base62");
      }
    } else if (m.key == "username_absent") {
      if (mv.type == Type::kString && mv.text == "undefined") {
        out->absent_username = AbsentUsername::kUndefined;
      } else if (mv.type == Type::kNull || (mv.type == Type::kString && mv.text == "null")) {
        out->absent_username = AbsentUsername::kNull;
      } else {
        return Expected(mv, p, "\"undefined\" or \"null\"");
      }
    } else if (m.key == "base62_max_bytes") {
      absl::StatusOr<int64_t> n = Size(mv, p, 0);
      if (!n.ok()) return n.status();
      out->base62_max_bytes = static_cast<size_t>(*n);
    } else {
      return UnknownKey(m, path, {"encoding", "username_absent", "base62_max_bytes"});
    }
  }
  return absl::OkStatus();
}

absl::Status BindRetry(const Value& v, absl::string_view path, RetryPolicy* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    absl::StatusOr<absl::Duration> d;
    if (m.key == "max_attempts") {
      absl::StatusOr<int64_t> n = Integer(m.value, p, 1, 1000);
      if (!n.ok()) return n.status();
      out->max_attempts = static_cast<int>(*n);
      continue;
    }
    if (m.key != "initial_backoff" && m.key != "max_backoff" && m.key != "max_age") {
      return UnknownKey(m, path, {"max_attempts", "initial_backoff", "max_backoff", "max_age"});
    }
    d = Duration(m.value, p, /*allow_zero=*/false);
    if (!d.ok()) return d.status();
    if (m.key == "initial_backoff") out->initial_backoff = *d;
    if (m.key == "max_backoff") out->max_backoff = *d;
    if (m.key == "max_age") out->max_age = *d;
  }
  if (out->max_backoff < out->initial_backoff) {
    return Bad(v, path, "max_backoff is shorter than initial_backoff");
  }
  return absl::OkStatus();
}

absl::Status BindBatch(const Value& v, absl::string_view path, BatchConfig* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "max_events") {
      absl::StatusOr<int64_t> n = Integer(m.value, p, 1, 10000);
      if (!n.ok()) return n.status();
      out->max_events = static_cast<int>(*n);
    } else if (m.key == "max_bytes") {
      absl::StatusOr<int64_t> n = Size(m.value, p, 1);
      if (!n.ok()) return n.status();
      if (*n < 1024 || *n > (int64_t{64} << 20)) {
        return Expected(m.value, p, "a size from 1KiB to 64MiB");
      }
      out->max_bytes = *n;
    } else if (m.key == "linger") {
      absl::StatusOr<absl::Duration> d = Duration(m.value, p, /*allow_zero=*/true);
      if (!d.ok()) return d.status();
      if (*d > absl::Seconds(10)) return Expected(m.value, p, "a duration of at most 10s");
      out->linger = *d;
    } else {
      return UnknownKey(m, path, {"max_events", "max_bytes", "linger"});
    }
  }
  return absl::OkStatus();
}

absl::Status BindPark(const Value& v, absl::string_view path, ParkConfig* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "after") {
      absl::StatusOr<absl::Duration> d = Duration(m.value, p, /*allow_zero=*/false);
      if (!d.ok()) return d.status();
      if (*d < absl::Milliseconds(10) || *d > absl::Hours(1)) {
        return Expected(m.value, p, "a duration from 10ms to 1h");
      }
      out->after = *d;
    } else if (m.key == "max_events") {
      absl::StatusOr<int64_t> n = Integer(m.value, p, 0, int64_t{1} << 32);
      if (!n.ok()) return n.status();
      out->max_events = *n;
    } else {
      return UnknownKey(m, path, {"after", "max_events"});
    }
  }
  return absl::OkStatus();
}

absl::Status BindEndpointTls(const Value& v, absl::string_view path, EndpointTls* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "insecure_skip_verify") {
      absl::StatusOr<bool> b = Bool(m.value, p);
      if (!b.ok()) return b.status();
      out->insecure_skip_verify = *b;
      continue;
    }
    if (m.key != "ca_file" && m.key != "cert_file" && m.key != "key_file") {
      return UnknownKey(m, path, {"ca_file", "cert_file", "key_file", "insecure_skip_verify"});
    }
    absl::StatusOr<std::string> s = String(m.value, p);
    if (!s.ok()) return s.status();
    if (s->empty()) return Expected(m.value, p, "a file path");
    if (m.key == "ca_file") out->ca_file = *s;
    if (m.key == "cert_file") out->cert_file = *s;
    if (m.key == "key_file") out->key_file = *s;
  }
  if (out->cert_file.empty() != out->key_file.empty()) {
    return Bad(v, path, "cert_file and key_file go together; give both or neither");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> DecodeSigningSecret(std::string_view std_text) {
  absl::string_view text(std_text.data(), std_text.size());
  text = absl::StripAsciiWhitespace(text);
  // The message never quotes the secret: config errors end up in logs.
  constexpr absl::string_view kPrefix = "whsec_";
  std::string bytes;
  if (!absl::StartsWith(text, kPrefix) || text.size() == kPrefix.size() ||
      !absl::Base64Unescape(text.substr(kPrefix.size()), &bytes) || bytes.empty()) {
    return absl::InvalidArgumentError(
        "expected a secret \"whsec_\" followed by base64 (value not shown)");
  }
  if (bytes.size() < 16 || bytes.size() > 256) {
    return absl::InvalidArgumentError(absl::StrCat("secret decodes to ", bytes.size(),
                                                   " bytes; expected 16 to 256 (value not shown)"));
  }
  return bytes;
}

namespace {

absl::Status BindSigning(const Value& v, absl::string_view path, SigningConfig* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key != "secrets" && m.key != "secret_files") {
      return UnknownKey(m, path, {"secrets", "secret_files"});
    }
    if (m.value.type != Type::kArray) {
      return Bad(m.value, p, "expected an array of strings");
    }
    for (size_t i = 0; i < m.value.elements.size(); ++i) {
      const Value& e = m.value.elements[i];
      std::string ep = absl::StrCat(p, "[", i, "]");
      if (e.type != Type::kString) return Bad(e, ep, "expected a string");
      if (m.key == "secret_files") {
        if (e.text.empty()) return Bad(e, ep, "expected a file path");
        out->secret_files.push_back(e.text);
        continue;
      }
      absl::StatusOr<std::string> secret = DecodeSigningSecret(e.text);
      if (!secret.ok()) return Bad(e, ep, secret.status().message());
      out->secrets.push_back(*std::move(secret));
    }
  }
  return absl::OkStatus();
}

absl::Status BindEvent(const Value& v, absl::string_view path, EventRule* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  out->where = v.Where();
  const Value* event = nullptr;
  const Value* topic = nullptr;
  for (const Member& m : v.members) {
    if (m.key == "event") {
      event = &m.value;
    } else if (m.key == "topic") {
      topic = &m.value;
    } else {
      return UnknownKey(m, path, {"event", "topic"});
    }
  }
  if (event == nullptr) return Missing(v, path, "event");
  std::string event_path = Child(path, "event");
  std::optional<EventKind> kind;
  if (event->type == Type::kString) kind = EventKindFromName(event->text);
  if (!kind) return Expected(*event, event_path, "an event name such as on_message_publish");
  out->event = *kind;
  if (topic == nullptr) return absl::OkStatus();

  std::string topic_path = Child(path, "topic");
  absl::StatusOr<std::string> text = String(*topic, topic_path);
  if (!text.ok()) return text.status();
  if (!KindHasTopic(*kind)) {
    return Bad(*topic, topic_path,
               absl::StrCat(std::string(EventName(*kind)), " events have no topic to filter on"));
  }
  absl::StatusOr<TopicFilter> filter = TopicFilter::Parse(*text);
  if (!filter.ok()) {
    return Bad(*topic, topic_path,
               absl::StrCat("expected a valid topic filter, got ", hocon::Describe(*topic), " (",
                            filter.status().message(), ")"));
  }
  out->topic = *text;
  return absl::OkStatus();
}

absl::Status BindEvents(const Value& v, absl::string_view path, WebhookConfig* out) {
  if (v.type != Type::kArray) return Expected(v, path, "an array of {event, topic} objects");
  if (v.elements.empty()) return Expected(v, path, "at least one event rule");
  for (size_t i = 0; i < v.elements.size(); ++i) {
    EventRule rule;
    absl::Status st = BindEvent(v.elements[i], absl::StrCat(path, "[", i, "]"), &rule);
    if (!st.ok()) return st;
    out->events.push_back(std::move(rule));
  }
  return absl::OkStatus();
}

absl::Status BindTimeout(const Member& m, absl::string_view path, absl::Duration* out) {
  absl::StatusOr<absl::Duration> d = Duration(m.value, Child(path, m.key), false);
  if (!d.ok()) return d.status();
  *out = *d;
  return absl::OkStatus();
}

absl::Status BindWebhook(const Value& v, absl::string_view path, WebhookConfig* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  out->where = v.Where();
  bool has_url = false;
  bool has_events = false;
  const Member* timeout = nullptr;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    const Value& mv = m.value;
    absl::Status st;
    if (m.key == "name") {
      absl::StatusOr<std::string> s = String(mv, p);
      if (!s.ok()) return s.status();
      if (s->empty()) return Expected(mv, p, "a non-empty string");
      out->name = *s;
    } else if (m.key == "url") {
      absl::StatusOr<std::string> s = String(mv, p);
      if (!s.ok()) return s.status();
      st = ValidateUrl(mv, p);
      out->url = *s;
      has_url = true;
    } else if (m.key == "headers") {
      st = BindHeaders(mv, p, out);
    } else if (m.key == "body") {
      st = BindBody(mv, p, &out->body);
    } else if (m.key == "pool_size") {
      absl::StatusOr<int64_t> n = Integer(mv, p, 1, 1024);
      if (!n.ok()) return n.status();
      out->pool_size = static_cast<int>(*n);
    } else if (m.key == "cancel_timeout" || m.key == "request_timeout") {
      if (timeout != nullptr) {
        return Bad(mv, p,
                   absl::StrCat("request_timeout and cancel_timeout are the same setting; ",
                                "give only one"));
      }
      timeout = &m;
      st = BindTimeout(m, path, &out->request_timeout);
    } else if (m.key == "connect_timeout") {
      st = BindTimeout(m, path, &out->connect_timeout);
    } else if (m.key == "idle_timeout") {
      st = BindTimeout(m, path, &out->idle_timeout);
    } else if (m.key == "retry") {
      st = BindRetry(mv, p, &out->retry);
    } else if (m.key == "batch") {
      st = BindBatch(mv, p, &out->batch);
    } else if (m.key == "park") {
      st = BindPark(mv, p, &out->park);
    } else if (m.key == "tls") {
      st = BindEndpointTls(mv, p, &out->tls);
    } else if (m.key == "signing") {
      st = BindSigning(mv, p, &out->signing);
    } else if (m.key == "events") {
      st = BindEvents(mv, p, out);
      has_events = true;
    } else {
      return UnknownKey(m, path,
                        {"name", "url", "headers", "body", "pool_size", "cancel_timeout",
                         "request_timeout", "connect_timeout", "idle_timeout", "retry", "batch",
                         "park", "tls", "signing", "events"});
    }
    if (!st.ok()) return st;
  }
  if (!has_url) return Missing(v, path, "url");
  if (!has_events) return Missing(v, path, "events");
  return absl::OkStatus();
}

absl::Status BindOneOf(const Value& v, absl::string_view path,
                       std::initializer_list<absl::string_view> allowed, std::string* out) {
  for (absl::string_view a : allowed) {
    if (v.type == Type::kString && v.text == a) {
      *out = v.text;
      return absl::OkStatus();
    }
  }
  std::string what;
  for (absl::string_view a : allowed) absl::StrAppend(&what, what.empty() ? "" : ", ", a);
  return Expected(v, path, absl::StrCat("one of ", what));
}

absl::Status BindGrpcTls(const Value& v, absl::string_view path, GrpcTlsSettings* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "require_client_cert") {
      absl::StatusOr<bool> b = Bool(m.value, p);
      if (!b.ok()) return b.status();
      out->require_client_cert = *b;
      continue;
    }
    if (m.key != "cert_file" && m.key != "key_file" && m.key != "client_ca_file") {
      return UnknownKey(m, path,
                        {"cert_file", "key_file", "client_ca_file", "require_client_cert"});
    }
    absl::StatusOr<std::string> s = String(m.value, p);
    if (!s.ok()) return s.status();
    if (m.key == "cert_file") out->cert_file = *s;
    if (m.key == "key_file") out->key_file = *s;
    if (m.key == "client_ca_file") out->client_ca_file = *s;
  }
  if (out->cert_file.empty() || out->key_file.empty()) {
    return Bad(v, path, "cert_file and key_file are both required for TLS");
  }
  if (out->require_client_cert && out->client_ca_file.empty()) {
    return Bad(v, path,
               "require_client_cert is true but client_ca_file is missing; give the CA, or set "
               "require_client_cert = false");
  }
  return absl::OkStatus();
}

absl::Status BindAuth(const Value& v, absl::string_view path, AuthSettings* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "token_file") {
      absl::StatusOr<std::string> s = String(m.value, p);
      if (!s.ok()) return s.status();
      out->token_file = *s;
    } else if (m.key == "tokens") {
      if (m.value.type != Type::kArray) return Bad(m.value, p, "expected an array of strings");
      for (size_t i = 0; i < m.value.elements.size(); ++i) {
        const Value& e = m.value.elements[i];
        std::string ep = absl::StrCat(p, "[", i, "]");
        // Tokens are secrets: messages about them never show the value.
        if (e.type != Type::kString) return Bad(e, ep, "expected a string");
        if (e.text.size() < 16) {
          return Bad(e, ep, "a token must be at least 16 characters (value not shown)");
        }
        if (std::any_of(e.text.begin(), e.text.end(), [](char c) {
              return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
            })) {
          return Bad(e, ep, "a token may not contain blanks or control characters");
        }
        out->tokens.push_back(e.text);
      }
    } else {
      return UnknownKey(m, path, {"tokens", "token_file"});
    }
  }
  return absl::OkStatus();
}

absl::Status BindOutbound(const Value& v, absl::string_view path, OutboundSettings* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    if (m.key == "allow_cidrs" || m.key == "deny_cidrs") {
      absl::StatusOr<std::vector<std::string>> list = StringList(m.value, p);
      if (!list.ok()) return list.status();
      for (size_t i = 0; i < list->size(); ++i) {
        absl::StatusOr<Cidr> cidr = Cidr::Parse((*list)[i]);
        if (!cidr.ok()) {
          return Bad(m.value.elements[i], absl::StrCat(p, "[", i, "]"), cidr.status().message());
        }
      }
      (m.key == "allow_cidrs" ? out->allow_cidrs : out->deny_cidrs) = *std::move(list);
    } else if (m.key == "https_only" || m.key == "deny_defaults") {
      absl::StatusOr<bool> b = Bool(m.value, p);
      if (!b.ok()) return b.status();
      (m.key == "https_only" ? out->https_only : out->deny_defaults) = *b;
    } else {
      return UnknownKey(m, path, {"allow_cidrs", "deny_cidrs", "deny_defaults", "https_only"});
    }
  }
  return absl::OkStatus();
}

absl::Status BindGateway(const Value& v, absl::string_view path, GatewaySettings* out) {
  if (absl::Status st = ExpectObject(v, path); !st.ok()) return st;
  for (const Member& m : v.members) {
    std::string p = Child(path, m.key);
    const Value& mv = m.value;
    absl::Status st;
    absl::StatusOr<int64_t> n;
    if (m.key == "grpc_listen" || m.key == "admin_listen") {
      absl::StatusOr<std::string> s = String(mv, p);
      if (!s.ok()) return s.status();
      // An empty admin address turns the admin listener off.
      if (!(m.key == "admin_listen" && s->empty())) st = ValidateListen(mv, p);
      (m.key == "grpc_listen" ? out->grpc_listen : out->admin_listen) = *s;
    } else if (m.key == "max_queue_events" || m.key == "max_batch_events") {
      n = Integer(mv, p, 1, int64_t{1} << 40);
      if (!n.ok()) return n.status();
      (m.key == "max_queue_events" ? out->max_queue_events : out->max_batch_events) = *n;
    } else if (m.key == "max_streams_per_peer") {
      n = Integer(mv, p, 1, 1 << 20);
      if (!n.ok()) return n.status();
      out->max_streams_per_peer = *n;
    } else if (m.key == "max_metadata_bytes") {
      n = Size(mv, p, 1024);
      if (!n.ok()) return n.status();
      if (*n > (1 << 20)) return Expected(mv, p, "a size of at most 1MiB");
      out->max_metadata_bytes = *n;
    } else if (m.key == "tls") {
      st = BindGrpcTls(mv, p, &out->tls);
    } else if (m.key == "auth") {
      st = BindAuth(mv, p, &out->auth);
    } else if (m.key == "outbound") {
      st = BindOutbound(mv, p, &out->outbound);
    } else if (m.key == "max_queue_bytes" || m.key == "max_event_bytes" ||
               m.key == "dead_letter_max_bytes") {
      n = Size(mv, p, 1);
      if (!n.ok()) return n.status();
      if (m.key == "max_queue_bytes") out->max_queue_bytes = *n;
      if (m.key == "max_event_bytes") out->max_event_bytes = *n;
      if (m.key == "dead_letter_max_bytes") out->dead_letter_max_bytes = *n;
    } else if (m.key == "keepalive_time" || m.key == "keepalive_timeout" ||
               m.key == "keepalive_min_client_interval" || m.key == "stream_heartbeat") {
      absl::StatusOr<absl::Duration> d = Duration(mv, p, /*allow_zero=*/false);
      if (!d.ok()) return d.status();
      // gRPC counts in milliseconds; shorter would ping on every write.
      if (*d < absl::Milliseconds(100) || *d > absl::Hours(24 * 24)) {
        return Expected(mv, p, "a duration from 100ms to 24 days");
      }
      if (m.key == "keepalive_time") out->keepalive_time = *d;
      if (m.key == "keepalive_timeout") out->keepalive_timeout = *d;
      if (m.key == "keepalive_min_client_interval") out->keepalive_min_client_interval = *d;
      if (m.key == "stream_heartbeat") out->stream_heartbeat = *d;
    } else if (m.key == "max_connection_age" || m.key == "max_connection_age_grace") {
      absl::StatusOr<absl::Duration> d = Duration(mv, p, /*allow_zero=*/true);
      if (!d.ok()) return d.status();
      if (*d > absl::Hours(24 * 24)) return Expected(mv, p, "a duration of at most 24 days");
      (m.key == "max_connection_age" ? out->max_connection_age : out->max_connection_age_grace) =
          *d;
    } else if (m.key == "drain_grace") {
      absl::StatusOr<absl::Duration> d = Duration(mv, p, /*allow_zero=*/true);
      if (!d.ok()) return d.status();
      out->drain_grace = *d;
    } else if (m.key == "log_level") {
      st = BindOneOf(mv, p, {"debug", "info", "warn", "error"}, &out->log_level);
    } else if (m.key == "log_format") {
      st = BindOneOf(mv, p, {"text", "json"}, &out->log_format);
    } else if (m.key == "dead_letter_path" || m.key == "spool_dir") {
      absl::StatusOr<std::string> s = String(mv, p);
      if (!s.ok()) return s.status();
      (m.key == "spool_dir" ? out->spool_dir : out->dead_letter_path) = *s;
    } else {
      return UnknownKey(m, path,
                        {"grpc_listen",
                         "admin_listen",
                         "max_queue_events",
                         "max_queue_bytes",
                         "max_event_bytes",
                         "max_batch_events",
                         "drain_grace",
                         "log_level",
                         "log_format",
                         "dead_letter_path",
                         "dead_letter_max_bytes",
                         "spool_dir",
                         "max_streams_per_peer",
                         "max_metadata_bytes",
                         "tls",
                         "auth",
                         "outbound",
                         "keepalive_time",
                         "keepalive_timeout",
                         "keepalive_min_client_interval",
                         "stream_heartbeat",
                         "max_connection_age",
                         "max_connection_age_grace"});
    }
    if (!st.ok()) return st;
  }
  if (out->max_event_bytes > out->max_queue_bytes) {
    return Bad(v, path, "max_event_bytes is larger than max_queue_bytes");
  }
  return absl::OkStatus();
}

// Binds NanoMQ's `webhook` block first, then the `webhooks` list; either
// may be null. Names must be unique over both.
absl::Status BindWebhooks(const Value* webhook, const Value* webhooks,
                          std::vector<WebhookConfig>* out) {
  std::set<std::string> names;
  auto add = [&](const Value& v, const std::string& path) -> absl::Status {
    WebhookConfig hook;
    hook.name = path;
    absl::Status st = BindWebhook(v, path, &hook);
    if (!st.ok()) return st;
    if (!names.insert(hook.name).second) {
      const Value* name = v.Find("name");
      return Bad(name != nullptr ? *name : v, Child(path, "name"),
                 absl::StrCat("duplicate webhook name \"", hook.name, "\""));
    }
    out->push_back(std::move(hook));
    return absl::OkStatus();
  };
  if (webhook != nullptr) {
    absl::Status st = add(*webhook, "webhook");
    if (!st.ok()) return st;
  }
  if (webhooks == nullptr) return absl::OkStatus();
  if (webhooks->type != Type::kArray) {
    return Expected(*webhooks, "webhooks", "an array of webhook objects");
  }
  for (size_t i = 0; i < webhooks->elements.size(); ++i) {
    absl::Status st = add(webhooks->elements[i], absl::StrCat("webhooks[", i, "]"));
    if (!st.ok()) return st;
  }
  return absl::OkStatus();
}

// Refuses at load what the outbound policy would refuse at every send: an
// IP literal in a forbidden range, or http:// under https_only. Names are
// checked when they are resolved, before each connection.
absl::Status CheckOutbound(const Config& config) {
  absl::StatusOr<OutboundPolicy> policy = OutboundPolicy::Create(config.gateway.outbound);
  if (!policy.ok()) return policy.status();
  for (const WebhookConfig& hook : config.webhooks) {
    absl::string_view url = hook.url;
    bool https = absl::StartsWithIgnoreCase(url, "https://");
    if (policy->https_only() && !https) {
      return absl::InvalidArgumentError(
          absl::StrCat(hook.where, ": ", hook.name,
                       ".url: outbound policy: https_only is set and the URL is ", "not https://"));
    }
    absl::string_view rest = url.substr(https ? 8 : 7);
    absl::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    absl::string_view host = authority;
    if (absl::StartsWith(authority, "[")) {
      host = authority.substr(1, authority.find(']') - 1);
    } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
      host = authority.substr(0, colon);
    }
    std::string h(host);
    if (!IsIpLiteral(h)) continue;
    absl::Status allowed = policy->CheckAddress(h);
    if (!allowed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(hook.where, ": ", hook.name, ".url: ", allowed.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view std_filename) {
  absl::string_view filename(std_filename.data(), std_filename.size());
  absl::StatusOr<Value> root = hocon::Parse(text, std_filename);
  if (!root.ok()) return root.status();

  Config config;
  const Value* webhook = nullptr;
  const Value* webhooks = nullptr;
  for (const Member& m : root->members) {
    if (m.key == "webhook") {
      webhook = &m.value;
    } else if (m.key == "webhooks") {
      webhooks = &m.value;
    } else if (m.key == "gateway") {
      absl::Status st = BindGateway(m.value, "gateway", &config.gateway);
      if (!st.ok()) return st;
    } else {
      return UnknownKey(m, "", {"webhook", "webhooks", "gateway"});
    }
  }

  absl::Status st = BindWebhooks(webhook, webhooks, &config.webhooks);
  if (!st.ok()) return st;
  st = CheckOutbound(config);
  if (!st.ok()) return st;
  if (config.webhooks.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(filename, ": no webhook configured; expected a webhook { ... } block or a ",
                     "non-empty webhooks = [ ... ] list"));
  }
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open config file: ", std::strerror(errno)));
  }
  std::string text;
  char buf[65536];
  errno = 0;
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > hocon::kMaxInputBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": config file is larger than ", hocon::kMaxInputBytes, " bytes"));
    }
  }
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read config file: ", std::strerror(errno)));
  }
  return ParseConfig(text, path);
}

}  // namespace webhookgw
