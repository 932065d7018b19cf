// Feeds arbitrary bytes, split at an arbitrary point, to the response reader
// as a connection would, then the end of the stream. Checks that what it
// reports is consistent: a status only for a finished response, an error
// text for every error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "gateway/http_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t split = data[0] % size;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t len = size - 1;
  split = split > len ? len : split;
  webhookgw::HttpResponseReader reader;
  for (int round = 0; round < 2; ++round) {
    using Progress = webhookgw::HttpResponseReader::Progress;
    Progress p = reader.Feed(bytes, split);
    if (p == Progress::kNeedMore) p = reader.Feed(bytes + split, len - split);
    if (p == Progress::kNeedMore) p = reader.FeedEof();
    if (p == Progress::kDone && (reader.status() < 200 || reader.status() > 999)) std::abort();
    if (p == Progress::kError && reader.error().empty()) std::abort();
    if (p == Progress::kNeedMore) std::abort();
    if (reader.retry_after().size() > 64) std::abort();
    // The reader is reused for the next request, as on a kept-alive
    // connection.
    reader.Reset();
  }
  return 0;
}
