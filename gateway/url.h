#ifndef WEBHOOKGW_GATEWAY_URL_H_
#define WEBHOOKGW_GATEWAY_URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace webhookgw {

// The parts of a webhook URL the HTTP client needs.
struct WebhookUrl {
  bool https = false;
  std::string host;  // without brackets for IPv6 literals
  int port = 0;      // explicit or the scheme's default
  // Path and query as sent in the request line; "/" when the URL has none.
  std::string target;
  // "http://host:port" (brackets kept for IPv6): what the client connects to.
  std::string origin;
};

// Parses an absolute http:// or https:// URL. User info and fragments are
// refused: a webhook URL carries neither.
absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view url);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_URL_H_
