#ifndef WEBHOOKGW_GATEWAY_ENDPOINT_H_
#define WEBHOOKGW_GATEWAY_ENDPOINT_H_

#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
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
#include "gateway/spool.h"
#include "gateway/url.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace webhookgw {

// Delivers events to one webhook URL over at most `pool_size` kept-alive
// HTTP/1.1 connections, driven by one event-loop thread (epoll) per
// endpoint.
//
// Events are kept in lanes, one per MQTT client id. A lane has at most one
// request in flight and retries its front event until it is delivered or
// given up on, so each client's events arrive in order; while a lane waits
// to retry, the other lanes keep flowing. With `batch` on, one request
// carries the front events of several lanes (and several events of one
// lane, in order) as a JSON array; such a request succeeds or fails whole.
// Nothing here is shared with other endpoints, so a slow or dead endpoint
// holds back only its own lanes.
//
// An event that has waited here longer than `park.after`, while its lane is
// retrying or the whole endpoint has finished nothing for that long, is
// parked: it is written to the endpoint's spool and released to its
// stream, which can then ack it although this endpoint has not delivered
// it yet. An endpoint that is merely busy keeps finishing events and never
// parks: its backlog stays with the adapters, as flow control intends. Without
// that, the stream's cumulative ack would wait for the slowest endpoint,
// the adapters' windows would fill with events held here, and every other
// endpoint would starve. Parked events stay on their lanes and are
// delivered (or dead-lettered) in order like any other; each one finished
// adds a "done" record to the spool.
//
// Thread-safe: Enqueue, BeginStop and Stop may be called from any thread;
// everything else runs on the endpoint's thread.
class Endpoint {
 public:
  // Validates the URL, reads signing secret files and loads the TLS files.
  // `dead_letters` and `metrics` must outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<Endpoint>> Create(const WebhookConfig& config,
                                                          const OutboundSettings& outbound,
                                                          const std::string& spool_dir,
                                                          DeadLetterWriter* dead_letters,
                                                          EndpointMetrics* metrics);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Takes over what earlier gateway processes left parked in this
  // webhook's spool directory; call once, before Start(), and only for the
  // endpoints a gateway starts with (after a reload, the files of the
  // endpoints replaced are still in use). Returns the number of events.
  int64_t Recover();

  // Starts the endpoint's thread.
  void Start();

  // Queues each of `jobs` on its client's lane, in order, and leaves `jobs`
  // empty; never blocks on the network. A job is released once delivered or
  // dead-lettered.
  void Enqueue(std::vector<std::shared_ptr<Job>>* jobs);

  // Lets the endpoint finish what is queued until `deadline`, then stops
  // it. Jobs still queued are left unreleased, so their streams never ack
  // them and the adapters resend them elsewhere.
  void Stop(absl::Time deadline);

  // Stop without waiting: the endpoint finishes what is queued (until
  // `deadline`) and its thread exits on its own; Stop() later joins it.
  void BeginStop(absl::Time deadline);

  const WebhookConfig& config() const { return config_; }

 private:
  struct Lane;
  // An event on a lane, and when it reached this endpoint.
  struct Held {
    std::shared_ptr<Job> job;
    absl::Time arrived;
  };
  struct Request;
  struct Connection;
  struct Waiting {
    absl::Time due;
    Lane* lane;
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
           std::vector<std::string> secrets, const std::string& spool_dir,
           DeadLetterWriter* dead_letters, EndpointMetrics* metrics);

  // The event loop and its steps; all on the endpoint's thread.
  void Loop();
  // Moves queued jobs onto their lanes and picks up a stop request.
  void TakeInbox(absl::Time now);
  // Lanes whose retry is due become ready, ahead of the others.
  void PromoteDue(absl::Time now);
  // Starts requests while lanes are ready and connections allow. Returns
  // when to look again for a batch that waits for more events.
  absl::Time StartRequests(absl::Time now);
  // Takes the front events of ready lanes (one, or a batch) into a request.
  std::unique_ptr<Request> FormRequest(absl::Time now);
  // Opens a connection for a request; null, with *failed set, when the
  // host does not resolve, is refused by the outbound policy, or the
  // socket cannot be made.
  Connection* OpenConnection(absl::Time now, Attempt* failed);
  void Send(Connection* conn, std::unique_ptr<Request> request, absl::Time now);
  // Runs a connection's state machine as far as its socket allows.
  void Advance(Connection* conn);
  void CompleteRequest(Connection* conn, const Attempt& attempt, bool reusable);
  // Closes `conn` and finishes its request (if any) as failed with
  // `error`. `maybe_stale`: the failure may be a kept-alive connection
  // that the server closed before the request reached it.
  void FailConnection(Connection* conn, std::string error, bool maybe_stale);
  void CloseConnection(Connection* conn);
  // Enforces connect, request and idle timeouts; returns the next one due.
  absl::Time CheckTimers(absl::Time now);
  // Records the outcome of one attempt on every event of the request.
  void Finish(std::unique_ptr<Request> request, const Attempt& attempt, absl::Time now);
  // Dead-letters the `count` front jobs of `lane`.
  void GiveUp(Lane* lane, int count, const std::string& reason, int last_status, absl::Time now);
  void MakeReady(Lane* lane, bool front, absl::Time now);
  // The lane of `client_id`, created (and made ready) if there is none.
  Lane& LaneFor(std::string_view client_id, absl::Time now);
  // The front event of `lane` is finished here: released to its stream,
  // or marked done in the spool if it was parked.
  void Settle(Lane* lane, Held& held, absl::Time now);
  // Parks the events that have waited longer than park.after.
  void ParkOverdue(absl::Time now);
  // Writes buffered spool records, and starts the file over or compacts
  // it when it holds mostly finished events.
  void TidySpool();
  bool parking() const { return spool_.enabled() && config_.park.max_events > 0; }

  const WebhookConfig config_;
  const WebhookUrl url_;
  const OutboundPolicy policy_;
  // Decoded signing secrets (inline and from files); empty: unsigned.
  const std::vector<std::string> secrets_;
  DeadLetterWriter* const dead_letters_;
  EndpointMetrics* const metrics_;
  // For https:// URLs; null otherwise.
  SSL_CTX* tls_ = nullptr;
  // "POST <target> HTTP/1.1", Host and the configured headers: the start
  // of every request.
  std::string request_head_;

  // Handed over by other threads.
  absl::Mutex inbox_mu_;
  std::vector<std::shared_ptr<Job>> inbox_ ABSL_GUARDED_BY(inbox_mu_);
  bool wake_pending_ ABSL_GUARDED_BY(inbox_mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(inbox_mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(inbox_mu_) = absl::InfiniteFuture();
  int wake_fd_ = -1;
  int epoll_fd_ = -1;

  // The loop's own state.
  absl::node_hash_map<std::string, Lane> lanes_;
  // Lanes with work and no request in flight; retries due go to the front.
  std::deque<Lane*> ready_;
  // When ready_ last became non-empty: a batch lingers from then.
  absl::Time ready_since_ = absl::InfiniteFuture();
  // Lanes waiting to retry, earliest first.
  std::priority_queue<Waiting, std::vector<Waiting>, std::greater<Waiting>> waiting_;
  std::vector<std::unique_ptr<Connection>> connections_;
  // Closed during one round of events, freed after it.
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::vector<std::shared_ptr<Job>> taken_;
  std::string body_;
  // Parking: the spool, the events parked now (the front `parked` events
  // of their lanes), and when to look for overdue events next.
  Spool spool_;
  int64_t parked_ = 0;
  absl::Time next_park_scan_ = absl::InfinitePast();
  // When this endpoint last finished an event, or last got work while it
  // had none: an endpoint that has finished nothing for park.after is
  // stalled, and only then (or on a retrying lane) are events parked.
  absl::Time last_progress_ = absl::InfinitePast();
  bool loop_stopping_ = false;
  absl::Time loop_deadline_ = absl::InfiniteFuture();

  std::thread thread_;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_ENDPOINT_H_
