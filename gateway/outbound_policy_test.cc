#include "gateway/outbound_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "gateway/signing.h"

namespace webhookgw {
namespace {

using ::testing::HasSubstr;

OutboundPolicy Policy(OutboundSettings settings) {
  absl::StatusOr<OutboundPolicy> policy = OutboundPolicy::Create(settings);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

TEST(CidrTest, ParsesRangesAndBareAddresses) {
  EXPECT_TRUE(Cidr::Parse("10.0.0.0/8").ok());
  EXPECT_TRUE(Cidr::Parse("fe80::/10").ok());
  EXPECT_TRUE(Cidr::Parse("192.0.2.1").ok());
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0").ok());
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0/8", "host/8", "10.0.0.0/", "", "1/x"}) {
    EXPECT_FALSE(Cidr::Parse(bad).ok()) << bad;
  }
}

TEST(CidrTest, MatchesByPrefix) {
  OutboundSettings s;
  s.deny_defaults = false;
  s.deny_cidrs = {"10.1.2.3/8", "2001:db8::/32"};
  OutboundPolicy policy = Policy(s);
  EXPECT_FALSE(policy.CheckAddress("10.255.0.1").ok()) << "host bits of the range are ignored";
  EXPECT_TRUE(policy.CheckAddress("11.0.0.1").ok());
  EXPECT_FALSE(policy.CheckAddress("2001:db8:1::5").ok());
  EXPECT_TRUE(policy.CheckAddress("2001:db9::5").ok());
}

TEST(OutboundPolicyTest, DefaultsDenyMetadataAndLinkLocal) {
  OutboundPolicy policy = Policy(OutboundSettings());
  absl::Status st = policy.CheckAddress("169.254.169.254");
  EXPECT_TRUE(absl::IsPermissionDenied(st));
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("outbound policy: 169.254.169.254 is in denied range 169.254.169.254/32"));
  EXPECT_FALSE(policy.CheckAddress("fd00:ec2::254").ok());
  EXPECT_FALSE(policy.CheckAddress("169.254.1.1").ok());
  EXPECT_FALSE(policy.CheckAddress("fe80::1").ok());
  EXPECT_TRUE(policy.CheckAddress("127.0.0.1").ok());
  EXPECT_TRUE(policy.CheckAddress("203.0.113.7").ok());
  // An IPv4-mapped IPv6 address is the IPv4 address.
  EXPECT_FALSE(policy.CheckAddress("::ffff:169.254.169.254").ok());
}

TEST(OutboundPolicyTest, DefaultsCanBeTurnedOff) {
  OutboundSettings s;
  s.deny_defaults = false;
  EXPECT_TRUE(Policy(s).CheckAddress("169.254.169.254").ok());
}

TEST(OutboundPolicyTest, AllowListRefusesEverythingElseButDenyWins) {
  OutboundSettings s;
  s.allow_cidrs = {"10.0.0.0/8"};
  s.deny_cidrs = {"10.9.0.0/16"};
  OutboundPolicy policy = Policy(s);
  EXPECT_TRUE(policy.CheckAddress("10.1.1.1").ok());
  EXPECT_THAT(std::string(policy.CheckAddress("192.0.2.1").message()),
              HasSubstr("is in no allowed range"));
  EXPECT_FALSE(policy.CheckAddress("10.9.1.1").ok());
}

TEST(OutboundPolicyTest, ResolvesNamesAndChecksEveryAddress) {
  OutboundSettings s;
  absl::StatusOr<std::string> address = Policy(s).Resolve("localhost");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_TRUE(*address == "127.0.0.1" || *address == "::1") << *address;
  s.deny_cidrs = {"127.0.0.0/8", "::1/128"};
  absl::StatusOr<std::string> refused = Policy(s).Resolve("localhost");
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("(localhost)"));
  // An unresolvable name is an ordinary (retryable) failure, not a refusal.
  EXPECT_TRUE(absl::IsUnavailable(Policy(s).Resolve("no-such-host.invalid").status()));
}

// The example of the Standard Webhooks specification's reference libraries.
TEST(SigningTest, MatchesTheStandardWebhooksVector) {
  absl::StatusOr<std::string> secret =
      DecodeSigningSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(WebhookSignature({*secret}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                             R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  std::string two = WebhookSignature({*secret, *secret}, "id", 1, "b");
  EXPECT_EQ(two.find(' '), two.size() / 2) << "one signature per secret, space-separated";
}

TEST(SigningTest, BadSecretsAreRefusedWithoutShowingThem) {
  for (const char* bad :
       {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!notbase64!!", "whsec_c2hvcnQ="}) {
    absl::StatusOr<std::string> secret = DecodeSigningSecret(bad);
    EXPECT_FALSE(secret.ok()) << bad;
    std::string message(secret.status().message());
    std::string value(bad);
    if (value.size() > 6) EXPECT_EQ(message.find(value.substr(6)), std::string::npos) << message;
    EXPECT_THAT(message, HasSubstr("value not shown"));
  }
}

}  // namespace
}  // namespace webhookgw
