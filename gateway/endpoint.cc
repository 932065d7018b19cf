#include "gateway/endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/body.h"
#include "gateway/http_response.h"
#include "gateway/log.h"
#include "gateway/retry.h"
#include "gateway/signing.h"

namespace webhookgw {
namespace {

constexpr char kComponent[] = "delivery";

int StatusClass(int status) { return status >= 100 && status < 600 ? status / 100 : 0; }

absl::Status Readable(const WebhookConfig& config, const char* key, const std::string& path) {
  if (access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(config.where, ": ", config.name, ".", key, ": ",
                                                 path, ": ", std::strerror(errno)));
}

// The last OpenSSL error of this thread, as text.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

bool IsIpLiteral(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

absl::Time EventTime(const v1::Event& event) {
  return absl::FromUnixSeconds(event.time().seconds()) + absl::Nanoseconds(event.time().nanos());
}

}  // namespace

struct Endpoint::Lane {
  std::string key;
  std::deque<Held> jobs;
  // The front `parked` jobs are parked (always a prefix: a lane's jobs
  // are parked oldest first and finished from the front).
  size_t parked = 0;
  int attempts = 0;  // attempts made for the jobs at the front
  bool failed = false;  // an attempt for the front jobs failed: retrying
  absl::Time first_attempt;
};

// One HTTP request: the front events of one or more lanes.
struct Endpoint::Request {
  struct Part {
    Lane* lane;
    int count;
  };
  std::vector<Part> parts;
  std::string wire;  // request line, headers and body
  absl::Time sent;
};

struct Endpoint::Connection {
  enum class State { kConnecting, kHandshaking, kIdle, kSending, kReceiving };
  int fd = -1;
  SSL* ssl = nullptr;
  State state = State::kConnecting;
  // Of the connect and TLS handshake, or of the request in flight.
  absl::Time deadline = absl::InfiniteFuture();
  absl::Time last_used;
  // Has carried a request before: the server may have closed it meanwhile.
  bool reused = false;
  std::unique_ptr<Request> request;
  size_t written = 0;
  HttpResponseReader reader;
};

absl::StatusOr<std::unique_ptr<Endpoint>> Endpoint::Create(const WebhookConfig& config,
                                                           const OutboundSettings& outbound,
                                                           const std::string& spool_dir,
                                                           DeadLetterWriter* dead_letters,
                                                           EndpointMetrics* metrics) {
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(config.url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.where, ": ", config.name, ".url: ", url.status().message()));
  }
  absl::StatusOr<OutboundPolicy> policy = OutboundPolicy::Create(outbound);
  if (!policy.ok()) return policy.status();
  SSL_CTX* tls = nullptr;
  if (url->https) {
    if (!config.tls.insecure_skip_verify) {
      if (absl::Status st = Readable(config, "tls.ca_file", config.tls.ca_file); !st.ok()) {
        return st;
      }
    }
    if (!config.tls.cert_file.empty()) {
      if (absl::Status st = Readable(config, "tls.cert_file", config.tls.cert_file); !st.ok()) {
        return st;
      }
      if (absl::Status st = Readable(config, "tls.key_file", config.tls.key_file); !st.ok()) {
        return st;
      }
    }
    tls = SSL_CTX_new(TLS_client_method());
    auto fail = [&](const char* key, const std::string& path) {
      std::string why = OpenSslError();
      SSL_CTX_free(tls);
      return absl::InvalidArgumentError(
          absl::StrCat(config.where, ": ", config.name, ".", key, ": ", path, ": ", why));
    };
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    SSL_CTX_set_mode(tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (config.tls.insecure_skip_verify) {
      SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, nullptr);
      WGW_LOG(kWarn, kComponent,
              "TLS VERIFICATION DISABLED: the endpoint's certificate is not checked, so anyone on "
              "the path can read and change deliveries",
              "webhook=", LogQuote(config.name), " url=", LogQuote(config.url));
    } else {
      SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, nullptr);
      if (SSL_CTX_load_verify_locations(tls, config.tls.ca_file.c_str(), nullptr) != 1) {
        return fail("tls.ca_file", config.tls.ca_file);
      }
    }
    if (!config.tls.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(tls, config.tls.cert_file.c_str()) != 1) {
        return fail("tls.cert_file", config.tls.cert_file);
      }
      if (SSL_CTX_use_PrivateKey_file(tls, config.tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(tls) != 1) {
        return fail("tls.key_file", config.tls.key_file);
      }
    }
  }
  std::vector<std::string> secrets = config.signing.secrets;
  for (size_t i = 0; i < config.signing.secret_files.size(); ++i) {
    const std::string& path = config.signing.secret_files[i];
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<std::string> secret =
        in ? DecodeSigningSecret(text.str()) : absl::InvalidArgumentError("cannot read");
    if (!secret.ok()) {
      SSL_CTX_free(tls);
      return absl::InvalidArgumentError(absl::StrCat(config.where, ": ", config.name,
                                                     ".signing.secret_files[", i, "]: ", path, ": ",
                                                     secret.status().message()));
    }
    secrets.push_back(*std::move(secret));
  }
  std::unique_ptr<Endpoint> endpoint(new Endpoint(config, *std::move(url), *std::move(policy),
                                                  std::move(secrets), spool_dir, dead_letters,
                                                  metrics));
  endpoint->tls_ = tls;
  if (endpoint->parking()) {
    if (absl::Status st = endpoint->spool_.Open(); !st.ok()) {
      return absl::UnavailableError(
          absl::StrCat(config.where, ": ", config.name, ": ", st.message()));
    }
  }
  return endpoint;
}

