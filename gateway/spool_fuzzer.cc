// Reads arbitrary bytes as a spool file another process left, as a
// starting gateway would. Checks that nothing crashes and that the counts
// agree: every line is an event, a done record or a skipped line, and an
// event comes back at most once per parked record.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/log.h"
#include "gateway/spool.h"

namespace {

const std::string& Root() {
  static const std::string root = [] {
    char tmpl[] = "/tmp/wgw-spool-fuzz-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    return std::string(tmpl);
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    webhookgw::SetLogOptions(webhookgw::LogLevel::kError, webhookgw::LogFormat::kText);
    return true;
  }();
  (void)quiet;
  const std::string dir = webhookgw::SpoolDirectory(Root(), "w");
  mkdir(dir.c_str(), 0700);  // exists after the first run
  const std::string file = dir + "/0000000000000001-1-0.jsonl";
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) std::abort();
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
  close(fd);

  int64_t lines = std::count(data, data + size, '\n') + 1;
  webhookgw::Spool spool(Root(), "w");
  int64_t bad = 0;
  auto events = spool.Recover(&bad);
  if (bad < 0 || bad > lines) std::abort();
  if (static_cast<int64_t>(events.size()) + bad > lines) std::abort();
  spool.Adopted();
  if (access(file.c_str(), F_OK) == 0) std::abort();  // adopted files are removed
  return 0;
}
