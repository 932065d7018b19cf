#include "gateway/signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace webhookgw {

std::string WebhookSignature(const std::vector<std::string>& secrets, std::string_view id,
                             int64_t timestamp, std::string_view body) {
  const std::string message = absl::StrCat(absl::string_view(id.data(), id.size()), ".", timestamp,
                                           ".", absl::string_view(body.data(), body.size()));
  std::string out;
  for (const std::string& secret : secrets) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    // A failure inside OpenSSL leaves the signature out; the receiver then
    // rejects the request, which is the safe outcome.
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
             &mac_len) == nullptr) {
      continue;
    }
    if (!out.empty()) out.push_back(' ');
    absl::StrAppend(&out, "v1,",
                    absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(mac), mac_len)));
  }
  return out;
}

}  // namespace webhookgw
