#include "gateway/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/body.h"
#include "gateway/dead_letter.h"
#include "gateway/job.h"
#include "gateway/log.h"
#include "nlohmann/json.hpp"

namespace webhookgw {
namespace {

constexpr char kComponent[] = "spool";
// A file smaller than this is never compacted: rewriting it saves little.
constexpr int64_t kCompactMinBytes = 64 << 20;

absl::Status MakeDirectory(const std::string& path) {
  // Each level in turn, so that a fresh spool directory needs no setup.
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string level = path.substr(0, slash);
    if (mkdir(level.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          absl::StrCat("spool directory ", level, ": ", std::strerror(errno)));
    }
    if (slash == std::string::npos) return absl::OkStatus();
  }
}

// Writes all of `data`, and with `sync` waits until it is on the disk.
absl::Status WriteAll(int fd, const std::string& path, const std::string& data, bool sync) {
  const char* p = data.data();
  size_t size = data.size();
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DataLossError(
          absl::StrCat("spool file ", path, ": write: ", std::strerror(errno)));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  if (sync && fdatasync(fd) != 0) {
    return absl::DataLossError(
        absl::StrCat("spool file ", path, ": fdatasync: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Creates (or empties) `path` for appending and locks it, so that no other
// process takes it for a file left behind. Returns the descriptor.
absl::StatusOr<int> CreateLocked(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("spool file ", path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    absl::Status st =
        absl::UnavailableError(absl::StrCat("spool file ", path, ": lock: ", std::strerror(errno)));
    close(fd);
    return st;
  }
  return fd;
}

// A parked event's record: a dead-letter record, so webhook-replay reads it.
void AppendParked(const v1::Event& event, const std::string& webhook, std::string* out) {
  AppendDeadLetterRecord(event, DeadLetter{webhook, "parked", 0, 0}, out);
}

// Makes a file created or renamed in `dir` survive a power cut.
void SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

}  // namespace

std::string SpoolDirectory(const std::string& dir, const std::string& webhook) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/') out.push_back('/');
  for (unsigned char c : webhook) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  // "." and ".." are names of their own.
  if (webhook == "." || webhook == "..") out.replace(out.size() - webhook.size(), 1, "%2E");
  return out;
}

Spool::Spool(std::string dir, std::string webhook)
    : webhook_(webhook), dir_(dir.empty() ? std::string() : SpoolDirectory(dir, webhook)) {}

Spool::~Spool() { Close(/*remove=*/false); }

std::vector<v1::Event> Spool::Recover(int64_t* bad_lines) {
  std::vector<v1::Event> out;
  if (!enabled()) return out;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return out;  // nothing was ever parked here
  std::vector<std::string> names;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (absl::EndsWith(name, ".jsonl")) {
      names.push_back(name);
    } else if (absl::EndsWith(name, ".jsonl.new")) {
      // A compaction that a crash cut short: the file it was replacing
      // still holds every record. Removed unless a live process holds it.
      std::string file = absl::StrCat(dir_, "/", name);
      int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) unlink(file.c_str());
      if (fd >= 0) close(fd);
    }
  }
  closedir(d);
  // Names start with the creation time, zero-padded: oldest first.
  std::sort(names.begin(), names.end());

  std::vector<v1::Event> parked;
  absl::flat_hash_map<std::string, int> done;
  for (const std::string& name : names) {
    std::string file = absl::StrCat(dir_, "/", name);
    int fd = open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    // A live gateway holds its file locked; that one is not ours to take.
    // The lock is kept until Adopted() removes the file.
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      continue;
    }
    std::ifstream in(file);
    std::string line;
    int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      std::string why;
      if (record.is_object() && record.contains("done") && record["done"].is_string()) {
        ++done[record["done"].get<std::string>()];
        continue;
      }
      v1::Event event;
      std::string bytes;
      if (!record.is_object() || !record.contains("event") || !record["event"].is_string()) {
        why = "not a spool record";
      } else if (!absl::Base64Unescape(record["event"].get<std::string>(), &bytes) ||
                 !event.ParseFromString(bytes)) {
        why = "event: not a base64 webhookgw.v1.Event";
      }
      if (!why.empty()) {
        // A process killed in the middle of a write leaves a partial last
        // line; anything else here means the file was changed by hand.
        ++*bad_lines;
        WGW_LOG(kWarn, kComponent, "spool line skipped", "file=", LogQuote(file), " line=", number,
                " reason=", LogQuote(why));
        continue;
      }
      parked.push_back(std::move(event));
    }
    recovered_.push_back(file);
    // The descriptor stays open (and locked) until the file is removed.
    recovered_fds_.push_back(fd);
  }
  for (v1::Event& event : parked) {
    auto it = done.find(EventId(event));
    if (it != done.end() && it->second > 0) {
      --it->second;
      continue;
    }
    out.push_back(std::move(event));
  }
  return out;
}

