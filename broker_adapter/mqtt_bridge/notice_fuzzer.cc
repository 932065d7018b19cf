// Feeds arbitrary topics and payloads to the presence-notice parser: it must
// return a notice, nothing or an error, and never crash or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "broker_adapter/mqtt_bridge/notice.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  auto source =
      (data[0] & 1) ? webhookgw::PresenceSource::kEmqx : webhookgw::PresenceSource::kNanoMq;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  // The topic is a known notice topic most of the time, so that the payload
  // reader gets exercised; otherwise it is taken from the input.
  std::string_view topic;
  switch (data[0] >> 1 & 3) {
    case 0:
      topic = "$SYS/brokers/client_status/c1";
      break;
    case 1:
      topic = "$SYS/brokers/n1/clients/c1/disconnected";
      break;
    case 2:
      topic = "$SYS/brokers/connected";
      break;
    default: {
      size_t cut = rest.find('\n');
      topic = rest.substr(0, cut);
      rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
    }
  }
  auto notice = webhookgw::ParsePresenceNotice(source, topic, rest);
  if (notice.ok() && notice->has_value() && (*notice)->clientid.empty()) __builtin_trap();
  return 0;
}