Endpoint::Endpoint(WebhookConfig config, WebhookUrl url, OutboundPolicy policy,
                   std::vector<std::string> secrets, const std::string& spool_dir,
                   DeadLetterWriter* dead_letters, EndpointMetrics* metrics)
    : config_(std::move(config)),
      url_(std::move(url)),
      policy_(std::move(policy)),
      secrets_(std::move(secrets)),
      dead_letters_(dead_letters),
      metrics_(metrics),
      spool_(spool_dir, config_.name) {
  // Everything but the signature, Content-Length and body is the same for
  // every request, so it is written once.
  std::string host = url_.host.find(':') != std::string::npos ? absl::StrCat("[", url_.host, "]")
                                                               : url_.host;
  if (url_.port != (url_.https ? 443 : 80)) absl::StrAppend(&host, ":", url_.port);
  request_head_ = absl::StrCat("POST ", url_.target, " HTTP/1.1\r\nHost: ", host, "\r\n");
  bool user_agent = false;
  bool content_type = false;
  for (const auto& [name, value] : config_.headers) {
    absl::StrAppend(&request_head_, name, ": ", value, "\r\n");
    user_agent = user_agent || absl::EqualsIgnoreCase(name, "user-agent");
    content_type = content_type || absl::EqualsIgnoreCase(name, "content-type");
  }
  if (!user_agent) absl::StrAppend(&request_head_, "User-Agent: webhookgw/" WEBHOOKGW_VERSION "\r\n");
  if (!content_type) absl::StrAppend(&request_head_, "Content-Type: application/json\r\n");
}

Endpoint::~Endpoint() {
  Stop(absl::Now());
  spool_.Close(/*remove=*/parked_ == 0);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  SSL_CTX_free(tls_);
}

int64_t Endpoint::Recover() {
  if (!parking()) return 0;
  int64_t bad_lines = 0;
  std::vector<v1::Event> events = spool_.Recover(&bad_lines);
  metrics_->spool_errors.fetch_add(bad_lines, std::memory_order_relaxed);
  if (events.empty()) {
    spool_.Adopted();
    return 0;
  }
  absl::Time now = absl::Now();
  last_progress_ = now;
  for (v1::Event& event : events) {
    auto job = std::make_shared<Job>();
    job->event = std::move(event);
    job->remaining.store(1, std::memory_order_relaxed);
    spool_.Park(job->event);
    Lane& lane = LaneFor(ClientIdOf(job->event), now);
    lane.jobs.push_back(Held{std::move(job), now});
    // Nothing else is on the lanes yet, so these stay a prefix.
    ++lane.parked;
  }
  int64_t n = static_cast<int64_t>(events.size());
  parked_ += n;
  metrics_->queued.fetch_add(n, std::memory_order_relaxed);
  metrics_->parked.fetch_add(n, std::memory_order_relaxed);
  if (absl::Status st = spool_.Flush(/*sync=*/true); st.ok()) {
    spool_.Adopted();
  } else {
    // The events are delivered from memory all the same; the files they
    // came from are kept for the next start (which may deliver some twice).
    metrics_->spool_errors.fetch_add(1, std::memory_order_relaxed);
    WGW_LOG(kError, kComponent, "spool write failed", "webhook=", LogQuote(config_.name),
            " error=", LogQuote(std::string(st.message())));
  }
  WGW_LOG(kInfo, kComponent, "parked events recovered", "webhook=", LogQuote(config_.name),
          " events=", n, " spool=", LogQuote(spool_.path()));
  return n;
}

