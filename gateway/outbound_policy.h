#ifndef WEBHOOKGW_GATEWAY_OUTBOUND_POLICY_H_
#define WEBHOOKGW_GATEWAY_OUTBOUND_POLICY_H_

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/config.h"

namespace webhookgw {

// An IPv4 or IPv6 address range. IPv4 ranges are kept as IPv4-mapped IPv6
// (::ffff:a.b.c.d/96+prefix), so one comparison serves both families and a
// mapped address cannot slip past an IPv4 rule.
struct Cidr {
  std::array<uint8_t, 16> bytes{};
  int prefix = 128;
  std::string text;  // as written, for messages

  // Parses "10.0.0.0/8", "fe80::/10" or a bare address (a /32 or /128).
  static absl::StatusOr<Cidr> Parse(std::string_view text);
  bool Contains(const std::array<uint8_t, 16>& address) const;
};

// Where webhooks may be delivered, decided on resolved addresses so that a
// name pointing into a forbidden range is caught at connect time.
//
// Immutable after Create; thread-safe.
class OutboundPolicy {
 public:
  // The default deny ranges: cloud metadata and link-local.
  static const std::vector<std::string>& DefaultDenyRanges();

  static absl::StatusOr<OutboundPolicy> Create(const OutboundSettings& settings);

  // OK when `address` (an IP literal, IPv6 without brackets) may be used;
  // otherwise PERMISSION_DENIED naming the address and the rule.
  absl::Status CheckAddress(std::string_view address) const;
  absl::Status CheckSockaddr(const sockaddr* address) const;

  // Resolves `host` (a name or literal) and checks every address it has;
  // returns one numeric address to connect to. A name with any forbidden
  // address is refused as a whole, so a resolver cannot rotate into one.
  absl::StatusOr<std::string> Resolve(const std::string& host) const;

  bool https_only() const { return https_only_; }

 private:
  absl::Status Check(const std::array<uint8_t, 16>& address, std::string_view shown) const;

  std::vector<Cidr> allow_;
  std::vector<Cidr> deny_;
  bool https_only_ = false;
};

// Whether `host` is an IP literal (IPv6 without brackets).
bool IsIpLiteral(std::string_view host);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_OUTBOUND_POLICY_H_
