#ifndef WEBHOOKGW_GATEWAY_TOPIC_FILTER_H_
#define WEBHOOKGW_GATEWAY_TOPIC_FILTER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace webhookgw {

// An MQTT 5.0 topic filter (section 4.7), validated and split into levels
// once, then matched against topic names many times. Immutable after Parse,
// so one instance may be shared by any number of threads.
class TopicFilter {
 public:
  // Validates `filter`: not empty, `#` only as the whole last level, `+` only
  // as a whole level, no NUL. The error names what is wrong, e.g.
  // `"a/#/b": '#' must be the last level`.
  static absl::StatusOr<TopicFilter> Parse(std::string_view filter);

  // Whether `topic` (a topic name, or for (un)subscribe events the filter
  // being subscribed, compared literally level by level) matches. A wildcard
  // in the first level never matches a topic starting with '$'; `a/#` also
  // matches `a`.
  bool Matches(std::string_view topic) const;

  // The filter as written.
  const std::string& text() const { return text_; }

 private:
  TopicFilter() = default;
  std::string text_;
  // Matching walks text_ and the topic side by side, so it needs no split
  // copy of the levels and never allocates. These two flags let the common
  // cases skip the walk or reject early.
  bool has_wildcard_ = false;
  bool first_level_wildcard_ = false;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_TOPIC_FILTER_H_