void Endpoint::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    WGW_LOG(kError, kComponent, "cannot create the event loop", "webhook=",
            LogQuote(config_.name), " error=", LogQuote(std::strerror(errno)));
    std::abort();
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Loop(); });
}

void Endpoint::Enqueue(std::vector<std::shared_ptr<Job>>* jobs) {
  metrics_->queued.fetch_add(static_cast<int64_t>(jobs->size()), std::memory_order_relaxed);
  bool wake;
  {
    absl::MutexLock lock(&inbox_mu_);
    if (inbox_.empty()) {
      // The caller gets the loop's emptied vector back, capacity and all.
      inbox_.swap(*jobs);
    } else {
      inbox_.insert(inbox_.end(), std::make_move_iterator(jobs->begin()),
                    std::make_move_iterator(jobs->end()));
    }
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  jobs->clear();
  if (wake && wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
}

void Endpoint::BeginStop(absl::Time deadline) {
  {
    absl::MutexLock lock(&inbox_mu_);
    stopping_ = true;
    stop_deadline_ = std::min(stop_deadline_, deadline);
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
}

void Endpoint::Stop(absl::Time deadline) {
  BeginStop(deadline);
  if (thread_.joinable()) thread_.join();
}

void Endpoint::Loop() {
  std::array<epoll_event, 64> events;
  std::vector<std::unique_ptr<Connection>> closed;
  // Jobs finished during a round are reported to their streams together,
  // before the loop waits again: one lock and one ack per stream and round.
  FinishedJobs finished;
  while (true) {
    absl::Time now = absl::Now();
    TakeInbox(now);
    absl::Time wake = CheckTimers(now);
    if (parking() && now >= next_park_scan_) {
      ParkOverdue(now);
      next_park_scan_ =
          now + std::clamp(config_.park.after / 4, absl::Milliseconds(10), absl::Milliseconds(250));
    }
    TidySpool();
    if (loop_stopping_ && (now >= loop_deadline_ || lanes_.empty())) break;
    PromoteDue(now);
    wake = std::min(wake, StartRequests(now));
    if (!waiting_.empty()) wake = std::min(wake, waiting_.top().due);
    if (parking() && !lanes_.empty()) wake = std::min(wake, next_park_scan_);
    if (loop_stopping_) wake = std::min(wake, loop_deadline_);
    int timeout_ms = -1;
    if (wake != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(absl::Ceil(wake - now, absl::Milliseconds(1))),
                              0, 60000));
    }
    finished.Flush();
    int n = epoll_wait(epoll_fd_, events.data(), events.size(), timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof count);
        continue;
      }
      Advance(static_cast<Connection*>(events[i].data.ptr));
    }
    // Connections closed while handling the events above are freed only
    // now, when no event of this round can still point at them.
    graveyard_.clear();
  }
  while (!connections_.empty()) CloseConnection(connections_.back().get());
  graveyard_.clear();
  TidySpool();
  if (parked_ > 0) {
    WGW_LOG(kWarn, kComponent, "parked events left undelivered", "webhook=", LogQuote(config_.name),
            " events=", parked_, " spool=", LogQuote(spool_.path()),
            " note=", LogQuote("a gateway started with the same spool_dir delivers them"));
  }
  spool_.Close(/*remove=*/parked_ == 0);
}

void Endpoint::TakeInbox(absl::Time now) {
  {
    absl::MutexLock lock(&inbox_mu_);
    taken_.swap(inbox_);
    wake_pending_ = false;
    loop_stopping_ = stopping_;
    loop_deadline_ = stop_deadline_;
  }
  // Work on an idle endpoint: the time to make progress starts now.
  if (lanes_.empty() && !taken_.empty()) last_progress_ = now;
  for (std::shared_ptr<Job>& job : taken_) {
    LaneFor(ClientIdOf(job->event), now).jobs.push_back(Held{std::move(job), now});
  }
  taken_.clear();
}

Endpoint::Lane& Endpoint::LaneFor(std::string_view client_id, absl::Time now) {
  auto it = lanes_.find(absl::string_view(client_id.data(), client_id.size()));
  // An existing lane is ready, in flight or waiting; it reaches new jobs in
  // turn. A new one joins the back of the ready queue.
  if (it != lanes_.end()) return it->second;
  it = lanes_.try_emplace(std::string(client_id)).first;
  it->second.key = it->first;
  MakeReady(&it->second, /*front=*/false, now);
  return it->second;
}

