#include "gateway/retry.h"

#include <algorithm>
#include <string>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace webhookgw {

AttemptOutcome ClassifyStatus(int status) {
  if (status >= 200 && status < 300) return AttemptOutcome::kDelivered;
  if (status == 0 || status == 408 || status == 429 || (status >= 500 && status < 600)) {
    return AttemptOutcome::kRetry;
  }
  return AttemptOutcome::kFinal;
}

std::optional<absl::Duration> ParseRetryAfter(std::string_view value, absl::Time now) {
  absl::string_view text =
      absl::StripAsciiWhitespace(absl::string_view(value.data(), value.size()));
  uint64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    return absl::Seconds(std::min<uint64_t>(seconds, 365ull * 24 * 3600));
  }
  absl::Time when;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(text), &when, &error)) {
    return std::max(absl::ZeroDuration(), when - now);
  }
  return std::nullopt;
}

absl::Duration RetryDelay(const RetryPolicy& policy, int attempt,
                          std::optional<absl::Duration> retry_after, absl::BitGenRef rng) {
  if (retry_after.has_value()) return std::min(*retry_after, policy.max_backoff);
  absl::Duration delay = policy.initial_backoff;
  for (int i = 1; i < attempt && delay < policy.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, policy.max_backoff);
  const double half = absl::ToDoubleSeconds(delay) / 2;
  return absl::Seconds(half + absl::Uniform(rng, 0.0, half));
}

}  // namespace webhookgw
