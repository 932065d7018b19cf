#ifndef WEBHOOKGW_GATEWAY_BODY_H_
#define WEBHOOKGW_GATEWAY_BODY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw {

// How the `payload` field of the message events is written
// (`body.encoding` in the config).
enum class PayloadEncoding { kPlain, kBase64, kBase62 };

// What a client without a user name looks like in a body.
enum class AbsentUsername {
  kUndefined,  // the string "undefined", as NanoMQ sends (the default)
  kNull,       // JSON null, as EMQX 4 sends
};

struct BodyOptions {
  PayloadEncoding encoding = PayloadEncoding::kPlain;
  AbsentUsername absent_username = AbsentUsername::kUndefined;
  // Payloads longer than this are not base62-encoded (the conversion is
  // quadratic); the body then carries the payload in base64 and adds
  // "payload_encoding":"base64" so a receiver can tell.
  size_t base62_max_bytes = 1024;
};

// Renders `event` as the compact JSON body a NanoMQ or EMQX 4 receiver
// expects (see webhook-format.md), appending to `*out`. The `node` field comes
// from event.node(). Returns false only when no kind is set; the output is
// always valid UTF-8 JSON.
bool RenderBody(const v1::Event& event, const BodyOptions& options, std::string* out);

// Payload encoders, exposed for tests and the renderer. Each appends to *out.
void AppendBase64(std::string_view bytes, std::string* out);
void AppendBase62(std::string_view bytes, std::string* out);
// Appends `bytes` as the contents of a JSON string (without quotes): control
// characters escaped, valid UTF-8 passed through, every invalid UTF-8
// sequence replaced by U+FFFD. The replacement rule is the Unicode
// Standard's "maximal subpart" one (also Python's and the WHATWG
// decoder's): a lead byte and the continuation bytes that could still have
// completed it become one U+FFFD, and decoding resumes at the byte that
// broke the sequence; a byte that cannot start a sequence becomes one
// U+FFFD. So `ED A0 80` (a surrogate) gives three, `E2 82` at the end one.
void AppendJsonStringContents(std::string_view bytes, std::string* out);

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_BODY_H_
