// Feeds arbitrary bytes to the config parser: it must return a Status, never
// crash, hang or exhaust memory, whatever the input. Seeds and a dictionary
// are in gateway/testdata:
//   config_fuzzer gateway/testdata/config_fuzzer_seeds \
//     -dict=gateway/testdata/config_fuzzer.dict -max_len=8192
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<webhookgw::Config> config = webhookgw::ParseConfig(text, "fuzz.conf");
  // Errors must follow "FILE:..."; a successful parse has at least one webhook.
  if (config.ok() && config->webhooks.empty()) __builtin_trap();
  if (!config.ok() && config.status().message().substr(0, 9) != "fuzz.conf") __builtin_trap();
  return 0;
}
