#include "gateway/endpoint.h"

#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "gateway/body.h"
#include "gateway/log.h"
#include "gateway/retry.h"
#include "gateway/signing.h"

namespace webhookgw {
namespace {

constexpr char kComponent[] = "delivery";

std::chrono::microseconds ToChrono(absl::Duration d) {
  return std::chrono::microseconds(absl::ToInt64Microseconds(d));
}

int StatusClass(int status) { return status >= 100 && status < 600 ? status / 100 : 0; }

absl::Status Readable(const WebhookConfig& config, const char* key, const std::string& path) {
  if (access(path.c_str(), R_OK) == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(config.where, ": ", config.name, ".", key, ": ",
                                                 path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Endpoint>> Endpoint::Create(const WebhookConfig& config,
                                                           const OutboundSettings& outbound,
                                                           DeadLetterWriter* dead_letters,
                                                           EndpointMetrics* metrics) {
  absl::StatusOr<WebhookUrl> url = ParseWebhookUrl(config.url);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.where, ": ", config.name, ".url: ", url.status().message()));
  }
  absl::StatusOr<OutboundPolicy> policy = OutboundPolicy::Create(outbound);
  if (!policy.ok()) return policy.status();
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
    if (config.tls.insecure_skip_verify) {
      WGW_LOG(kWarn, kComponent,
              "TLS VERIFICATION DISABLED: the endpoint's certificate is not checked, so anyone on "
              "the path can read and change deliveries",
              "webhook=", LogQuote(config.name), " url=", LogQuote(config.url));
    }
  }
  std::vector<std::string> secrets = config.signing.secrets;
  for (size_t i = 0; i < config.signing.secret_files.size(); ++i) {
    const std::string& path = config.signing.secret_files[i];
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat(config.where, ": ", config.name,
                                                     ".signing.secret_files[", i, "]: ", path,
                                                     ": cannot read"));
    }
    absl::StatusOr<std::string> secret = DecodeSigningSecret(text.str());
    if (!secret.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(config.where, ": ", config.name,
                                                     ".signing.secret_files[", i, "]: ", path, ": ",
                                                     secret.status().message()));
    }
    secrets.push_back(*std::move(secret));
  }
  return std::unique_ptr<Endpoint>(new Endpoint(config, *std::move(url), *std::move(policy),
                                                std::move(secrets), dead_letters, metrics));
}

Endpoint::Endpoint(WebhookConfig config, WebhookUrl url, OutboundPolicy policy,
                   std::vector<std::string> secrets, DeadLetterWriter* dead_letters,
                   EndpointMetrics* metrics)
    : config_(std::move(config)),
      url_(std::move(url)),
      policy_(std::move(policy)),
      secrets_(std::move(secrets)),
      dead_letters_(dead_letters),
      metrics_(metrics) {}

Endpoint::~Endpoint() { Stop(absl::Now()); }

