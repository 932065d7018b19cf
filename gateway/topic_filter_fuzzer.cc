// Parses a filter from the fuzz input and matches it against a topic taken
// from the same input, checking the result against a plain level-by-level
// matcher. Input layout: filter, a 0xFF byte, topic (0xFF never occurs in
// UTF-8, so it is a separator no interesting input needs).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/topic_filter.h"
#include "gateway/topic_filter_reference.h"

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
  if (parsed->Matches(topic) != webhookgw::reference::Match(filter, topic)) abort();
  return 0;
}
