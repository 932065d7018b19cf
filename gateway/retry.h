#ifndef WEBHOOKGW_GATEWAY_RETRY_H_
#define WEBHOOKGW_GATEWAY_RETRY_H_

#include <optional>
#include <string_view>

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"
#include "gateway/config.h"

namespace webhookgw {

// What one HTTP attempt means for the event.
enum class AttemptOutcome {
  kDelivered,  // 2xx
  kRetry,      // connection error, timeout, 408, 429, 5xx
  kFinal,      // any other status: retrying will not help
};

// Classifies an HTTP status; 0 stands for "no response" (connection error or
// timeout) and is retried. 3xx is final: redirects are never followed.
AttemptOutcome ClassifyStatus(int status);

// Parses a Retry-After value, either delay-seconds or an HTTP-date
// (IMF-fixdate), relative to `now`. nullopt when it is neither; a date in
// the past gives zero.
std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now);

// The wait before retry number `attempt` (1 for the first retry):
// exponential from initial_backoff, capped at max_backoff, with "equal
// jitter" (half fixed, half random) so that lanes retrying together spread
// out. A Retry-After, when given, replaces it but is capped at max_backoff.
absl::Duration RetryDelay(const RetryPolicy& policy, int attempt,
                          std::optional<absl::Duration> retry_after, absl::BitGenRef rng);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_RETRY_H_
