#include "gateway/topic_filter.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {
namespace {

// The filter quoted for an error message; escaped so that a NUL or a control
// byte in a config file cannot garble the log line that reports it.
// (Debian's Abseil has its own string_view type, hence the conversions.)
std::string Quoted(std::string_view filter) {
  return absl::StrCat("\"", absl::CEscape(absl::string_view(filter.data(), filter.size())), "\"");
}

absl::Status Invalid(std::string_view filter, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(Quoted(filter), ": ", reason));
}

// End of the level that starts at `begin`: the next '/' or the end.
size_t LevelEnd(std::string_view s, size_t begin) {
  size_t end = s.find('/', begin);
  return end == std::string_view::npos ? s.size() : end;
}

}  // namespace

absl::StatusOr<TopicFilter> TopicFilter::Parse(std::string_view filter) {
  if (filter.empty()) return Invalid(filter, "topic filter is empty");
  if (filter.find('\0') != std::string_view::npos) {
    return Invalid(filter, "topic filter contains a NUL character");
  }

  TopicFilter parsed;
  for (size_t begin = 0;;) {
    size_t end = LevelEnd(filter, begin);
    std::string_view level = filter.substr(begin, end - begin);
    bool last = end == filter.size();
    if (level.find('#') != std::string_view::npos) {
      if (level != "#") return Invalid(filter, "'#' must occupy a whole level");
      if (!last) return Invalid(filter, "'#' must be the last level");
    }
    if (level.find('+') != std::string_view::npos && level != "+") {
      return Invalid(filter, "'+' must occupy a whole level");
    }
    if (level == "#" || level == "+") {
      parsed.has_wildcard_ = true;
      if (begin == 0) parsed.first_level_wildcard_ = true;
    }
    if (last) break;
    begin = end + 1;
  }
  parsed.text_ = std::string(filter);
  return parsed;
}

bool TopicFilter::Matches(std::string_view topic) const {
  if (!has_wildcard_) return topic == text_;
  // MQTT 5.0 4.7.2: topics beginning with '$' are reserved for the server
  // and are not matched by a wildcard in the first level.
  if (first_level_wildcard_ && !topic.empty() && topic[0] == '$') return false;

  const std::string_view filter = text_;
  size_t f = 0;  // start of the current filter level
  size_t t = 0;  // start of the current topic level
  bool topic_done = false;
  for (;;) {
    size_t f_end = LevelEnd(filter, f);
    std::string_view level = filter.substr(f, f_end - f);
    // '#' covers what is left of the topic, including nothing at all: that
    // is how `a/#` matches `a`. Parse guarantees it is the last level.
    if (level == "#") return true;
    if (topic_done) return false;

    size_t t_end = LevelEnd(topic, t);
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    bool filter_last = f_end == filter.size();
    bool topic_last = t_end == topic.size();
    if (filter_last) return topic_last;
    f = f_end + 1;
    if (topic_last) {
      topic_done = true;
    } else {
      t = t_end + 1;
    }
  }
}

}  // namespace webhookgw
