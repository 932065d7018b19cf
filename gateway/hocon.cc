#include "gateway/hocon.h"

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace webhookgw {
namespace hocon {
namespace {

// Characters HOCON forbids in unquoted strings and keys.
bool IsForbidden(char c) {
  switch (c) {
    case '$':
    case '"':
    case '{':
    case '}':
    case '[':
    case ']':
    case ':':
    case '=':
    case ',':
    case '+':
    case '#':
    case '`':
    case '^':
    case '?':
    case '!':
    case '@':
    case '*':
    case '&':
    case '\\':
      return true;
    default:
      return false;
  }
}

bool IsInlineSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// JSON's number grammar, which is what HOCON treats as a number.
bool LooksLikeNumber(absl::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Quote(absl::string_view s) {
  constexpr size_t kMaxShown = 60;
  if (s.size() > kMaxShown) {
    return absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMaxShown)), "...\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(s), "\"");
}

std::string DescribeChar(char c) {
  if (c == '\'') return "\"'\"";
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
    return absl::StrCat("byte 0x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
  }
  return absl::StrCat("'", std::string(1, c), "'");
}

// Recursive-descent parser over the whole text. One instance parses one
// document; not thread-safe.
class Parser {
 public:
  Parser(absl::string_view text, absl::string_view filename)
      : s_(text), file_(std::make_shared<const std::string>(filename)) {}

  absl::StatusOr<Value> ParseDocument();

 private:
  // A value that may be absent: an optional substitution of an unset variable.
  using MaybeValue = std::optional<Value>;

  absl::Status Error(int line, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(*file_, ":", line, ": ", message));
  }

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek(size_t ahead = 0) const { return pos_ + ahead < s_.size() ? s_[pos_ + ahead] : '\0'; }
  bool AtComment() const { return Peek() == '#' || (Peek() == '/' && Peek(1) == '/'); }
  void Advance() {
    if (s_[pos_] == '\n') ++line_;
    ++pos_;
  }

  void SkipInline();  // spaces and a trailing comment, not the newline
  void SkipAll();     // spaces, comments and newlines
  absl::StatusOr<Value> NewValue(Type type, int line);

  absl::Status ParseObjectBody(Value* obj, bool braced, int open_line, int depth);
  absl::Status ParseField(Value* obj, int depth);
  absl::StatusOr<std::vector<std::string>> ParseKeyPath(bool* first_unquoted);
  absl::StatusOr<MaybeValue> ParseValue(int depth, absl::string_view key);
  absl::StatusOr<MaybeValue> ParseScalar(absl::string_view key);
  absl::StatusOr<Value> ParseArray(int depth);
  absl::StatusOr<std::string> ParseQuoted();
  absl::StatusOr<std::string> ParseTripleQuoted();
  absl::Status ParseEscape(int line, std::string* out);
  bool ReadHex4(uint32_t* code);
  absl::StatusOr<std::optional<std::string>> ParseSubstitution();
  std::string ParseUnquoted();
  bool AtValueEnd() const;

  absl::Status Assign(Value* obj, const std::vector<std::string>& path, int key_line, Value v);

  absl::string_view s_;
  std::shared_ptr<const std::string> file_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t values_ = 0;
};

void Parser::SkipInline() {
  while (!AtEnd() && IsInlineSpace(Peek())) ++pos_;
  if (AtComment()) {
    while (!AtEnd() && Peek() != '\n') ++pos_;
  }
}

void Parser::SkipAll() {
  for (;;) {
    SkipInline();
    if (Peek() != '\n' || AtEnd()) return;
    Advance();
  }
}

absl::StatusOr<Value> Parser::NewValue(Type type, int line) {
  if (++values_ > kMaxValues) {
    return Error(line, absl::StrCat("too many values (the limit is ", kMaxValues, ")"));
  }
  Value v;
  v.type = type;
  v.line = line;
  v.file = file_;
  return v;
}

absl::StatusOr<Value> Parser::ParseDocument() {
  if (s_.size() > kMaxInputBytes) {
    return Error(1, absl::StrCat("file is larger than ", kMaxInputBytes, " bytes"));
  }
  // A UTF-8 byte order mark is tolerated at the very start.
  if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  SkipAll();
  absl::StatusOr<Value> root = NewValue(Type::kObject, line_);
  if (!root.ok()) return root.status();
  if (Peek() == '{' && !AtEnd()) {
    int open_line = line_;
    Advance();
    absl::Status st = ParseObjectBody(&*root, /*braced=*/true, open_line, 1);
    if (!st.ok()) return st;
    SkipAll();
    if (!AtEnd()) {
      return Error(line_, absl::StrCat("unexpected ", DescribeChar(Peek()),
                                       " after the closing '}' of the root object"));
    }
    return root;
  }
  absl::Status st = ParseObjectBody(&*root, /*braced=*/false, line_, 0);
  if (!st.ok()) return st;
  return root;
}

absl::Status Parser::ParseObjectBody(Value* obj, bool braced, int open_line, int depth) {
  for (;;) {
    SkipAll();
    if (AtEnd()) {
      if (!braced) return absl::OkStatus();
      return Error(open_line, "unterminated object: '{' has no matching '}'");
    }
    if (Peek() == '}') {
      if (!braced) return Error(line_, "unexpected '}' with no object open");
      Advance();
      return absl::OkStatus();
    }
    absl::Status st = ParseField(obj, depth);
    if (!st.ok()) return st;
    SkipInline();
    if (Peek() == ',' && !AtEnd()) {
      Advance();
    } else if (!AtEnd() && Peek() != '\n' && Peek() != '}') {
      return Error(line_, absl::StrCat("unexpected ", DescribeChar(Peek()),
                                       "; expected a newline or ',' between fields"));
    }
  }
}

absl::Status Parser::ParseField(Value* obj, int depth) {
  int key_line = line_;
  bool first_unquoted = false;
  absl::StatusOr<std::vector<std::string>> path = ParseKeyPath(&first_unquoted);
  if (!path.ok()) return path.status();
  std::string shown = absl::StrJoin(*path, ".");
  while (!AtEnd() && IsInlineSpace(Peek())) ++pos_;

  if (first_unquoted && path->size() == 1 && (*path)[0] == "include" &&
      (Peek() == '"' || (Peek() >= 'a' && Peek() <= 'z'))) {
    return Error(key_line, "include directives are not supported");
  }
  if (depth + static_cast<int>(path->size()) > kMaxDepth) {
    return Error(key_line, absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
  }
  if (Peek() == '+' && Peek(1) == '=') {
    return Error(line_, absl::StrCat("'+=' is not supported (key \"", shown, "\")"));
  }
  if (AtEnd() || (Peek() != '=' && Peek() != ':' && Peek() != '{')) {
    return Error(key_line, absl::StrCat("expected '=' or ':' after key \"", shown, "\""));
  }
  if (Peek() != '{') {
    ++pos_;  // '=' or ':'
    SkipAll();
  }
  int value_depth = depth + static_cast<int>(path->size()) - 1;
  absl::StatusOr<MaybeValue> value = ParseValue(value_depth, shown);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return absl::OkStatus();  // ${?VAR} of an unset VAR
  return Assign(obj, *path, key_line, std::move(**value));
}

absl::StatusOr<std::vector<std::string>> Parser::ParseKeyPath(bool* first_unquoted) {
  std::vector<std::string> path;
  int line = line_;
  for (;;) {
    std::string segment;
    bool any = false;
    for (;;) {
      char c = Peek();
      if (AtEnd()) break;
      if (c == '"') {
        absl::StatusOr<std::string> q = ParseQuoted();
        if (!q.ok()) return q.status();
        segment += *q;
        any = true;
        continue;
      }
      if (IsForbidden(c) || IsInlineSpace(c) || c == '\n' || c == '.' ||
          (c == '/' && Peek(1) == '/')) {
        break;
      }
      if (path.empty()) *first_unquoted = true;
      segment.push_back(c);
      ++pos_;
      any = true;
    }
    if (!any) {
      if (AtEnd()) return Error(line, "expected a key, got the end of the file");
      return Error(line_, absl::StrCat("expected a key, got ", DescribeChar(Peek())));
    }
    path.push_back(std::move(segment));
    if (path.size() > static_cast<size_t>(kMaxDepth)) {
      return Error(line, absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
    }
    if (Peek() != '.' || AtEnd()) return path;
    ++pos_;
  }
}

absl::StatusOr<std::string> Parser::ParseQuoted() {
  int line = line_;
  if (s_.substr(pos_, 3) == "\"\"\"") return ParseTripleQuoted();
  ++pos_;
  std::string out;
  for (;;) {
    if (AtEnd() || Peek() == '\n') return Error(line, "unterminated string");
    char c = Peek();
    ++pos_;
    if (c == '"') return out;
    if (c == '\\') {
      absl::Status st = ParseEscape(line, &out);
      if (!st.ok()) return st;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return Error(line, "control character in a quoted string; escape it");
    }
    out.push_back(c);
  }
}

// Raw text up to the closing three quotes, newlines included; further
// quotes just before the closing three belong to the string, as in HOCON.
absl::StatusOr<std::string> Parser::ParseTripleQuoted() {
  int line = line_;
  pos_ += 3;
  size_t end = s_.find("\"\"\"", pos_);
  if (end == absl::string_view::npos) return Error(line, "unterminated triple-quoted string");
  while (end + 3 < s_.size() && s_[end + 3] == '"') ++end;
  std::string out(s_.substr(pos_, end - pos_));
  while (pos_ < end + 3) Advance();
  return out;
}

bool Parser::ReadHex4(uint32_t* code) {
  if (pos_ + 4 > s_.size()) return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    int digit = HexDigit(s_[pos_ + i]);
    if (digit < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(digit);
  }
  pos_ += 4;
  *code = v;
  return true;
}

// One JSON escape after its backslash; surrogate pairs become one code point.
absl::Status Parser::ParseEscape(int line, std::string* out) {
  if (AtEnd()) return Error(line, "unterminated string");
  char e = Peek();
  ++pos_;
  constexpr absl::string_view kFrom = "\"\\/bfnrt";
  constexpr absl::string_view kTo = "\"\\/\b\f\n\r\t";
  size_t simple = kFrom.find(e);
  if (simple != absl::string_view::npos) {
    out->push_back(kTo[simple]);
    return absl::OkStatus();
  }
  if (e != 'u') {
    return Error(line, absl::StrCat("bad escape \\", std::string(1, e), " in a quoted string"));
  }
  uint32_t code;
  if (!ReadHex4(&code)) return Error(line, "bad \\u escape: expected four hex digits");
  if (code >= 0xDC00 && code < 0xE000) return Error(line, "unpaired surrogate in \\u escape");
  if (code >= 0xD800 && code < 0xDC00) {
    uint32_t low;
    if (Peek() != '\\' || Peek(1) != 'u') return Error(line, "unpaired surrogate in \\u escape");
    pos_ += 2;
    if (!ReadHex4(&low) || low < 0xDC00 || low > 0xDFFF) {
      return Error(line, "unpaired surrogate in \\u escape");
    }
    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
  }
  AppendUtf8(code, out);
  return absl::OkStatus();
}

// Reads `${VAR}` or `${?VAR}`; nullopt when an optional variable is unset.
absl::StatusOr<std::optional<std::string>> Parser::ParseSubstitution() {
  int line = line_;
  pos_ += 2;
  bool optional = Peek() == '?';
  if (optional) ++pos_;
  size_t start = pos_;
  while (!AtEnd() && Peek() != '}' && Peek() != '\n') ++pos_;
  if (AtEnd() || Peek() != '}') return Error(line, "unterminated substitution: missing '}'");
  std::string name(s_.substr(start, pos_ - start));
  ++pos_;
  if (name.empty()) return Error(line, "empty substitution ${}");
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return Error(line, absl::StrCat("bad substitution ", Quote(name),
                                      ": only environment variable names are supported"));
    }
  }
  const char* env = std::getenv(name.c_str());
  if (env != nullptr) return std::optional<std::string>(env);
  if (optional) return std::optional<std::string>();
  return Error(line, absl::StrCat("environment variable ", name, " is not set (use ${?", name,
                                  "} if it is optional)"));
}

std::string Parser::ParseUnquoted() {
  size_t start = pos_;
  while (!AtEnd()) {
    char c = Peek();
    if (IsForbidden(c) || c == '\n' || (c == '/' && Peek(1) == '/')) break;
    ++pos_;
  }
  return std::string(s_.substr(start, pos_ - start));
}

bool Parser::AtValueEnd() const {
  char c = Peek();
  return AtEnd() || c == '\n' || c == ',' || c == '}' || c == ']' || AtComment();
}

absl::StatusOr<Parser::MaybeValue> Parser::ParseValue(int depth, absl::string_view key) {
  int line = line_;
  if (AtEnd() || Peek() == '}' || Peek() == ']' || Peek() == ',') {
    return Error(line, absl::StrCat("expected a value for key \"", key, "\""));
  }
  if (Peek() == '{' || Peek() == '[') {
    if (depth + 1 > kMaxDepth) {
      return Error(line, absl::StrCat("nesting deeper than ", kMaxDepth, " levels"));
    }
    absl::StatusOr<Value> v;
    if (Peek() == '{') {
      v = NewValue(Type::kObject, line);
      if (!v.ok()) return v.status();
      Advance();
      absl::Status st = ParseObjectBody(&*v, /*braced=*/true, line, depth + 1);
      if (!st.ok()) return st;
    } else {
      v = ParseArray(depth + 1);
      if (!v.ok()) return v.status();
    }
    SkipInline();
    if (!AtValueEnd()) {
      return Error(line_, absl::StrCat("unexpected ", DescribeChar(Peek()), " after ",
                                       v->type == Type::kObject ? "an object" : "an array",
                                       " (concatenation is not supported)"));
    }
    return MaybeValue(std::move(*v));
  }
  return ParseScalar(key);
}

// One or more pieces on this line, concatenated as a string when there are
// several. Whitespace between pieces is kept, around them not.
absl::StatusOr<Parser::MaybeValue> Parser::ParseScalar(absl::string_view key) {
  int line = line_;
  std::string text;
  std::string pending_space;
  int pieces = 0;
  bool single_unquoted = false;
  bool all_undefined = true;
  while (!AtValueEnd()) {
    char c = Peek();
    text += pending_space;
    pending_space.clear();
    if (c == '"') {
      absl::StatusOr<std::string> q = ParseQuoted();
      if (!q.ok()) return q.status();
      text += *q;
      single_unquoted = false;
      all_undefined = false;
    } else if (c == '$' && Peek(1) == '{') {
      absl::StatusOr<std::optional<std::string>> sub = ParseSubstitution();
      if (!sub.ok()) return sub.status();
      if (sub->has_value()) {
        text += **sub;
        all_undefined = false;
      }
      single_unquoted = false;
    } else if (IsForbidden(c)) {
      if (c == ':') {
        return Error(line_, absl::StrCat("unexpected ':' in the value of key \"", key,
                                         "\"; quote values that contain ':' (URLs, addresses)"));
      }
      return Error(line_, absl::StrCat("unexpected ", DescribeChar(c), " in the value of key \"",
                                       key, "\""));
    } else {
      std::string raw = ParseUnquoted();
      size_t keep = raw.size();
      while (keep > 0 && IsInlineSpace(raw[keep - 1])) --keep;
      pending_space = raw.substr(keep);
      if (keep == 0) continue;  // only the space between two pieces
      text += raw.substr(0, keep);
      single_unquoted = pieces == 0;
      all_undefined = false;
    }
    ++pieces;
  }
  if (pieces == 0) return Error(line, absl::StrCat("expected a value for key \"", key, "\""));
  if (all_undefined) return MaybeValue();

  absl::StatusOr<Value> v = NewValue(Type::kString, line);
  if (!v.ok()) return v.status();
  if (pieces == 1 && single_unquoted) {
    if (text == "true" || text == "false") {
      v->type = Type::kBool;
    } else if (text == "null") {
      v->type = Type::kNull;
    } else if (LooksLikeNumber(text)) {
      v->type = Type::kNumber;
    }
  }
  v->text = std::move(text);
  return MaybeValue(std::move(*v));
}

absl::StatusOr<Value> Parser::ParseArray(int depth) {
  int open_line = line_;
  absl::StatusOr<Value> arr = NewValue(Type::kArray, open_line);
  if (!arr.ok()) return arr.status();
  Advance();  // '['
  for (;;) {
    SkipAll();
    if (AtEnd()) return Error(open_line, "unterminated array: '[' has no matching ']'");
    if (Peek() == ']') {
      Advance();
      return arr;
    }
    absl::StatusOr<MaybeValue> element =
        ParseValue(depth, absl::StrCat("element ", arr->elements.size()));
    if (!element.ok()) return element.status();
    if (element->has_value()) arr->elements.push_back(std::move(**element));
    SkipInline();
    if (Peek() == ',' && !AtEnd()) {
      Advance();
    } else if (!AtEnd() && Peek() != '\n' && Peek() != ']') {
      return Error(line_, absl::StrCat("unexpected ", DescribeChar(Peek()),
                                       "; expected a newline or ',' between array elements"));
    }
  }
}

// Later object values merge into earlier ones; anything else replaces.
void Merge(Value* into, Value v) {
  if (into->type != Type::kObject || v.type != Type::kObject) {
    *into = std::move(v);
    return;
  }
  for (Member& m : v.members) {
    auto it = into->index.find(m.key);
    if (it == into->index.end()) {
      into->index.emplace(m.key, into->members.size());
      into->members.push_back(std::move(m));
    } else {
      Member& existing = into->members[it->second];
      Merge(&existing.value, std::move(m.value));
    }
  }
}

absl::Status Parser::Assign(Value* obj, const std::vector<std::string>& path, int key_line,
                            Value v) {
  Value* cur = obj;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& key = path[i];
    bool last = i + 1 == path.size();
    auto it = cur->index.find(key);
    if (it == cur->index.end()) {
      Member m;
      m.key = key;
      m.key_line = key_line;
      if (last) {
        m.value = std::move(v);
      } else {
        absl::StatusOr<Value> o = NewValue(Type::kObject, key_line);
        if (!o.ok()) return o.status();
        m.value = std::move(*o);
      }
      cur->index.emplace(key, cur->members.size());
      cur->members.push_back(std::move(m));
      cur = &cur->members.back().value;
      continue;
    }
    Member& existing = cur->members[it->second];
    if (last) {
      Merge(&existing.value, std::move(v));
    } else if (existing.value.type != Type::kObject) {
      // `a = 1` then `a.b = 2`: the object replaces the scalar.
      existing.value.type = Type::kObject;
      existing.value.text.clear();
      existing.value.elements.clear();
      existing.value.line = key_line;
    }
    cur = &existing.value;
  }
  return absl::OkStatus();
}

}  // namespace

const Value* Value::Find(std::string_view key) const {
  auto it = index.find(key);
  if (it == index.end()) return nullptr;
  return &members[it->second].value;
}

std::string Value::Where() const { return absl::StrCat(file ? *file : std::string(), ":", line); }

std::string Describe(const Value& value) {
  switch (value.type) {
    case Type::kString:
      return Quote(value.text);
    case Type::kObject:
      return "an object";
    case Type::kArray:
      return "an array";
    default:
      return value.text;
  }
}

absl::StatusOr<Value> Parse(std::string_view text, std::string_view filename) {
  Parser parser(absl::string_view(text.data(), text.size()),
                absl::string_view(filename.data(), filename.size()));
  return parser.ParseDocument();
}

}  // namespace hocon
}  // namespace webhookgw
