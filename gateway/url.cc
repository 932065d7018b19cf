#include "gateway/url.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace webhookgw {

absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view text) {
  // Debian's Abseil has its own string_view type; work in it throughout.
  const absl::string_view url(text.data(), text.size());
  WebhookUrl out;
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(url, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWithIgnoreCase(url, "https://")) {
    out.https = true;
    rest = url.substr(8);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an http:// or https:// URL, got \"", url, "\""));
  }
  if (rest.find('#') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("URL has a fragment: \"", url, "\""));
  }
  size_t slash = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, slash);
  out.target = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (out.target[0] == '?') out.target.insert(0, "/");
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("URL has user info: \"", url, "\""));
  }

  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated IPv6 host in \"", url, "\""));
    }
    host = authority.substr(1, close - 1);
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        return absl::InvalidArgumentError(absl::StrCat("bad host in \"", url, "\""));
      }
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != absl::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in \"", url, "\""));
  out.host = absl::AsciiStrToLower(host);
  out.port = out.https ? 443 : 80;
  if (!port.empty() && (!absl::SimpleAtoi(port, &out.port) || out.port < 1 || out.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("bad port \"", port, "\" in \"", url, "\""));
  }
  std::string shown_host =
      out.host.find(':') != std::string::npos ? absl::StrCat("[", out.host, "]") : out.host;
  out.origin = absl::StrCat(out.https ? "https://" : "http://", shown_host, ":", out.port);
  return out;
}

}  // namespace webhookgw