void Endpoint::MakeReady(Lane* lane, bool front, absl::Time now) {
  if (ready_.empty()) ready_since_ = now;
  if (front) {
    ready_.push_front(lane);
  } else {
    ready_.push_back(lane);
  }
}

void Endpoint::PromoteDue(absl::Time now) {
  // Retries that are due go before lanes that merely have new work, so the
  // backoff is kept as configured even while the endpoint is busy.
  std::vector<Lane*> due;
  while (!waiting_.empty() && waiting_.top().due <= now) {
    due.push_back(waiting_.top().lane);
    waiting_.pop();
  }
  for (auto it = due.rbegin(); it != due.rend(); ++it) MakeReady(*it, /*front=*/true, now);
}

absl::Time Endpoint::StartRequests(absl::Time now) {
  const BatchConfig& batch = config_.batch;
  while (!ready_.empty()) {
    if (batch.enabled() && batch.linger > absl::ZeroDuration() && !loop_stopping_ &&
        now < ready_since_ + batch.linger) {
      // Wait for a fuller batch, unless it is full already.
      size_t jobs = 0;
      for (Lane* lane : ready_) {
        jobs += lane->jobs.size();
        if (jobs >= static_cast<size_t>(batch.max_events)) break;
      }
      if (jobs < static_cast<size_t>(batch.max_events)) return ready_since_ + batch.linger;
    }
    Connection* conn = nullptr;
    for (auto& c : connections_) {
      if (c->state == Connection::State::kIdle && c->request == nullptr) {
        // The most recently used idle connection, so that the others can
        // reach their idle timeout when traffic drops.
        if (conn == nullptr || c->last_used > conn->last_used) conn = c.get();
      }
    }
    if (conn == nullptr && connections_.size() >= static_cast<size_t>(config_.pool_size)) break;
    std::unique_ptr<Request> request = FormRequest(now);
    if (conn == nullptr) {
      Attempt failed;
      conn = OpenConnection(now, &failed);
      if (conn == nullptr) {
        metrics_->responses[0].fetch_add(1, std::memory_order_relaxed);
        Finish(std::move(request), failed, now);
        continue;
      }
    }
    Send(conn, std::move(request), now);
  }
  return absl::InfiniteFuture();
}

std::unique_ptr<Endpoint::Request> Endpoint::FormRequest(absl::Time now) {
  auto request = std::make_unique<Request>();
  const BatchConfig& batch = config_.batch;
  body_.clear();
  if (batch.enabled()) body_.push_back('[');
  int events = 0;
  const v1::Event* first = nullptr;
  bool full = false;
  while (!ready_.empty() && !full && events < batch.max_events) {
    Lane* lane = ready_.front();
    int count = 0;
    for (const Held& held : lane->jobs) {
      if (events == batch.max_events) break;
      size_t before = body_.size();
      if (events > 0) body_.push_back(',');
      RenderBody(held.job->event, config_.body, &body_);
      if (events > 0 && static_cast<int64_t>(body_.size()) + 1 > batch.max_bytes) {
        body_.resize(before);
        full = true;
        break;
      }
      if (first == nullptr) first = &held.job->event;
      ++count;
      ++events;
    }
    if (count == 0) break;
    ready_.pop_front();
    if (lane->attempts == 0) lane->first_attempt = now;
    if (++lane->attempts > 1) metrics_->retries.fetch_add(1, std::memory_order_relaxed);
    request->parts.push_back(Request::Part{lane, count});
  }
  if (batch.enabled()) body_.push_back(']');
  if (ready_.empty()) ready_since_ = absl::InfiniteFuture();

  std::string& wire = request->wire;
  wire.reserve(request_head_.size() + body_.size() + 256);
  wire = request_head_;
  if (!secrets_.empty()) {
    // Standard Webhooks: the id is stable over retries so receivers can
    // drop duplicates; the timestamp is the attempt's, for replay checks. A
    // batch is named by its first event and how many follow.
    std::string id = EventId(*first);
    if (events > 1) absl::StrAppend(&id, "+", events - 1);
    int64_t timestamp = absl::ToUnixSeconds(now);
    absl::StrAppend(&wire, "webhook-id: ", id, "\r\nwebhook-timestamp: ", timestamp,
                    "\r\nwebhook-signature: ", WebhookSignature(secrets_, id, timestamp, body_),
                    "\r\n");
  }
  absl::StrAppend(&wire, "Content-Length: ", body_.size(), "\r\n\r\n");
  wire.append(body_);
  return request;
}

