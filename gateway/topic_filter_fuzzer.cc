// Parses a filter from the fuzz input and matches it against a topic taken
// from the same input, checking the result against a plain level-by-level
// matcher. Input layout: filter, a 0xFF byte, topic (0xFF never occurs in
// UTF-8, so it is a separator no interesting input needs).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "gateway/topic_filter.h"

namespace {

// Splits at every '/'; "" is one empty level, "/" two.
std::vector<std::string_view> SplitLevels(std::string_view s) {
  std::vector<std::string_view> levels;
  size_t begin = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/') {
      levels.push_back(s.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  return levels;
}

bool ReferenceMatch(std::string_view filter, std::string_view topic) {
  std::vector<std::string_view> f = SplitLevels(filter);
  std::vector<std::string_view> t = SplitLevels(topic);
  if ((f[0] == "+" || f[0] == "#") && !topic.empty() && topic[0] == '$') return false;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == "#") return true;
    if (i >= t.size()) return false;
    if (f[i] != "+" && f[i] != t[i]) return false;
  }
  return f.size() == t.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\xff');
  std::string_view filter = input.substr(0, split);
  std::string_view topic = split == std::string_view::npos ? filter : input.substr(split + 1);

  absl::StatusOr<webhookgw::TopicFilter> parsed = webhookgw::TopicFilter::Parse(filter);
  if (!parsed.ok()) {
    if (parsed.status().message().empty()) abort();
    return 0;
  }
  if (parsed->text() != filter) abort();
  if (parsed->Matches(topic) != ReferenceMatch(filter, topic)) abort();
  return 0;
}
