#ifndef WEBHOOKGW_GATEWAY_ROUTER_H_
#define WEBHOOKGW_GATEWAY_ROUTER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/config.h"
#include "gateway/event_kind.h"
#include "gateway/topic_filter.h"

namespace webhookgw {

// Decides which webhooks want an event. Built once from the config (every
// topic filter compiled at that point) and immutable afterwards, so it can be
// shared by all threads without locking.
//
// Rules of one webhook are ORed: the webhook is selected once if any rule for
// the event's kind matches, however many do.
class Router {
 public:
  // Compiles every rule of every webhook. Fails with the rule's location when
  // a topic filter is invalid (the config loader has normally caught that).
  static absl::StatusOr<Router> Build(const std::vector<WebhookConfig>& webhooks);

  // Appends to *out the indices (into the webhooks given to Build) of the
  // webhooks that want an event of `kind` on `topic` (the message topic or
  // the filter being (un)subscribed; ignored for other kinds). *out is
  // cleared first.
  void Match(EventKind kind, std::string_view topic, std::vector<uint32_t>* out) const;

  size_t webhook_count() const { return webhook_count_; }

 private:
  struct Rule {
    uint32_t webhook;
    std::optional<TopicFilter> filter;  // nullopt matches every topic
  };
  Router() = default;

  size_t webhook_count_ = 0;
  // Rules per event kind, grouped by webhook in ascending order.
  std::array<std::vector<Rule>, kEventKindCount> rules_;
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_ROUTER_H_
