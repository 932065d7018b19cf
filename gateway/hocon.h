#ifndef WEBHOOKGW_GATEWAY_HOCON_H_
#define WEBHOOKGW_GATEWAY_HOCON_H_

// A reader of the part of HOCON that gateway config files use (NanoMQ's
// format). No maintained C++ HOCON library exists, so this one is small and
// fuzzed. gateway/HOCON.md lists the subset; in short:
//
//   supported: root braces optional; `key = v`, `key : v`, `key { ... }`;
//     dotted keys (`a.b = 1` is `a { b = 1 }`) and quoted keys; objects
//     merged when a key repeats, later scalars winning; arrays whose
//     elements are separated by commas and/or newlines; quoted strings with
//     JSON escapes; triple-quoted strings; unquoted strings (HOCON's
//     forbidden characters, `:` among them, end them, so URLs must be
//     quoted); numbers, true, false, null; `#` and `//` comments; string
//     concatenation on one line; `${VAR}` and `${?VAR}` taken from the
//     process environment only (never from other config keys).
//   not supported, reported as errors: `include`, `+=`, self-referential
//     substitutions, object and array concatenation.
//
// Hostile input is bounded: kMaxInputBytes of text, kMaxDepth levels of
// nesting (dotted keys count), kMaxValues values parsed in all (values that
// a repeated key replaces or merges still count: the limit bounds work).

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace webhookgw {
namespace hocon {

inline constexpr size_t kMaxInputBytes = 4 << 20;
inline constexpr int kMaxDepth = 64;
inline constexpr size_t kMaxValues = 200000;

enum class Type { kNull, kBool, kNumber, kString, kObject, kArray };

struct Member;

// One node of a parsed document. Every node remembers where it was written
// so that the config binder can say which line is wrong. Plain data: not
// synchronized, but immutable use from many threads is safe.
struct Value {
  Type type = Type::kNull;
  // kString: the contents. kNumber, kBool, kNull: the token as written.
  std::string text;
  // kObject: members in the order their keys first appeared.
  std::vector<Member> members;
  // kArray: the elements in order.
  std::vector<Value> elements;
  // Where the value starts.
  int line = 0;
  std::shared_ptr<const std::string> file;

  // The member named `key` of an object, or null (also for non-objects).
  const Value* Find(std::string_view key) const;

  // "file:line", the prefix of every message about this value.
  std::string Where() const;

  // Index of `members` by key, kept by the parser; empty for non-objects.
  std::map<std::string, size_t, std::less<>> index;
};

// One key of an object and its value.
struct Member {
  std::string key;
  // The line where the key first appeared (a repeated key keeps it).
  int key_line = 0;
  Value value;
};

// Parses `text` into its root object. `filename` is kept in every value and
// starts every error message: `FILE:LINE: what is wrong`. Substitutions are
// resolved while parsing; a missing `${VAR}` is an error naming VAR, a
// missing `${?VAR}` leaves its key (or array element) out.
absl::StatusOr<Value> Parse(std::string_view text, std::string_view filename);

// A short description of `value` for "expected ..., got ..." messages:
// strings quoted and escaped, numbers as written, "an object", "an array".
std::string Describe(const Value& value);

}  // namespace hocon
}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_HOCON_H_
