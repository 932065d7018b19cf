#include "gateway/gateway.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/event_stream.h"
#include "gateway/log.h"

namespace webhookgw {
namespace {
constexpr char kComponent[] = "gateway";

// The address part of a gRPC peer string: "ipv4:1.2.3.4:5678" gives
// "1.2.3.4", "ipv6:[::1]:5678" gives "::1".
std::string PeerAddress(const std::string& peer) {
  std::string s = peer;
  size_t scheme = s.find(':');
  if (scheme != std::string::npos &&
      (s.compare(0, scheme, "ipv4") == 0 || s.compare(0, scheme, "ipv6") == 0)) {
    s = s.substr(scheme + 1);
  }
  size_t port = s.rfind(':');
  if (port != std::string::npos && s.find(':') == port) s = s.substr(0, port);
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    s = s.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return s;
}
}  // namespace

std::string EventId(const v1::Event& event) {
  return absl::StrCat(event.node(), "-", event.incarnation(), "-", event.sequence());
}

std::string ValidateEvent(const v1::Event& event, int64_t max_event_bytes, EventKind* kind,
                          size_t* bytes) {
  std::optional<EventKind> k = KindOf(event);
  *bytes = event.ByteSizeLong();
  if (!k.has_value()) return "event has no kind";
  if (*bytes > static_cast<size_t>(max_event_bytes)) {
    return absl::StrCat("event of ", *bytes, " bytes exceeds max_event_bytes ", max_event_bytes);
  }
  *kind = *k;
  return "";
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(const Config& config) {
  absl::StatusOr<Router> router = Router::Build(config.webhooks);
  if (!router.ok()) return router.status();
  std::unique_ptr<Gateway> gateway(new Gateway(config, *std::move(router)));
  absl::Status opened = gateway->dead_letters_.Open();
  if (!opened.ok()) return opened;
  const AuthSettings& auth = config.gateway.auth;
  gateway->tokens_ = auth.tokens;
  if (!auth.token_file.empty()) {
    std::ifstream in(auth.token_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway.auth.token_file: ", auth.token_file, ": cannot read"));
    }
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      absl::string_view token = absl::StripAsciiWhitespace(line);
      if (token.empty() || token[0] == '#') continue;
      // Messages name the line, never the token.
      if (token.size() < 16) {
        return absl::InvalidArgumentError(
            absl::StrCat("gateway.auth.token_file: ", auth.token_file, ":", number,
                         ": a token must be at least 16 characters (value not shown)"));
      }
      gateway->tokens_.emplace_back(token);
    }
    if (gateway->tokens_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("gateway.auth.token_file: ", auth.token_file,
                                                     ": holds no token; every stream would be ",
                                                     "refused"));
    }
  }
  for (const WebhookConfig& webhook : config.webhooks) {
    auto metrics = std::make_unique<EndpointMetrics>();
    metrics->webhook = webhook.name;
    absl::StatusOr<std::unique_ptr<Endpoint>> endpoint =
        Endpoint::Create(webhook, config.gateway.outbound, &gateway->dead_letters_, metrics.get());
    if (!endpoint.ok()) return endpoint.status();
    gateway->endpoint_metrics_.push_back(std::move(metrics));
    gateway->endpoints_.push_back(*std::move(endpoint));
  }
  return gateway;
}

Gateway::Gateway(Config config, Router router)
    : config_(std::move(config)),
      router_(std::move(router)),
      budget_(config_.gateway.max_queue_events, config_.gateway.max_queue_bytes, &metrics_),
      dead_letters_(config_.gateway.dead_letter_path, config_.gateway.dead_letter_max_bytes) {}

Gateway::~Gateway() {
  for (auto& endpoint : endpoints_) endpoint->Stop(absl::Now());
}

void Gateway::Start() {
  for (auto& endpoint : endpoints_) endpoint->Start();
}

int Gateway::Dispatch(const std::shared_ptr<Job>& job) {
  thread_local std::vector<uint32_t> targets;
  const int kind = static_cast<int>(job->kind);
  metrics_.received[kind].fetch_add(1, std::memory_order_relaxed);
  router_.Match(job->kind, TopicOf(job->event), &targets);
  if (targets.empty()) {
    metrics_.filtered[kind].fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  job->remaining.store(static_cast<int>(targets.size()), std::memory_order_relaxed);
  budget_.Add(1, static_cast<int64_t>(job->bytes));
  for (uint32_t target : targets) endpoints_[target]->Enqueue(job);
  return static_cast<int>(targets.size());
}

void Gateway::RejectEvent(const v1::Event& event, std::string_view reason) {
  metrics_.invalid_events.fetch_add(1, std::memory_order_relaxed);
  WGW_LOG(kWarn, kComponent, "event rejected", "id=", EventId(event), " reason=", LogQuote(reason));
  absl::Status written = dead_letters_.Write(event, DeadLetter{"", reason, 0, 0});
  if (!written.ok()) {
    WGW_LOG(kError, kComponent, "dead letter not written",
            "error=", LogQuote(std::string(written.message())));
  }
}

bool Gateway::TokenAccepted(std::string_view token) const {
  if (tokens_.empty()) return true;
  // Every token is compared, so the time taken does not reveal which one
  // came close. Lengths are not secret enough to hide.
  bool accepted = false;
  for (const std::string& t : tokens_) {
    if (t.size() == token.size() && CRYPTO_memcmp(t.data(), token.data(), t.size()) == 0) {
      accepted = true;
    }
  }
  return accepted;
}

bool Gateway::AcquirePeer(const std::string& peer) {
  std::string address = PeerAddress(peer);
  absl::MutexLock lock(&mu_);
  int64_t& n = peer_streams_[address];
  if (n >= config_.gateway.max_streams_per_peer) return false;
  ++n;
  return true;
}

void Gateway::ReleasePeer(const std::string& peer) {
  std::string address = PeerAddress(peer);
  absl::MutexLock lock(&mu_);
  auto it = peer_streams_.find(address);
  if (it == peer_streams_.end()) return;
  if (--it->second <= 0) peer_streams_.erase(it);
}

bool Gateway::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

void Gateway::AddStream(const std::shared_ptr<EventStream>& stream) {
  absl::MutexLock lock(&mu_);
  // Forget streams that have ended, so the list stays as long as the number
  // of open streams.
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [](const std::weak_ptr<EventStream>& s) { return s.expired(); }),
                 streams_.end());
  streams_.push_back(stream);
}

void Gateway::RemoveStream(EventStream* stream) {
  absl::MutexLock lock(&mu_);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [stream](const std::weak_ptr<EventStream>& s) {
                                  auto locked = s.lock();
                                  return locked == nullptr || locked.get() == stream;
                                }),
                 streams_.end());
}

void Gateway::Drain(absl::Time deadline) {
  std::vector<std::shared_ptr<EventStream>> open;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    for (auto& weak : streams_) {
      if (auto stream = weak.lock()) open.push_back(std::move(stream));
    }
  }
  WGW_LOG(kInfo, kComponent, "draining", "streams=", open.size(),
          " grace_ms=", absl::ToInt64Milliseconds(deadline - absl::Now()));
  for (auto& stream : open) stream->GoAway("gateway draining");
  for (auto& endpoint : endpoints_) endpoint->Stop(deadline);
}

}  // namespace webhookgw
