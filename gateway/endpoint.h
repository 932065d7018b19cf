#ifndef WEBHOOKGW_GATEWAY_ENDPOINT_H_
#define WEBHOOKGW_GATEWAY_ENDPOINT_H_

#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/config.h"
#include "gateway/dead_letter.h"
#include "gateway/job.h"
#include "gateway/metrics.h"
#include "gateway/outbound_policy.h"
#include "gateway/url.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace webhookgw {

// Delivers events to one webhook URL over `pool_size` kept-alive HTTP
// connections, each owned by one worker thread.
//
// Events are kept in lanes, one per MQTT client id. A lane has at most one
// request in flight and retries its front event until it is delivered or
// given up on, so each client's events arrive in order; while a lane waits
// to retry, the workers serve other lanes. Nothing here is shared with other
// endpoints, so a slow or dead endpoint holds back only its own lanes.
//
// Thread-safe: Enqueue may be called from any thread.
class Endpoint {
 public:
  // Validates the URL, reads signing secret files and checks that TLS files
  // are readable. `dead_letters` and `metrics` must outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<Endpoint>> Create(const WebhookConfig& config,
                                                          const OutboundSettings& outbound,
                                                          DeadLetterWriter* dead_letters,
                                                          EndpointMetrics* metrics);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Starts the workers.
  void Start();

  // Queues `job` on its client's lane; never blocks on the network. The job
  // is released once delivered or dead-lettered.
  void Enqueue(std::shared_ptr<Job> job);

  // Lets the workers finish what is queued until `deadline`, then stops
  // them. Jobs still queued are left unreleased, so their streams never ack
  // them and the adapters resend them elsewhere.
  void Stop(absl::Time deadline);

  // Stop without waiting: the workers finish what is queued (until
  // `deadline`) and exit on their own; Stop() later joins them.
  void BeginStop(absl::Time deadline);

  const WebhookConfig& config() const { return config_; }

 private:
  struct Lane {
    std::deque<std::shared_ptr<Job>> jobs;
    int attempts = 0;  // attempts made for jobs.front()
    absl::Time first_attempt;
  };
  struct Waiting {
    absl::Time due;
    std::string key;
    bool operator>(const Waiting& other) const { return due > other.due; }
  };
  // The result of one attempt.
  struct Attempt {
    int status = 0;  // 0: no response
    std::string error;
    std::optional<absl::Duration> retry_after;
    // Refused by the outbound policy: final, never retried.
    bool refused = false;
  };
  Endpoint(WebhookConfig config, WebhookUrl url, OutboundPolicy policy,
           std::vector<std::string> secrets, DeadLetterWriter* dead_letters,
           EndpointMetrics* metrics);

  void WorkerLoop();
  // A client for one connection to the endpoint at the checked `address`.
  std::unique_ptr<httplib::Client> MakeClient(const std::string& address) const;
  // Takes the next ready lane's front job; false when the worker should
  // exit. Leaves *job null when the worker merely woke up idle.
  bool NextJob(std::string* key, std::shared_ptr<Job>* job, int* attempt);
  // Records the outcome of an attempt on the lane's front job.
  void Finish(const std::string& key, const Attempt& attempt);

  const WebhookConfig config_;
  const WebhookUrl url_;
  const OutboundPolicy policy_;
  // Decoded signing secrets (inline and from files); empty: unsigned.
  const std::vector<std::string> secrets_;
  DeadLetterWriter* const dead_letters_;
  EndpointMetrics* const metrics_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;
  absl::node_hash_map<std::string, Lane> lanes_ ABSL_GUARDED_BY(mu_);
  // Lanes with work and no request in flight, in the order they became ready.
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);
  // Lanes waiting to retry, earliest first.
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<Waiting>> waiting_
      ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();

  std::vector<std::thread> threads_;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_ENDPOINT_H_