void Endpoint::Start() {
  for (int i = 0; i < config_.pool_size; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

void Endpoint::Enqueue(std::shared_ptr<Job> job) {
  std::string key(ClientIdOf(job->event));
  metrics_->queued.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = lanes_.try_emplace(key);
  it->second.jobs.push_back(std::move(job));
  // A lane that already had jobs is either ready, in flight or waiting; it
  // picks the new job up in its turn.
  if (inserted) {
    ready_.push_back(std::move(key));
    work_cv_.Signal();
  }
}

void Endpoint::BeginStop(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  stop_deadline_ = std::min(stop_deadline_, deadline);
  work_cv_.SignalAll();
}

void Endpoint::Stop(absl::Time deadline) {
  BeginStop(deadline);
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool Endpoint::NextJob(std::string* key, std::shared_ptr<Job>* job, int* attempt) {
  absl::MutexLock lock(&mu_);
  while (true) {
    absl::Time now = absl::Now();
    if (stopping_ && now >= stop_deadline_) return false;
    while (!waiting_.empty() && waiting_.top().due <= now) {
      ready_.push_back(waiting_.top().key);
      waiting_.pop();
    }
    if (!ready_.empty()) break;
    if (stopping_ && waiting_.empty()) return false;
    absl::Time wake = stopping_ ? stop_deadline_ : absl::InfiniteFuture();
    if (!waiting_.empty()) wake = std::min(wake, waiting_.top().due);
    // Idle workers wake up now and then so that their idle connections can
    // be closed.
    wake = std::min(wake, now + config_.idle_timeout);
    work_cv_.WaitWithDeadline(&mu_, wake);
    if (absl::Now() >= now + config_.idle_timeout && ready_.empty()) return true;
  }
  *key = std::move(ready_.front());
  ready_.pop_front();
  Lane& lane = lanes_[*key];
  *job = lane.jobs.front();
  if (lane.attempts == 0) lane.first_attempt = absl::Now();
  *attempt = ++lane.attempts;
  return true;
}

std::unique_ptr<httplib::Client> Endpoint::MakeClient(const std::string& address) const {
  std::unique_ptr<httplib::Client> client;
  if (url_.https && !config_.tls.cert_file.empty()) {
    client =
        std::make_unique<httplib::Client>(url_.origin, config_.tls.cert_file, config_.tls.key_file);
  } else {
    client = std::make_unique<httplib::Client>(url_.origin);
  }
  if (url_.https) {
    client->enable_server_certificate_verification(!config_.tls.insecure_skip_verify);
    client->set_ca_cert_path(config_.tls.ca_file);
  }
  client->set_hostname_addr_map({{url_.host, address}});
  client->set_keep_alive(true);
  client->set_follow_location(false);
  // Headers and body go out in separate writes; without this, Nagle and
  // delayed ACKs add ~40 ms to every request.
  client->set_tcp_nodelay(true);
  client->set_connection_timeout(ToChrono(config_.connect_timeout));
  client->set_read_timeout(ToChrono(config_.request_timeout));
  client->set_write_timeout(ToChrono(config_.request_timeout));
  return client;
}

void Endpoint::WorkerLoop() {
  std::unique_ptr<httplib::Client> client;
  absl::Time last_used = absl::Now();
  // httplib adds Host and Content-Length to the request it sends, so each
  // attempt starts from a fresh copy of the configured headers.
  httplib::Headers headers;
  for (const auto& [name, value] : config_.headers) headers.emplace(name, value);
  if (headers.find("User-Agent") == headers.end()) {
    headers.emplace("User-Agent", "webhookgw/" WEBHOOKGW_VERSION);
  }
  // The HTTP client would label an unlabelled body text/plain; the body is
  // JSON, so say so unless the config sets its own.
  if (headers.find("Content-Type") == headers.end()) {
    headers.emplace("Content-Type", "application/json");
  }
  httplib::Response response;

  while (true) {
    std::string key;
    std::shared_ptr<Job> job;
    int attempt_number = 0;
    if (!NextJob(&key, &job, &attempt_number)) break;
    if (job == nullptr) {
      // Woke up idle: drop a connection nobody used for idle_timeout.
      if (client != nullptr && absl::Now() - last_used >= config_.idle_timeout) {
        client.reset();
        metrics_->connections.fetch_sub(1, std::memory_order_relaxed);
      }
      continue;
    }
    Attempt attempt;
    if (client == nullptr) {
      // Every new connection resolves the host again and checks each
      // address, then pins the client to the checked one, so neither a
      // name pointing into a denied range nor a DNS change between check
      // and connect gets through. Host, SNI and certificate checks still
      // use the name.
      absl::StatusOr<std::string> address = policy_.Resolve(url_.host);
      if (!address.ok()) {
        attempt.error = std::string(address.status().message());
        attempt.refused = absl::IsPermissionDenied(address.status());
        if (attempt.refused) metrics_->outbound_refused.fetch_add(1, std::memory_order_relaxed);
        metrics_->responses[0].fetch_add(1, std::memory_order_relaxed);
        job.reset();
        Finish(key, attempt);
        continue;
      }
      client = MakeClient(*address);
      metrics_->connections.fetch_add(1, std::memory_order_relaxed);
    }
    if (attempt_number > 1) metrics_->retries.fetch_add(1, std::memory_order_relaxed);

    httplib::Request request;
    request.method = "POST";
    request.path = url_.target;
    request.headers = headers;
    RenderBody(job->event, config_.body, &request.body);
    response = httplib::Response();
    if (!secrets_.empty()) {
      // Standard Webhooks: the id is stable over retries so receivers can
      // drop duplicates; the timestamp is the attempt's, for replay checks.
      std::string id = EventId(job->event);
      int64_t timestamp = absl::ToUnixSeconds(absl::Now());
      request.headers.emplace("webhook-signature",
                              WebhookSignature(secrets_, id, timestamp, request.body));
      request.headers.emplace("webhook-id", std::move(id));
      request.headers.emplace("webhook-timestamp", absl::StrCat(timestamp));
    }
    httplib::Error error = httplib::Error::Success;
    const absl::Time sent = absl::Now();
    if (client->send(request, response, error)) {
      attempt.status = response.status;
      if (response.has_header("Retry-After")) {
        attempt.retry_after =
            ParseRetryAfter(response.get_header_value("Retry-After"), absl::Now());
      }
    } else {
      attempt.error = httplib::to_string(error);
      // The next attempt opens a new connection and so resolves again.
      client.reset();
      metrics_->connections.fetch_sub(1, std::memory_order_relaxed);
    }
    last_used = absl::Now();
    metrics_->request_seconds.Observe(absl::ToDoubleSeconds(last_used - sent));
    if (ClassifyStatus(attempt.status) == AttemptOutcome::kDelivered) {
      absl::Time event_time = absl::FromUnixSeconds(job->event.time().seconds()) +
                              absl::Nanoseconds(job->event.time().nanos());
      metrics_->end_to_end_seconds.Observe(absl::ToDoubleSeconds(last_used - event_time));
    }
    metrics_->responses[StatusClass(attempt.status)].fetch_add(1, std::memory_order_relaxed);
    job.reset();
    Finish(key, attempt);
  }
  if (client != nullptr) metrics_->connections.fetch_sub(1, std::memory_order_relaxed);
}

void Endpoint::Finish(const std::string& key, const Attempt& attempt) {
  thread_local absl::BitGen rng;
  std::shared_ptr<Job> done;
  std::string give_up_reason;
  int attempts = 0;
  int last_status = attempt.status;
  {
    absl::MutexLock lock(&mu_);
    Lane& lane = lanes_[key];
    AttemptOutcome outcome = ClassifyStatus(attempt.status);
    if (attempt.refused) {
      give_up_reason = attempt.error;
    } else if (outcome == AttemptOutcome::kRetry) {
      absl::Duration delay = RetryDelay(config_.retry, lane.attempts, attempt.retry_after, rng);
      absl::Time due = absl::Now() + delay;
      if (lane.attempts < config_.retry.max_attempts &&
          due - lane.first_attempt <= config_.retry.max_age) {
        waiting_.push(Waiting{due, key});
        work_cv_.Signal();
        return;
      }
      give_up_reason =
          lane.attempts >= config_.retry.max_attempts ? "attempts exhausted" : "max age exceeded";
    } else if (outcome == AttemptOutcome::kFinal) {
      give_up_reason = absl::StrCat("status ", attempt.status);
    }
    done = std::move(lane.jobs.front());
    lane.jobs.pop_front();
    attempts = lane.attempts;
    lane.attempts = 0;
    if (lane.jobs.empty()) {
      lanes_.erase(key);
    } else {
      ready_.push_back(key);
      work_cv_.Signal();
    }
  }
  metrics_->queued.fetch_sub(1, std::memory_order_relaxed);
  if (give_up_reason.empty()) {
    metrics_->delivered.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_->dead_lettered.fetch_add(1, std::memory_order_relaxed);
    std::string reason = attempt.error.empty() || attempt.refused
                             ? give_up_reason
                             : absl::StrCat(give_up_reason, " (", attempt.error, ")");
    WGW_LOG(kWarn, kComponent, "event given up on", "webhook=", LogQuote(config_.name),
            " id=", EventId(done->event), " reason=", LogQuote(reason),
            " last_status=", last_status, " attempts=", attempts);
    absl::Status written =
        dead_letters_->Write(done->event, DeadLetter{config_.name, reason, last_status, attempts});
    if (!written.ok()) {
      WGW_LOG(kError, kComponent, "dead letter not written",
              "error=", LogQuote(std::string(written.message())));
    }
  }
  done->Release();
}

}  // namespace webhookgw