Endpoint::Connection* Endpoint::OpenConnection(absl::Time now, Attempt* failed) {
  // Every new connection resolves the host again and checks each address,
  // then connects to the checked one, so neither a name pointing into a
  // denied range nor a DNS change between check and connect gets through.
  // Host, SNI and certificate checks still use the name.
  absl::StatusOr<std::string> address = policy_.Resolve(url_.host);
  if (!address.ok()) {
    failed->error = std::string(address.status().message());
    failed->refused = absl::IsPermissionDenied(address.status());
    if (failed->refused) metrics_->outbound_refused.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* info = nullptr;
  std::string port = absl::StrCat(url_.port);
  if (int rc = getaddrinfo(address->c_str(), port.c_str(), &hints, &info); rc != 0) {
    failed->error = absl::StrCat("address ", *address, ": ", gai_strerror(rc));
    return nullptr;
  }
  int fd = socket(info->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    failed->error = absl::StrCat("socket: ", std::strerror(errno));
    freeaddrinfo(info);
    return nullptr;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = connect(fd, info->ai_addr, info->ai_addrlen);
  freeaddrinfo(info);
  if (rc != 0 && errno != EINPROGRESS) {
    failed->error = absl::StrCat("connect: ", std::strerror(errno));
    close(fd);
    return nullptr;
  }
  auto conn = std::make_unique<Connection>();
  conn->fd = fd;
  conn->state = Connection::State::kConnecting;
  conn->deadline = now + config_.connect_timeout;
  conn->last_used = now;
  epoll_event ev{};
  // Edge-triggered: each connection is registered once and read or written
  // until the kernel has nothing more (or the response is complete).
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = conn.get();
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  metrics_->connections.fetch_add(1, std::memory_order_relaxed);
  connections_.push_back(std::move(conn));
  return connections_.back().get();
}

void Endpoint::Send(Connection* conn, std::unique_ptr<Request> request, absl::Time now) {
  request->sent = now;
  conn->request = std::move(request);
  conn->written = 0;
  conn->reader.Reset();
  if (conn->state == Connection::State::kIdle) {
    conn->state = Connection::State::kSending;
    conn->deadline = now + config_.request_timeout;
    Advance(conn);
  }
  // A connection still connecting sends once it is up.
}

void Endpoint::Advance(Connection* conn) {
  using State = Connection::State;
  while (conn->fd >= 0) {
    switch (conn->state) {
      case State::kConnecting: {
        int error = 0;
        socklen_t len = sizeof error;
        getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error == EINPROGRESS || error == EALREADY) return;
        if (error == 0) {
          // Still connecting: no error and not writable yet.
          sockaddr_storage peer;
          socklen_t plen = sizeof peer;
          if (getpeername(conn->fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) {
            if (errno == ENOTCONN) return;
            error = errno;
          }
        }
        if (error != 0) {
          FailConnection(conn, absl::StrCat("connect: ", std::strerror(error)), false);
          return;
        }
        if (tls_ != nullptr) {
          conn->ssl = SSL_new(tls_);
          SSL_set_fd(conn->ssl, conn->fd);
          if (IsIpLiteral(url_.host)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), url_.host.c_str());
          } else {
            SSL_set_tlsext_host_name(conn->ssl, url_.host.c_str());
            SSL_set1_host(conn->ssl, url_.host.c_str());
          }
          SSL_set_connect_state(conn->ssl);
          conn->state = State::kHandshaking;
          continue;
        }
        conn->state = State::kIdle;
        break;
      }
      case State::kHandshaking: {
        ERR_clear_error();
        int rc = SSL_do_handshake(conn->ssl);
        if (rc != 1) {
          int err = SSL_get_error(conn->ssl, rc);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
          long verify = SSL_get_verify_result(conn->ssl);
          std::string why = verify != X509_V_OK
                                ? absl::StrCat("certificate verify failed: ",
                                               X509_verify_cert_error_string(verify))
                                : (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                                       ? std::string("connection closed during the handshake")
                                       : OpenSslError());
          FailConnection(conn, absl::StrCat("TLS handshake: ", why), false);
          return;
        }
        conn->state = State::kIdle;
        break;
      }
      case State::kIdle: {
        if (conn->request != nullptr) {
          // Connected with a request waiting.
          conn->state = State::kSending;
          conn->deadline = absl::Now() + config_.request_timeout;
          continue;
        }
        // Nothing was asked: readable means the server closed the
        // connection (or sent something unasked); either way it is done.
        // (TLS 1.3 session tickets also arrive here; peeking consumes
        // them and finds no data.)
        char byte;
        bool nothing;
        if (conn->ssl != nullptr) {
          ERR_clear_error();
          int rc = SSL_peek(conn->ssl, &byte, 1);
          nothing = rc <= 0 && SSL_get_error(conn->ssl, rc) == SSL_ERROR_WANT_READ;
        } else {
          ssize_t n = recv(conn->fd, &byte, 1, MSG_PEEK);
          nothing = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
        if (!nothing) CloseConnection(conn);
        return;
      }
      case State::kSending: {
        const std::string& wire = conn->request->wire;
        while (conn->written < wire.size()) {
          ssize_t n;
          if (conn->ssl != nullptr) {
            ERR_clear_error();
            int rc = SSL_write(conn->ssl, wire.data() + conn->written,
                               static_cast<int>(wire.size() - conn->written));
            if (rc <= 0) {
              int err = SSL_get_error(conn->ssl, rc);
              if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return;
              FailConnection(conn, absl::StrCat("TLS write: ", OpenSslError()), true);
              return;
            }
            n = rc;
          } else {
            n = send(conn->fd, wire.data() + conn->written, wire.size() - conn->written,
                     MSG_NOSIGNAL);
            if (n < 0) {
              if (errno == EAGAIN || errno == EWOULDBLOCK) return;
              FailConnection(conn, absl::StrCat("send: ", std::strerror(errno)), true);
              return;
            }
          }
          conn->written += static_cast<size_t>(n);
        }
        conn->state = State::kReceiving;
        // The response arrives later, announced by the next edge.
        return;
      }
      case State::kReceiving: {
        static thread_local char buffer[16384];
        while (true) {
          ssize_t n;
          bool eof = false;
          if (conn->ssl != nullptr) {
            ERR_clear_error();
            int rc = SSL_read(conn->ssl, buffer, sizeof buffer);
            if (rc <= 0) {
              int err = SSL_get_error(conn->ssl, rc);
              if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
              if (err == SSL_ERROR_ZERO_RETURN ||
                  (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && rc == 0)) {
                eof = true;
                n = 0;
              } else {
                FailConnection(conn, absl::StrCat("TLS read: ", OpenSslError()), true);
                return;
              }
            } else {
              n = rc;
            }
          } else {
            n = recv(conn->fd, buffer, sizeof buffer, 0);
            if (n < 0) {
              if (errno == EAGAIN || errno == EWOULDBLOCK) return;
              FailConnection(conn, absl::StrCat("recv: ", std::strerror(errno)), true);
              return;
            }
            eof = n == 0;
          }
          HttpResponseReader::Progress progress =
              eof ? conn->reader.FeedEof() : conn->reader.Feed(buffer, static_cast<size_t>(n));
          if (progress == HttpResponseReader::Progress::kError) {
            FailConnection(conn, conn->reader.error(), eof);
            return;
          }
          if (progress == HttpResponseReader::Progress::kDone) {
            Attempt attempt;
            attempt.status = conn->reader.status();
            if (!conn->reader.retry_after().empty()) {
              attempt.retry_after = ParseRetryAfter(conn->reader.retry_after(), absl::Now());
            }
            CompleteRequest(conn, attempt, conn->reader.keep_alive() && !eof);
            return;
          }
          // A short read emptied the socket; the rest comes with the next
          // edge. TLS may still hold decrypted bytes, so it reads on.
          if (conn->ssl == nullptr && static_cast<size_t>(n) < sizeof buffer) return;
        }
      }
    }
  }
}

void Endpoint::CompleteRequest(Connection* conn, const Attempt& attempt, bool reusable) {
  absl::Time now = absl::Now();
  std::unique_ptr<Request> request = std::move(conn->request);
  conn->last_used = now;
  conn->reused = true;
  conn->deadline = absl::InfiniteFuture();
  conn->state = Connection::State::kIdle;
  metrics_->request_seconds.Observe(absl::ToDoubleSeconds(now - request->sent));
  metrics_->responses[StatusClass(attempt.status)].fetch_add(1, std::memory_order_relaxed);
  if (!reusable) CloseConnection(conn);
  Finish(std::move(request), attempt, now);
}

void Endpoint::FailConnection(Connection* conn, std::string error, bool maybe_stale) {
  absl::Time now = absl::Now();
  std::unique_ptr<Request> request = std::move(conn->request);
  bool stale = maybe_stale && conn->reused && !conn->reader.started();
  CloseConnection(conn);
  if (request == nullptr) return;
  if (stale) {
    // A kept-alive connection the server had closed before the request
    // reached it: not an attempt. The request goes again on another
    // connection, ahead of everything else.
    for (auto it = request->parts.rbegin(); it != request->parts.rend(); ++it) {
      --it->lane->attempts;
      MakeReady(it->lane, /*front=*/true, now);
    }
    return;
  }
  metrics_->request_seconds.Observe(absl::ToDoubleSeconds(now - request->sent));
  metrics_->responses[0].fetch_add(1, std::memory_order_relaxed);
  Attempt attempt;
  attempt.error = std::move(error);
  Finish(std::move(request), attempt, now);
}

void Endpoint::CloseConnection(Connection* conn) {
  if (conn->ssl != nullptr) {
    SSL_free(conn->ssl);
    conn->ssl = nullptr;
  }
  if (conn->fd >= 0) {
    close(conn->fd);
    conn->fd = -1;
    metrics_->connections.fetch_sub(1, std::memory_order_relaxed);
  }
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == conn) {
      graveyard_.push_back(std::move(*it));
      connections_.erase(it);
      break;
    }
  }
}

