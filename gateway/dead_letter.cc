#include "gateway/dead_letter.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/body.h"
#include "gateway/job.h"

namespace webhookgw {

DeadLetterWriter::DeadLetterWriter(std::string path, int64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

DeadLetterWriter::~DeadLetterWriter() {
  absl::MutexLock lock(&mu_);
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status DeadLetterWriter::Open() {
  if (path_.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("dead-letter file ", path_, ": ", std::strerror(errno)));
  }
  std::fseek(file_, 0, SEEK_END);
  size_ = std::ftell(file_);
  return absl::OkStatus();
}

absl::Status DeadLetterWriter::RotateLocked() {
  std::fclose(file_);
  file_ = nullptr;
  std::string rotated = path_ + ".1";
  if (std::rename(path_.c_str(), rotated.c_str()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("dead-letter file ", path_, ": rotate: ", std::strerror(errno)));
  }
  file_ = std::fopen(path_.c_str(), "ab");
  size_ = 0;
  if (file_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("dead-letter file ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void AppendDeadLetterRecord(const v1::Event& event, const DeadLetter& letter, std::string* out) {
  std::string& line = *out;
  line += "{\"id\":\"";
  AppendJsonStringContents(EventId(event), &line);
  line += "\",\"webhook\":\"";
  AppendJsonStringContents(letter.webhook, &line);
  line += "\",\"reason\":\"";
  AppendJsonStringContents(letter.reason, &line);
  absl::StrAppend(&line, "\",\"last_status\":", letter.last_status,
                  ",\"attempts\":", letter.attempts, ",\"at_ms\":", absl::ToUnixMillis(absl::Now()),
                  ",\"event\":\"");
  AppendBase64(event.SerializeAsString(), &line);
  line += "\"}\n";
}

absl::Status DeadLetterWriter::Write(const v1::Event& event, const DeadLetter& letter) {
  if (path_.empty()) return absl::OkStatus();
  std::string line;
  AppendDeadLetterRecord(event, letter, &line);
  absl::MutexLock lock(&mu_);
  if (file_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("dead-letter file ", path_, ": not open"));
  }
  if (size_ > 0 && size_ + static_cast<int64_t>(line.size()) > max_bytes_) {
    absl::Status rotated = RotateLocked();
    if (!rotated.ok()) return rotated;
  }
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return absl::DataLossError(
        absl::StrCat("dead-letter file ", path_, ": write: ", std::strerror(errno)));
  }
  size_ += static_cast<int64_t>(line.size());
  return absl::OkStatus();
}

}  // namespace webhookgw
