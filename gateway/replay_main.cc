// webhook-replay: feeds the events of dead-letter files back into a gateway
// over the ordinary Stream RPC, once the endpoint that refused them is back.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/event_kind.h"
#include "nlohmann/json.hpp"
#include "webhookgw/v1/gateway.grpc.pb.h"
#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {
namespace {

constexpr char kUsage[] = R"(usage: webhook-replay --target HOST:PORT [options] FILE...

Replays dead letters: reads the JSON-lines files a gateway writes to
gateway.dead_letter_path (and their ".1" rotations), and streams the events
they hold to a gateway, which routes them again to every webhook whose
filters match: a webhook that had delivered an event before gets it again.
Events keep their ids (node, incarnation, sequence), so receivers can
recognise one they already have. A record whose id was seen
earlier in the input (an event given up on by two webhooks) is sent once.
Spool files (gateway.spool_dir/WEBHOOK/*.jsonl) can be given too, for a
gateway's spool that no gateway will start with again: events they mark
done are skipped.

  --target T          gRPC target of a gateway (required)
  --webhook NAME      replay only records of this webhook
  --batch-events N    events per batch (default 500)
  --max-unacked N     events in flight before waiting for acks (default 5000)
  --timeout S         seconds to wait for every ack (default 300)

Prints what was read, sent and acknowledged. Exits 0 when every event sent
was acknowledged (delivered or dead-lettered again by the gateway), 1 when
not, 2 on a usage or input error.
)";

struct Flags {
  std::string target;
  std::string webhook;
  std::vector<std::string> files;
  uint32_t batch_events = 500;
  uint32_t max_unacked = 5000;
  double timeout_s = 300;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "webhook-replay: %s\n", message.c_str());
  std::exit(2);
}

template <typename T>
T Number(const std::string& flag, const char* value) {
  T out{};
  bool ok;
  if constexpr (std::is_same_v<T, double>) {
    ok = absl::SimpleAtod(value, &out);
  } else {
    ok = absl::SimpleAtoi(value, &out);
  }
  if (!ok || !(out > 0))
    Fail(absl::StrCat(flag, ": expected a positive number, got \"", value, "\""));
  return out;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a.rfind("--", 0) != 0) {
      f.files.push_back(a);
      continue;
    }
    if (i + 1 >= argc) Fail(absl::StrCat(a, ": missing value (see --help)"));
    const char* v = argv[++i];
    if (a == "--target")
      f.target = v;
    else if (a == "--webhook")
      f.webhook = v;
    else if (a == "--batch-events")
      f.batch_events = Number<uint32_t>(a, v);
    else if (a == "--max-unacked")
      f.max_unacked = Number<uint32_t>(a, v);
    else if (a == "--timeout")
      f.timeout_s = Number<double>(a, v);
    else
      Fail(absl::StrCat("unknown flag ", a, " (see --help)"));
  }
  if (f.target.empty()) Fail("--target is required (see --help)");
  if (f.files.empty()) Fail("no dead-letter file given (see --help)");
  return f;
}

// Reads every record of `path` into `events`, skipping ids already seen.
// Spool files (gateway.spool_dir) mark finished events with {"done":ID}
// lines; those ids go to `done`. Errors name the file and line.
void ReadFile(const std::string& path, const Flags& flags, absl::flat_hash_set<std::string>* ids,
              absl::flat_hash_set<std::string>* done, std::vector<v1::Event>* events,
              uint64_t* records, uint64_t* repeated) {
  std::ifstream in(path);
  if (!in) Fail(absl::StrCat(path, ": ", std::strerror(errno)));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::string where = absl::StrCat(path, ":", number);
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.size() == 1 && record.contains("done") &&
        record["done"].is_string()) {
      done->insert(record["done"].get<std::string>());
      continue;
    }
    if (!record.is_object() || !record.contains("event") || !record["event"].is_string()) {
      Fail(absl::StrCat(where, ": not a dead-letter record (no \"event\" string)"));
    }
    if (!flags.webhook.empty() && record.value("webhook", std::string()) != flags.webhook) {
      continue;
    }
    ++*records;
    std::string bytes;
    v1::Event event;
    if (!absl::Base64Unescape(record["event"].get<std::string>(), &bytes) ||
        !event.ParseFromString(bytes)) {
      Fail(absl::StrCat(where, ": event: not a base64 webhookgw.v1.Event"));
    }
    std::string id = EventId(event);
    if (!ids->insert(id).second) {
      ++*repeated;
      continue;
    }
    events->push_back(std::move(event));
  }
}

// Acks and GoAway read from the stream, shared with the writer.
struct StreamState {
  absl::Mutex mu;
  uint64_t acked ABSL_GUARDED_BY(mu) = 0;
  bool go_away ABSL_GUARDED_BY(mu) = false;
  bool ended ABSL_GUARDED_BY(mu) = false;
};

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  absl::flat_hash_set<std::string> ids;
  std::vector<v1::Event> events;
  uint64_t records = 0;
  uint64_t repeated = 0;
  absl::flat_hash_set<std::string> done;
  for (const std::string& path : flags.files) {
    ReadFile(path, flags, &ids, &done, &events, &records, &repeated);
  }
  size_t finished = 0;
  if (!done.empty()) {
    auto kept = std::remove_if(events.begin(), events.end(),
                               [&](const v1::Event& e) { return done.contains(EventId(e)); });
    finished = static_cast<size_t>(events.end() - kept);
    events.erase(kept, events.end());
  }
  std::printf(
      "read %llu records: %zu events to replay, %llu repeated ids skipped, "
      "%zu marked done skipped\n",
      static_cast<unsigned long long>(records), events.size(),
      static_cast<unsigned long long>(repeated), finished);
  if (events.empty()) return 0;

  auto channel = grpc::CreateChannel(flags.target, grpc::InsecureChannelCredentials());
  auto stub = v1::EventGateway::NewStub(channel);
  grpc::ClientContext context;
  const absl::Time deadline = absl::Now() + absl::Seconds(flags.timeout_s);
  context.set_deadline(absl::ToChronoTime(deadline));
  context.set_wait_for_ready(true);
  auto stream = stub->Stream(&context);

  v1::StreamRequest hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_node(events.front().node());
  hello.mutable_hello()->set_adapter("webhook-replay/" WEBHOOKGW_VERSION);
  StreamState state;
  std::thread reader([&] {
    v1::StreamResponse response;
    while (stream->Read(&response)) {
      absl::MutexLock lock(&state.mu);
      if (response.has_ack()) state.acked = std::max(state.acked, response.ack().seq());
      if (response.has_go_away()) state.go_away = true;
    }
    absl::MutexLock lock(&state.mu);
    state.ended = true;
  });

  bool write_ok = stream->Write(hello);
  uint64_t sent = 0;
  while (write_ok && sent < events.size()) {
    const uint64_t n = std::min<uint64_t>(flags.batch_events, events.size() - sent);
    {
      // Keep at most max_unacked events in flight: the gateway reads only
      // while it has room, and a huge file should not sit in its queue.
      absl::MutexLock lock(&state.mu);
      auto room = [&] {
        return state.ended || state.go_away ||
               sent + n - state.acked <= std::max<uint64_t>(flags.max_unacked, n);
      };
      state.mu.AwaitWithDeadline(absl::Condition(&room), deadline);
      if (state.ended || state.go_away || absl::Now() >= deadline) break;
    }
    v1::StreamRequest request;
    v1::EventBatch* batch = request.mutable_batch();
    batch->set_first_seq(sent + 1);
    for (uint64_t i = sent; i < sent + n; ++i) *batch->add_events() = events[i];
    write_ok = stream->Write(request);
    if (write_ok) sent += n;
  }
  if (write_ok) stream->WritesDone();
  {
    absl::MutexLock lock(&state.mu);
    auto settled = [&] { return state.ended || state.acked >= sent; };
    state.mu.AwaitWithDeadline(absl::Condition(&settled), deadline);
  }
  uint64_t acked;
  {
    absl::MutexLock lock(&state.mu);
    acked = std::min<uint64_t>(state.acked, sent);
  }
  // Everything sent is acked (or never will be): end the call either way.
  if (acked < events.size()) context.TryCancel();
  reader.join();
  grpc::Status status = stream->Finish();
  std::printf("replayed %llu of %zu events to %s, acked %llu\n",
              static_cast<unsigned long long>(sent), events.size(), flags.target.c_str(),
              static_cast<unsigned long long>(acked));
  if (acked < events.size()) {
    std::fprintf(stderr, "webhook-replay: %llu events not acknowledged (stream status %d: %s)\n",
                 static_cast<unsigned long long>(events.size() - acked),
                 static_cast<int>(status.error_code()), status.error_message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace webhookgw

int main(int argc, char** argv) { return webhookgw::Main(argc, argv); }
