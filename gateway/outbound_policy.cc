#include "gateway/outbound_policy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace webhookgw {
namespace {

// Parses an IPv4 or IPv6 literal into mapped-IPv6 form.
bool ParseAddress(const std::string& text, std::array<uint8_t, 16>* out) {
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::memcpy(out->data() + 12, &v4, 4);
    return true;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    return true;
  }
  return false;
}

bool IsMappedV4(const std::array<uint8_t, 16>& a) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kPrefix, 12) == 0;
}

std::string Show(const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN];
  if (IsMappedV4(a)) return inet_ntop(AF_INET, a.data() + 12, buf, sizeof buf);
  return inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(std::string_view std_text) {
  std::string text(std_text);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an address range like \"10.0.0.0/8\" or \"fe80::/10\", got \"", text,
                     "\" (", why, ")"));
  };
  Cidr cidr;
  cidr.text = text;
  size_t slash = text.find('/');
  std::string address = text.substr(0, slash);
  if (!ParseAddress(address, &cidr.bytes)) return bad("not an IP address");
  const bool v4 = address.find(':') == std::string::npos;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string::npos) {
    absl::string_view p = absl::string_view(text).substr(slash + 1);
    if (p.empty() || p.size() > 3 || !absl::SimpleAtoi(p, &prefix) || prefix < 0 || prefix > max) {
      return bad(absl::StrCat("prefix must be 0 to ", max));
    }
  }
  cidr.prefix = v4 ? prefix + 96 : prefix;
  // Bits past the prefix are ignored rather than refused: "10.1.2.3/8" means 10/8.
  for (int bit = cidr.prefix; bit < 128; ++bit) {
    cidr.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return cidr;
}

bool Cidr::Contains(const std::array<uint8_t, 16>& address) const {
  int full = prefix / 8;
  if (std::memcmp(address.data(), bytes.data(), full) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (address[full] & mask) == (bytes[full] & mask);
}

const std::vector<std::string>& OutboundPolicy::DefaultDenyRanges() {
  static const std::vector<std::string> kRanges = {
      "169.254.169.254/32",  // cloud metadata (AWS, GCP, Azure, ...)
      "fd00:ec2::254/128",   // AWS metadata over IPv6
      "169.254.0.0/16",      // IPv4 link-local
      "fe80::/10",           // IPv6 link-local
  };
  return kRanges;
}

absl::StatusOr<OutboundPolicy> OutboundPolicy::Create(const OutboundSettings& settings) {
  OutboundPolicy policy;
  policy.https_only_ = settings.https_only;
  auto add = [](const std::vector<std::string>& texts, std::vector<Cidr>* out) -> absl::Status {
    for (const std::string& text : texts) {
      absl::StatusOr<Cidr> cidr = Cidr::Parse(text);
      if (!cidr.ok()) return cidr.status();
      out->push_back(*std::move(cidr));
    }
    return absl::OkStatus();
  };
  if (settings.deny_defaults) {
    if (absl::Status st = add(DefaultDenyRanges(), &policy.deny_); !st.ok()) return st;
  }
  if (absl::Status st = add(settings.deny_cidrs, &policy.deny_); !st.ok()) return st;
  if (absl::Status st = add(settings.allow_cidrs, &policy.allow_); !st.ok()) return st;
  return policy;
}

absl::Status OutboundPolicy::Check(const std::array<uint8_t, 16>& address,
                                   std::string_view shown) const {
  for (const Cidr& deny : deny_) {
    if (deny.Contains(address)) {
      return absl::PermissionDeniedError(
          absl::StrCat("outbound policy: ", Show(address), " is in denied range ", deny.text));
    }
  }
  if (allow_.empty()) return absl::OkStatus();
  for (const Cidr& allow : allow_) {
    if (allow.Contains(address)) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("outbound policy: ", Show(address), " is in no allowed range"));
}

absl::Status OutboundPolicy::CheckAddress(std::string_view text) const {
  std::array<uint8_t, 16> address;
  if (!ParseAddress(std::string(text), &address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("outbound policy: \"", std::string(text), "\" is not an IP address"));
  }
  return Check(address, text);
}

absl::Status OutboundPolicy::CheckSockaddr(const sockaddr* sa) const {
  std::array<uint8_t, 16> address{};
  if (sa->sa_family == AF_INET) {
    address[10] = 0xff;
    address[11] = 0xff;
    std::memcpy(address.data() + 12, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(address.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  } else {
    return absl::PermissionDeniedError("outbound policy: address family is not IP");
  }
  return Check(address, "");
}

absl::StatusOr<std::string> OutboundPolicy::Resolve(const std::string& host) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(result, freeaddrinfo);
  std::string first;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    absl::Status st = CheckSockaddr(ai->ai_addr);
    if (!st.ok()) {
      return absl::PermissionDeniedError(absl::StrCat(st.message(), " (", host, ")"));
    }
    if (first.empty()) {
      char buf[INET6_ADDRSTRLEN];
      const void* raw =
          ai->ai_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
      if (inet_ntop(ai->ai_family, raw, buf, sizeof buf) != nullptr) first = buf;
    }
  }
  if (first.empty()) return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  return first;
}

bool IsIpLiteral(std::string_view host) {
  std::array<uint8_t, 16> address;
  return ParseAddress(std::string(host), &address);
}

}  // namespace webhookgw
