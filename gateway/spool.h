#ifndef WEBHOOKGW_GATEWAY_SPOOL_H_
#define WEBHOOKGW_GATEWAY_SPOOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

// The record of the events one endpoint has parked: taken over from their
// streams, which may then ack them, before the endpoint has delivered them.
// A parked event is as safe as a dead letter: it is in a file, and a
// gateway that starts with the same spool directory delivers whatever an
// earlier process left there.
//
// The file is a journal of JSON lines: a parked event is written as a
// dead-letter record (reason "parked"), so webhook-replay can read it too,
// and an event that is finished later adds {"done":"<id>"}. Each endpoint
// writes its own file under <dir>/<webhook>/ and holds an exclusive lock on
// it, so that a gateway starting beside a live one never takes its file.
//
// Not thread-safe: an endpoint uses its spool from its own thread only.
class Spool {
 public:
  // An empty `dir` turns parking off.
  Spool(std::string dir, std::string webhook);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  bool enabled() const { return !dir_.empty(); }

  // Reads the files other processes left for this webhook (those nobody
  // holds locked) and returns the events that were parked and never done,
  // in the order they were parked. The files are removed only by
  // Adopted(), once the events are in this spool's own file. Lines that
  // cannot be read are counted in *bad_lines and logged with file and line.
  std::vector<v1::Event> Recover(int64_t* bad_lines);
  // Removes the files Recover() read (call once their events are parked
  // in this spool and flushed).
  void Adopted();

  // Creates the directory and this process's file. Errors name the path.
  absl::Status Open();

  // Buffer one record; Flush() writes what is buffered.
  void Park(const v1::Event& event);
  void Done(const v1::Event& event);
  // Writes the buffered records to the file (one write where possible),
  // and with `sync` waits until they are on the disk: parked records are,
  // before their events are acked, so that a power cut loses none either.
  // A failed write is cut off, so the file never ends in a partial line
  // this process wrote (a crash mid-write can; Recover() skips it).
  absl::Status Flush(bool sync = false);
  bool dirty() const { return !buffer_.empty(); }

  // Nothing parked is left: the file starts over empty.
  absl::Status Clear();
  // Rewrites the file with just `live`, when finished records make up most
  // of it. `live` are all events parked and not done, per client in order.
  bool WantsCompaction(int64_t live) const;
  absl::Status Compact(const std::vector<const v1::Event*>& live);

  // Closes the file, and removes it when `remove` (nothing is parked).
  // Files read by Recover() and not adopted are left as they were.
  void Close(bool remove);

  const std::string& path() const { return path_; }
  int64_t file_bytes() const { return file_bytes_; }

 private:
  const std::string webhook_;
  const std::string dir_;  // <spool dir>/<webhook, escaped>
  std::string path_;       // this process's file
  int fd_ = -1;
  std::string buffer_;
  int64_t file_bytes_ = 0;
  int64_t parked_records_ = 0;  // in the file now
  // Files read by Recover(), held locked until they are removed.
  std::vector<std::string> recovered_;
  std::vector<int> recovered_fds_;
};

// "<dir>/<webhook>" with every byte outside [A-Za-z0-9._-] written as %XX,
// so different names never share a directory.
std::string SpoolDirectory(const std::string& dir, const std::string& webhook);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_SPOOL_H_
