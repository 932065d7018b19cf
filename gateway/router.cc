#include "gateway/router.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {

absl::StatusOr<Router> Router::Build(const std::vector<WebhookConfig>& webhooks) {
  Router router;
  router.webhook_count_ = webhooks.size();
  for (uint32_t w = 0; w < webhooks.size(); ++w) {
    for (const EventRule& rule : webhooks[w].events) {
      Rule compiled{w, std::nullopt};
      if (rule.topic.has_value()) {
        absl::StatusOr<TopicFilter> filter = TopicFilter::Parse(*rule.topic);
        if (!filter.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat(rule.where, ": ", webhooks[w].name, ": ", filter.status().message()));
        }
        compiled.filter = *std::move(filter);
      }
      router.rules_[static_cast<int>(rule.event)].push_back(std::move(compiled));
    }
  }
  return router;
}

void Router::Match(EventKind kind, std::string_view topic, std::vector<uint32_t>* out) const {
  out->clear();
  const bool has_topic = KindHasTopic(kind);
  for (const Rule& rule : rules_[static_cast<int>(kind)]) {
    // Rules of one webhook are adjacent: once it is selected, skip the rest.
    if (!out->empty() && out->back() == rule.webhook) continue;
    if (!rule.filter.has_value() || (has_topic && rule.filter->Matches(topic))) {
      out->push_back(rule.webhook);
    }
  }
}

}  // namespace webhookgw
