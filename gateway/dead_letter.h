#ifndef WEBHOOKGW_GATEWAY_DEAD_LETTER_H_
#define WEBHOOKGW_GATEWAY_DEAD_LETTER_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

// What is known about an event that is given up on.
struct DeadLetter {
  std::string_view webhook;  // the webhook's name; empty for undecodable input
  std::string_view reason;   // e.g. "status 404", "retries exhausted", "invalid event"
  int last_status = 0;       // last HTTP status, 0 for none
  int attempts = 0;
};

// Appends one dead-letter record, a JSON object and a newline, to *out.
void AppendDeadLetterRecord(const v1::Event& event, const DeadLetter& letter, std::string* out);

// Appends dead letters to a JSON-lines file, one object per event, with the
// event itself (protobuf, base64) so that it can be replayed. When the file
// would exceed max_bytes it is rotated to "<path>.1" (replacing an older
// one). Thread-safe. With an empty path nothing is written: the caller still
// counts and logs every dead letter.
class DeadLetterWriter {
 public:
  DeadLetterWriter(std::string path, int64_t max_bytes);
  ~DeadLetterWriter();
  DeadLetterWriter(const DeadLetterWriter&) = delete;
  DeadLetterWriter& operator=(const DeadLetterWriter&) = delete;

  // Opens (creates) the file for appending. Errors name the path.
  absl::Status Open();

  // Appends one record and flushes it to the OS.
  absl::Status Write(const v1::Event& event, const DeadLetter& letter);

  const std::string& path() const { return path_; }

 private:
  absl::Status RotateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const int64_t max_bytes_;
  absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_DEAD_LETTER_H_