absl::Time Endpoint::CheckTimers(absl::Time now) {
  using State = Connection::State;
  absl::Time next = absl::InfiniteFuture();
  std::vector<Connection*> expired;
  for (auto& c : connections_) {
    absl::Time due = c->state == State::kIdle && c->request == nullptr
                         ? c->last_used + config_.idle_timeout
                         : c->deadline;
    if (due <= now) {
      expired.push_back(c.get());
    } else {
      next = std::min(next, due);
    }
  }
  for (Connection* c : expired) {
    switch (c->state) {
      case State::kConnecting:
      case State::kHandshaking:
        FailConnection(c,
                       absl::StrCat(c->state == State::kConnecting ? "connect" : "TLS handshake",
                                    " timed out after ", absl::FormatDuration(config_.connect_timeout)),
                       false);
        break;
      case State::kSending:
      case State::kReceiving:
        FailConnection(c,
                       absl::StrCat("no response within ", absl::FormatDuration(config_.request_timeout)),
                       false);
        break;
      case State::kIdle:
        CloseConnection(c);
        break;
    }
  }
  return next;
}

void Endpoint::Finish(std::unique_ptr<Request> request, const Attempt& attempt, absl::Time now) {
  thread_local absl::BitGen rng;
  AttemptOutcome outcome =
      attempt.refused ? AttemptOutcome::kFinal : ClassifyStatus(attempt.status);
  for (const Request::Part& part : request->parts) {
    Lane* lane = part.lane;
    if (outcome == AttemptOutcome::kDelivered) {
      for (int i = 0; i < part.count; ++i) {
        Held& held = lane->jobs.front();
        metrics_->end_to_end_seconds.Observe(
            absl::ToDoubleSeconds(now - EventTime(held.job->event)));
        metrics_->queued.fetch_sub(1, std::memory_order_relaxed);
        metrics_->delivered.fetch_add(1, std::memory_order_relaxed);
        Settle(lane, held, now);
      }
      lane->attempts = 0;
      lane->failed = false;
    } else if (outcome == AttemptOutcome::kRetry) {
      absl::Duration delay = RetryDelay(config_.retry, lane->attempts, attempt.retry_after, rng);
      absl::Time due = now + delay;
      if (lane->attempts < config_.retry.max_attempts &&
          due - lane->first_attempt <= config_.retry.max_age) {
        lane->failed = true;
        waiting_.push(Waiting{due, lane});
        continue;
      }
      std::string reason =
          lane->attempts >= config_.retry.max_attempts ? "attempts exhausted" : "max age exceeded";
      if (!attempt.error.empty()) absl::StrAppend(&reason, " (", attempt.error, ")");
      GiveUp(lane, part.count, reason, attempt.status, now);
    } else {
      GiveUp(lane, part.count,
             attempt.refused ? attempt.error : absl::StrCat("status ", attempt.status),
             attempt.status, now);
    }
    if (lane->jobs.empty()) {
      lanes_.erase(lanes_.find(lane->key));
    } else {
      MakeReady(lane, /*front=*/false, now);
    }
  }
}

