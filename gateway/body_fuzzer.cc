// Renders bodies from arbitrary input and aborts unless every one is valid
// JSON (nlohmann's parser also rejects invalid UTF-8). The input is used
// twice: as a serialized v1::Event, and as the raw bytes of every string
// field and the payload of a publish, where protobuf's UTF-8 check on
// parsing cannot filter anything out.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/body.h"
#include "google/protobuf/stubs/logging.h"
#include "nlohmann/json.hpp"

namespace {

using json = nlohmann::json;
using webhookgw::BodyOptions;
using webhookgw::PayloadEncoding;

json ParseOrDie(const std::string& body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) abort();
  return parsed;
}

// Every combination of encoding and absent-user-name style, with a small
// base62 bound so that the fallback is exercised too.
template <typename F>
void ForEachOptions(F f) {
  for (PayloadEncoding encoding :
       {PayloadEncoding::kPlain, PayloadEncoding::kBase64, PayloadEncoding::kBase62}) {
    for (webhookgw::AbsentUsername absent :
         {webhookgw::AbsentUsername::kUndefined, webhookgw::AbsentUsername::kNull}) {
      BodyOptions options;
      options.encoding = encoding;
      options.absent_username = absent;
      options.base62_max_bytes = 256;
      f(options);
    }
  }
}

// Reverses AppendBase62 for the payload round trip.
std::string DecodeBase62(const std::string& text) {
  static const std::string kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '0') ++zeros;
  std::string number;  // big-endian bytes
  for (size_t i = zeros; i < text.size(); ++i) {
    size_t digit = kAlphabet.find(text[i]);
    if (digit == std::string::npos) abort();
    unsigned carry = static_cast<unsigned>(digit);
    for (size_t j = number.size(); j-- > 0;) {
      unsigned cur = static_cast<unsigned char>(number[j]) * 62u + carry;
      number[j] = static_cast<char>(cur & 0xFF);
      carry = cur >> 8;
    }
    while (carry != 0) {
      number.insert(number.begin(), static_cast<char>(carry & 0xFF));
      carry >>= 8;
    }
  }
  return std::string(zeros, '\0') + number;
}

void CheckRawPublish(const std::string& bytes) {
  webhookgw::v1::Event event;
  event.set_node(bytes);
  webhookgw::v1::MessagePublish* m = event.mutable_message_publish();
  m->set_from_client_id(bytes);
  m->set_from_username(bytes);
  m->set_topic(bytes);
  m->set_payload(bytes);
  ForEachOptions([&](const BodyOptions& options) {
    std::string body;
    if (!webhookgw::RenderBody(event, options, &body)) abort();
    json parsed = ParseOrDie(body);
    if (options.encoding == PayloadEncoding::kBase62 && bytes.size() <= 256) {
      if (DecodeBase62(parsed["payload"].get<std::string>()) != bytes) abort();
    }
  });

  // ASCII, control characters included, must come back unchanged in plain.
  bool ascii = true;
  for (char c : bytes) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string body;
    webhookgw::RenderBody(event, {}, &body);
    if (ParseOrDie(body)["payload"].get<std::string>() != bytes) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Protobuf logs every string field with invalid UTF-8 it refuses; that is
  // expected here and would only slow the fuzzer down.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);

  webhookgw::v1::Event event;
  if (event.ParseFromString(bytes)) {
    ForEachOptions([&](const BodyOptions& options) {
      std::string body;
      if (webhookgw::RenderBody(event, options, &body)) ParseOrDie(body);
    });
  }

  CheckRawPublish(bytes);
  return 0;
}
