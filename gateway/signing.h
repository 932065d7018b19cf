#ifndef WEBHOOKGW_GATEWAY_SIGNING_H_
#define WEBHOOKGW_GATEWAY_SIGNING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace webhookgw {

// The value of a Standard Webhooks `webhook-signature` header: for each
// secret, "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." +
// body)), joined by spaces so that a receiver holding any one of the
// secrets can verify (this is how secrets are rotated). `secrets` are raw
// bytes, already decoded from "whsec_...". Thread-safe.
std::string WebhookSignature(const std::vector<std::string>& secrets, std::string_view id,
                             int64_t timestamp, std::string_view body);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_SIGNING_H_