void Endpoint::GiveUp(Lane* lane, int count, const std::string& reason, int last_status,
                      absl::Time now) {
  for (int i = 0; i < count; ++i) {
    Held& held = lane->jobs.front();
    const Job* job = held.job.get();
    metrics_->queued.fetch_sub(1, std::memory_order_relaxed);
    metrics_->dead_lettered.fetch_add(1, std::memory_order_relaxed);
    WGW_LOG(kWarn, kComponent, "event given up on", "webhook=", LogQuote(config_.name),
            " id=", EventId(job->event), " reason=", LogQuote(reason),
            " last_status=", last_status, " attempts=", lane->attempts);
    absl::Status written = dead_letters_->Write(
        job->event, DeadLetter{config_.name, reason, last_status, lane->attempts});
    if (!written.ok()) {
      WGW_LOG(kError, kComponent, "dead letter not written",
              "error=", LogQuote(std::string(written.message())));
    }
    Settle(lane, held, now);
  }
  lane->attempts = 0;
  lane->failed = false;
}

void Endpoint::Settle(Lane* lane, Held& held, absl::Time now) {
  last_progress_ = now;
  if (lane->parked > 0) {
    // Its stream let go of it when it was parked; the spool learns it is
    // finished.
    --lane->parked;
    --parked_;
    metrics_->parked.fetch_sub(1, std::memory_order_relaxed);
    spool_.Done(held.job->event);
  } else {
    held.job->Release();
  }
  lane->jobs.pop_front();
}

