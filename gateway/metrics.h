#ifndef WEBHOOKGW_GATEWAY_METRICS_H_
#define WEBHOOKGW_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "gateway/event_kind.h"

namespace webhookgw {

using Counter = std::atomic<uint64_t>;
using Gauge = std::atomic<int64_t>;

// Counters of one webhook endpoint. Plain atomics: written on the delivery
// path with relaxed increments, read by the metrics exporter.
struct EndpointMetrics {
  std::string webhook;
  Counter delivered{0};      // events finished with a 2xx
  Counter dead_lettered{0};  // events given up on
  Counter retries{0};        // attempts after the first
  // Responses by status class: index 0 for "no response", 1..5 for 1xx..5xx.
  std::array<Counter, 6> responses{};
  Gauge queued{0};       // events waiting in this endpoint's lanes
  Gauge connections{0};  // open connections (approximate)
};

// Gateway-wide counters.
struct GatewayMetrics {
  std::array<Counter, kEventKindCount> received{};  // events read, by kind
  std::array<Counter, kEventKindCount> filtered{};  // matched no webhook, by kind
  Counter invalid_events{0};  // undecodable or oversized events (dead-lettered)
  Counter streams_opened{0};
  Counter streams_refused{0};  // protocol errors, limits
  Gauge streams_open{0};
  Gauge queue_events{0};  // events held, over all streams
  Gauge queue_bytes{0};
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_METRICS_H_
