#include "gateway/retry.h"

#include <gtest/gtest.h>

#include "absl/random/random.h"

namespace webhookgw {
namespace {

TEST(ClassifyStatusTest, FollowsTheDeliveryRules) {
  EXPECT_EQ(ClassifyStatus(200), AttemptOutcome::kDelivered);
  EXPECT_EQ(ClassifyStatus(204), AttemptOutcome::kDelivered);
  EXPECT_EQ(ClassifyStatus(299), AttemptOutcome::kDelivered);
  EXPECT_EQ(ClassifyStatus(0), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(408), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(429), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(500), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(503), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(599), AttemptOutcome::kRetry);
  EXPECT_EQ(ClassifyStatus(301), AttemptOutcome::kFinal) << "redirects are not followed";
  EXPECT_EQ(ClassifyStatus(400), AttemptOutcome::kFinal);
  EXPECT_EQ(ClassifyStatus(404), AttemptOutcome::kFinal);
  EXPECT_EQ(ClassifyStatus(410), AttemptOutcome::kFinal);
  EXPECT_EQ(ClassifyStatus(100), AttemptOutcome::kFinal);
}

TEST(ParseRetryAfterTest, SecondsAndHttpDates) {
  absl::Time now = absl::FromUnixSeconds(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), absl::Seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 3 ", now), absl::Seconds(3));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now), absl::Seconds(30));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
}

TEST(RetryDelayTest, ExponentialCappedAndJittered) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Seconds(2);
  absl::BitGen rng;
  for (int i = 0; i < 200; ++i) {
    absl::Duration first = RetryDelay(policy, 1, std::nullopt, rng);
    EXPECT_GE(first, absl::Milliseconds(50));
    EXPECT_LE(first, absl::Milliseconds(100));
    absl::Duration third = RetryDelay(policy, 3, std::nullopt, rng);
    EXPECT_GE(third, absl::Milliseconds(200));
    EXPECT_LE(third, absl::Milliseconds(400));
    absl::Duration late = RetryDelay(policy, 30, std::nullopt, rng);
    EXPECT_GE(late, absl::Seconds(1));
    EXPECT_LE(late, absl::Seconds(2));
  }
}

TEST(RetryDelayTest, RetryAfterWinsButIsCapped) {
  RetryPolicy policy;
  policy.max_backoff = absl::Seconds(10);
  absl::BitGen rng;
  EXPECT_EQ(RetryDelay(policy, 1, absl::Seconds(4), rng), absl::Seconds(4));
  EXPECT_EQ(RetryDelay(policy, 1, absl::Seconds(3600), rng), absl::Seconds(10));
}

}  // namespace
}  // namespace webhookgw