void Endpoint::ParkOverdue(absl::Time now) {
  const absl::Time cutoff = now - config_.park.after;
  const bool stalled = last_progress_ <= cutoff;
  // Lanes whose parked prefix grew in this round, to undo it if the spool
  // cannot be written.
  std::vector<std::pair<Lane*, size_t>> grown;
  for (auto& [key, lane] : lanes_) {
    if (!stalled && !lane.failed) continue;
    size_t before = lane.parked;
    while (lane.parked < lane.jobs.size() && parked_ < config_.park.max_events &&
           lane.jobs[lane.parked].arrived <= cutoff) {
      spool_.Park(lane.jobs[lane.parked].job->event);
      ++lane.parked;
      ++parked_;
    }
    if (lane.parked > before) grown.emplace_back(&lane, before);
  }
  if (grown.empty()) return;
  if (absl::Status st = spool_.Flush(/*sync=*/true); !st.ok()) {
    // Not recorded, so not released: the events stay held as before.
    for (auto& [lane, before] : grown) {
      parked_ -= static_cast<int64_t>(lane->parked - before);
      lane->parked = before;
    }
    metrics_->spool_errors.fetch_add(1, std::memory_order_relaxed);
    WGW_LOG(kError, kComponent, "spool write failed; events stay held",
            "webhook=", LogQuote(config_.name), " error=", LogQuote(std::string(st.message())));
    return;
  }
  int64_t n = 0;
  for (auto& [lane, before] : grown) {
    for (size_t i = before; i < lane->parked; ++i) lane->jobs[i].job->Release();
    n += static_cast<int64_t>(lane->parked - before);
  }
  metrics_->parked.fetch_add(n, std::memory_order_relaxed);
  metrics_->parked_total.fetch_add(n, std::memory_order_relaxed);
}

void Endpoint::TidySpool() {
  if (!spool_.enabled()) return;
  absl::Status st;
  if (parked_ == 0) {
    // Nothing parked is left: done records need not be kept.
    if (spool_.file_bytes() > 0 || spool_.dirty()) st = spool_.Clear();
  } else if (spool_.WantsCompaction(parked_)) {
    std::vector<const v1::Event*> live;
    live.reserve(static_cast<size_t>(parked_));
    for (auto& [key, lane] : lanes_) {
      for (size_t i = 0; i < lane.parked; ++i) live.push_back(&lane.jobs[i].job->event);
    }
    st = spool_.Compact(live);
  } else {
    st = spool_.Flush();
  }
  if (!st.ok()) {
    metrics_->spool_errors.fetch_add(1, std::memory_order_relaxed);
    WGW_LOG(kError, kComponent, "spool write failed", "webhook=", LogQuote(config_.name),
            " error=", LogQuote(std::string(st.message())));
  }
}

}  // namespace webhookgw
