#ifndef WEBHOOKGW_GATEWAY_GATEWAY_H_
#define WEBHOOKGW_GATEWAY_GATEWAY_H_

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/config.h"
#include "gateway/dead_letter.h"
#include "gateway/endpoint.h"
#include "gateway/job.h"
#include "gateway/metrics.h"
#include "gateway/queue_budget.h"
#include "gateway/router.h"

namespace webhookgw {

class EventStream;

// The checks every event from a stream passes before it is routed: it has a
// kind, and its encoded size is within `max_event_bytes`. Returns why it
// cannot be delivered at all, or "" with *kind and *bytes set. Shared by
// EventStream and the stream fuzzer so that both run the same code.
std::string ValidateEvent(const v1::Event& event, int64_t max_event_bytes, EventKind* kind,
                          size_t* bytes);

// The gateway's delivery side, independent of how events arrive: routes each
// event to the endpoints whose filters match, tracks what it holds, and
// drains on request. Streams (gRPC) and replays hand jobs to Dispatch.
//
// Thread-safe after Start.
class Gateway {
 public:
  // Builds the router and one endpoint per webhook, opens the dead-letter
  // file. Errors name the webhook and what is wrong.
  static absl::StatusOr<std::unique_ptr<Gateway>> Create(const Config& config);
  ~Gateway();

  // Starts the endpoints and the stream ticker (heartbeats and
  // max_connection_age, see EventStream::Tick).
  void Start();

  // Applies the webhooks of `config` (validated by the caller): new events
  // follow the new filters and endpoints at once; events already queued on
  // the old endpoints are still delivered there (within their retry policy)
  // before those endpoints stop. Settings of the gateway block other than
  // logging need a restart; they are kept. Errors leave the running
  // configuration untouched.
  absl::Status Reload(const Config& config);

  // Routes decoded, validated jobs (a stream's batch) and queues each on
  // the endpoints whose filters match; each endpoint's queue is taken once
  // per call. (*routed)[i] is set to the number of endpoints jobs[i] went
  // to; 0 means no webhook wants it (it is then finished already and the
  // caller must not wait for it).
  void Dispatch(const std::vector<std::shared_ptr<Job>>& jobs, std::vector<int>* routed);

  // Records an event that cannot be delivered at all (no kind, oversized),
  // so that it is counted and kept rather than lost.
  void RejectEvent(const v1::Event& event, std::string_view reason);

  // Tells every open stream to stop sending (GoAway) and to finish once its
  // events are done, then lets the endpoints work until `deadline` and stops
  // them. Events unfinished at the deadline are not acked: adapters resend.
  void Drain(absl::Time deadline);

  bool draining() const;

  // Whether `token` (the text after "Bearer ") is one of the configured
  // tokens; always true when auth is off. Compares in constant time.
  bool TokenAccepted(std::string_view token) const;
  bool auth_enabled() const { return !tokens_.empty(); }

  // Counts a stream from `peer` (gRPC's peer string, "ipv4:1.2.3.4:5678");
  // false, counting nothing, when that address already holds
  // max_streams_per_peer streams. Every true is paired with ReleasePeer.
  bool AcquirePeer(const std::string& peer);
  void ReleasePeer(const std::string& peer);

  // Stream registry, for Drain. AddStream refuses (returns false) once the
  // gateway drains, so that every registered stream gets the GoAway.
  bool AddStream(const std::shared_ptr<EventStream>& stream);
  void RemoveStream(EventStream* stream);

  // The gateway block as loaded at start (reload does not change it).
  const GatewaySettings& settings() const { return settings_; }
  GatewayMetrics& metrics() { return metrics_; }
  QueueBudget& budget() { return budget_; }
  // Metrics of every webhook name seen since start, in order of appearance.
  std::vector<EndpointMetrics*> endpoint_metrics() const;

 private:
  // The filters and endpoints of one configuration; replaced whole by Reload.
  struct Routes {
    Router router;
    std::vector<std::unique_ptr<Endpoint>> endpoints;
  };

  explicit Gateway(const GatewaySettings& settings);
  absl::StatusOr<std::unique_ptr<Routes>> BuildRoutes(const std::vector<WebhookConfig>& webhooks);
  EndpointMetrics* MetricsFor(const std::string& webhook);

  const GatewaySettings settings_;
  GatewayMetrics metrics_;
  QueueBudget budget_;
  DeadLetterWriter dead_letters_;

  // Readers (Dispatch) hold it shared while they use routes_, so that an
  // endpoint retired by Reload receives nothing after it is told to stop.
  absl::Mutex routes_mu_;
  std::unique_ptr<Routes> routes_ ABSL_GUARDED_BY(routes_mu_);
  // Endpoints of earlier configurations, finishing what they hold.
  std::vector<std::unique_ptr<Routes>> retired_ ABSL_GUARDED_BY(routes_mu_);

  mutable absl::Mutex metrics_mu_;
  std::vector<std::unique_ptr<EndpointMetrics>> endpoint_metrics_ ABSL_GUARDED_BY(metrics_mu_);

  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, int64_t> peer_streams_ ABSL_GUARDED_BY(mu_);
  // Accepted bearer tokens: gateway.auth.tokens and the lines of token_file.
  std::vector<std::string> tokens_;
  std::vector<std::weak_ptr<EventStream>> streams_ ABSL_GUARDED_BY(mu_);

  // Ticks every open stream about once a second until the gateway is
  // destroyed (draining streams too: they still owe heartbeats).
  void TickStreams();
  bool stop_ticker_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_GATEWAY_H_