void Spool::Adopted() {
  for (const std::string& file : recovered_) unlink(file.c_str());
  for (int fd : recovered_fds_) close(fd);
  recovered_.clear();
  recovered_fds_.clear();
}

absl::Status Spool::Open() {
  if (!enabled()) return absl::OkStatus();
  if (absl::Status st = MakeDirectory(dir_); !st.ok()) return st;
  static int instance = 0;
  path_ = absl::StrCat(dir_, "/", absl::Dec(absl::ToUnixMillis(absl::Now()), absl::kZeroPad16), "-",
                       getpid(), "-", instance++, ".jsonl");
  absl::StatusOr<int> fd = CreateLocked(path_);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  SyncDirectory(dir_);
  file_bytes_ = 0;
  parked_records_ = 0;
  return absl::OkStatus();
}

void Spool::Park(const v1::Event& event) {
  AppendParked(event, webhook_, &buffer_);
  ++parked_records_;
}

void Spool::Done(const v1::Event& event) {
  buffer_ += "{\"done\":\"";
  AppendJsonStringContents(EventId(event), &buffer_);
  buffer_ += "\"}\n";
}

absl::Status Spool::Flush(bool sync) {
  if (buffer_.empty()) return absl::OkStatus();
  if (fd_ < 0) {
    buffer_.clear();
    return absl::FailedPreconditionError(absl::StrCat("spool ", dir_, ": not open"));
  }
  absl::Status st = WriteAll(fd_, path_, buffer_, sync);
  if (st.ok()) {
    file_bytes_ += static_cast<int64_t>(buffer_.size());
  } else {
    // Cut off a partial record, so that the next one starts a line of its
    // own; the caller knows these records were not written.
    (void)!ftruncate(fd_, file_bytes_);
  }
  buffer_.clear();
  return st;
}

absl::Status Spool::Clear() {
  buffer_.clear();
  if (fd_ < 0 || file_bytes_ == 0) return absl::OkStatus();
  if (ftruncate(fd_, 0) != 0) {
    return absl::DataLossError(
        absl::StrCat("spool file ", path_, ": truncate: ", std::strerror(errno)));
  }
  file_bytes_ = 0;
  parked_records_ = 0;
  return absl::OkStatus();
}

bool Spool::WantsCompaction(int64_t live) const {
  return file_bytes_ >= kCompactMinBytes && live * 2 < parked_records_;
}

absl::Status Spool::Compact(const std::vector<const v1::Event*>& live) {
  if (absl::Status st = Flush(); !st.ok()) return st;
  std::string next = path_ + ".new";
  // Locked from the start, so that no starting gateway takes it for a
  // leftover, neither now nor once it has the old file's name.
  absl::StatusOr<int> created = CreateLocked(next);
  if (!created.ok()) return created.status();
  const int fd = *created;
  std::string text;
  for (const v1::Event* event : live) AppendParked(*event, webhook_, &text);
  absl::Status st = WriteAll(fd, next, text, /*sync=*/true);
  if (st.ok() && rename(next.c_str(), path_.c_str()) != 0) {
    st = absl::UnavailableError(
        absl::StrCat("spool file ", next, ": rename: ", std::strerror(errno)));
  }
  if (!st.ok()) {
    close(fd);
    unlink(next.c_str());
    return st;
  }
  SyncDirectory(dir_);
  close(fd_);
  fd_ = fd;
  file_bytes_ = static_cast<int64_t>(text.size());
  parked_records_ = static_cast<int64_t>(live.size());
  return absl::OkStatus();
}

void Spool::Close(bool remove) {
  for (int fd : recovered_fds_) close(fd);
  recovered_.clear();
  recovered_fds_.clear();
  if (fd_ < 0) return;
  (void)Flush();
  if (remove) unlink(path_.c_str());
  close(fd_);
  fd_ = -1;
}

}  // namespace webhookgw
