#include "gateway/hocon.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace webhookgw {
namespace hocon {
namespace {

Value ParseOk(const std::string& text) {
  absl::StatusOr<Value> v = Parse(text, "t.conf");
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : Value();
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Value> v = Parse(text, "t.conf");
  return v.ok() ? "" : std::string(v.status().message());
}

// Follows a dotted path of object keys; null when any step is missing.
const Value* At(const Value& root, std::initializer_list<const char*> path) {
  const Value* v = &root;
  for (const char* key : path) {
    v = v->Find(key);
    if (v == nullptr) return nullptr;
  }
  return v;
}

TEST(HoconTest, ScalarsAndTheirTypes) {
  Value root = ParseOk(
      "s = \"a\\tb\\u00e9\\ud83d\\ude00\"\nu = plain text\nn = -12.5e3\nt = true\nf = false\n"
      "z = null\nq = \"true\"\n");
  EXPECT_EQ(At(root, {"s"})->type, Type::kString);
  EXPECT_EQ(At(root, {"s"})->text, "a\tb\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(At(root, {"u"})->text, "plain text");
  EXPECT_EQ(At(root, {"u"})->type, Type::kString);
  EXPECT_EQ(At(root, {"n"})->type, Type::kNumber);
  EXPECT_EQ(At(root, {"n"})->text, "-12.5e3");
  EXPECT_EQ(At(root, {"t"})->type, Type::kBool);
  EXPECT_EQ(At(root, {"f"})->text, "false");
  EXPECT_EQ(At(root, {"z"})->type, Type::kNull);
  EXPECT_EQ(At(root, {"q"})->type, Type::kString);
}

TEST(HoconTest, SeparatorsRootBracesAndComments) {
  Value root =
      ParseOk("// leading comment\n{\n  a = 1, b : 2\n  c { d = 3 }  # trailing\n  e: {f: 4}\n}\n");
  EXPECT_EQ(At(root, {"a"})->text, "1");
  EXPECT_EQ(At(root, {"b"})->text, "2");
  EXPECT_EQ(At(root, {"c", "d"})->text, "3");
  EXPECT_EQ(At(root, {"e", "f"})->text, "4");
  EXPECT_EQ(At(root, {"c", "d"})->line, 4);
}

TEST(HoconTest, DottedKeysMergeWithObjects) {
  Value root = ParseOk(
      "headers.content-type = \"x\"\nheaders { authorization = y }\n"
      "\"quoted.key\" = 1\na.\"b.c\".d = 2\n");
  const Value* headers = At(root, {"headers"});
  ASSERT_NE(headers, nullptr);
  ASSERT_EQ(headers->members.size(), 2u);
  EXPECT_EQ(headers->members[0].key, "content-type");
  EXPECT_EQ(headers->members[0].value.text, "x");
  EXPECT_EQ(headers->members[1].key, "authorization");
  EXPECT_EQ(At(root, {"quoted.key"})->text, "1");
  EXPECT_EQ(At(root, {"a", "b.c", "d"})->text, "2");
}

TEST(HoconTest, DuplicateKeysLaterScalarWinsObjectsMerge) {
  Value root = ParseOk("a = 1\na = 2\no { x = 1, y = 1 }\no { y = 2 }\no.z = 3\n");
  EXPECT_EQ(At(root, {"a"})->text, "2");
  EXPECT_EQ(At(root, {"o", "x"})->text, "1");
  EXPECT_EQ(At(root, {"o", "y"})->text, "2");
  EXPECT_EQ(At(root, {"o", "z"})->text, "3");
  EXPECT_EQ(root.members.size(), 2u);
  // A repeated key is reported where it first appeared.
  EXPECT_EQ(root.members[1].key, "o");
  EXPECT_EQ(root.members[1].key_line, 3);
}

TEST(HoconTest, ArraysWithCommasAndNewlines) {
  Value root = ParseOk("a = [1, 2,\n 3\n 4,]\nb = [\n  {x = 1}\n  {x = 2}\n]\nc = []\n");
  const Value* a = At(root, {"a"});
  ASSERT_EQ(a->type, Type::kArray);
  ASSERT_EQ(a->elements.size(), 4u);
  EXPECT_EQ(a->elements[3].text, "4");
  const Value* b = At(root, {"b"});
  ASSERT_EQ(b->elements.size(), 2u);
  EXPECT_EQ(b->elements[1].Find("x")->text, "2");
  EXPECT_EQ(b->elements[1].line, 6);
  EXPECT_TRUE(At(root, {"c"})->elements.empty());
}

TEST(HoconTest, TripleQuotedAndConcatenation) {
  Value root = ParseOk("a = \"\"\"line \"one\"\nline two\"\"\"\"\nb = foo \"bar\" baz\nc = x\n");
  EXPECT_EQ(At(root, {"a"})->text, "line \"one\"\nline two\"");
  EXPECT_EQ(At(root, {"b"})->text, "foo bar baz");
  EXPECT_EQ(At(root, {"c"})->line, 4);
}

TEST(HoconTest, EnvironmentSubstitution) {
  setenv("HOCON_TEST_A", "alpha", 1);
  unsetenv("HOCON_TEST_B");
  Value root = ParseOk(
      "a = ${HOCON_TEST_A}\nb = ${?HOCON_TEST_B}\nc = [${?HOCON_TEST_B}, 1]\n"
      "d = keep\nd = ${?HOCON_TEST_B}\ne = ${HOCON_TEST_A}-x\n");
  unsetenv("HOCON_TEST_A");
  EXPECT_EQ(At(root, {"a"})->text, "alpha");
  EXPECT_EQ(At(root, {"a"})->type, Type::kString);
  EXPECT_EQ(At(root, {"b"}), nullptr);
  EXPECT_EQ(At(root, {"c"})->elements.size(), 1u);
  EXPECT_EQ(At(root, {"d"})->text, "keep");
  EXPECT_EQ(At(root, {"e"})->text, "alpha-x");
  EXPECT_EQ(ErrorOf("x = ${HOCON_TEST_MISSING}"),
            "t.conf:1: environment variable HOCON_TEST_MISSING is not set "
            "(use ${?HOCON_TEST_MISSING} if it is optional)");
  EXPECT_EQ(ErrorOf("x = ${a b}"),
            "t.conf:1: bad substitution \"a b\": only environment variable names are supported");
}

TEST(HoconTest, Errors) {
  EXPECT_EQ(ErrorOf("a = 1\nb = \"open\n"), "t.conf:2: unterminated string");
  EXPECT_EQ(ErrorOf("a {\n b = 1\n"), "t.conf:1: unterminated object: '{' has no matching '}'");
  EXPECT_EQ(ErrorOf("a = [1,\n2\n"), "t.conf:1: unterminated array: '[' has no matching ']'");
  EXPECT_EQ(ErrorOf("a = 1 }"), "t.conf:1: unexpected '}' with no object open");
  EXPECT_EQ(ErrorOf("a += 1"), "t.conf:1: '+=' is not supported (key \"a\")");
  EXPECT_EQ(ErrorOf("a = {} {}"),
            "t.conf:1: unexpected '{' after an object (concatenation is not supported)");
  EXPECT_EQ(ErrorOf("a = \"\\q\""), "t.conf:1: bad escape \\q in a quoted string");
  EXPECT_EQ(ErrorOf("a = \"\\ud800\""), "t.conf:1: unpaired surrogate in \\u escape");
  EXPECT_EQ(ErrorOf("a =\n"), "t.conf:2: expected a value for key \"a\"");
  EXPECT_EQ(ErrorOf("= 1"), "t.conf:1: expected a key, got '='");
  EXPECT_EQ(ErrorOf("{ a = 1 } b = 2"),
            "t.conf:1: unexpected 'b' after the closing '}' of the root object");
  EXPECT_EQ(ErrorOf("a = [1 2]"), "");  // one element: the string "1 2"
  EXPECT_EQ(ErrorOf("a = [{} {}]"),
            "t.conf:1: unexpected '{' after an object (concatenation is not supported)");
}

TEST(HoconTest, Limits) {
  std::string deep(200, '[');
  EXPECT_EQ(ErrorOf("a = " + deep), "t.conf:1: nesting deeper than 64 levels");
  std::string dotted = "k";
  for (int i = 0; i < 100; ++i) dotted += ".k";
  EXPECT_EQ(ErrorOf(dotted + " = 1"), "t.conf:1: nesting deeper than 64 levels");
  EXPECT_EQ(ErrorOf(std::string(kMaxInputBytes + 1, ' ')),
            "t.conf:1: file is larger than 4194304 bytes");
  std::string many = "a = [";
  for (size_t i = 0; i < kMaxValues + 1; ++i) many += "1,";
  many += "]";
  EXPECT_EQ(ErrorOf(many), "t.conf:1: too many values (the limit is 200000)");
}

TEST(HoconTest, WhereAndDescribe) {
  Value root = ParseOk("\n\na = \"x\\ny\"\nb = [1]\n");
  EXPECT_EQ(At(root, {"a"})->Where(), "t.conf:3");
  EXPECT_EQ(Describe(*At(root, {"a"})), "\"x\\ny\"");
  EXPECT_EQ(Describe(*At(root, {"b"})), "an array");
  EXPECT_EQ(Describe(root), "an object");
}

}  // namespace
}  // namespace hocon
}  // namespace webhookgw
