#ifndef WEBHOOKGW_GATEWAY_TOPIC_FILTER_REFERENCE_H_
#define WEBHOOKGW_GATEWAY_TOPIC_FILTER_REFERENCE_H_

// The topic filter rules of MQTT 5.0 section 4.7 written as plainly as
// possible (split both sides into levels, compare them one by one), for the
// tests and the fuzzer to check TopicFilter against. Not for production use:
// it allocates on every call.

#include <string_view>
#include <vector>

namespace webhookgw::reference {

// Splits at every '/'; "" is one empty level, "/" two.
inline std::vector<std::string_view> SplitLevels(std::string_view s) {
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

inline bool Valid(std::string_view filter) {
  if (filter.empty() || filter.find('\0') != std::string_view::npos) return false;
  std::vector<std::string_view> levels = SplitLevels(filter);
  for (size_t i = 0; i < levels.size(); ++i) {
    std::string_view level = levels[i];
    bool wild = level.find_first_of("+#") != std::string_view::npos;
    if (!wild || level == "+") continue;
    if (level == "#" && i + 1 == levels.size()) continue;
    return false;
  }
  return true;
}

inline bool Match(std::string_view filter, std::string_view topic) {
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

}  // namespace webhookgw::reference

#endif  // WEBHOOKGW_GATEWAY_TOPIC_FILTER_REFERENCE_H_
