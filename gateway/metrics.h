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

// A latency histogram with fixed buckets (seconds), lock-free to observe.
class Histogram {
 public:
  // Upper bounds in seconds, from 1 ms to 60 s; +Inf is implicit.
  static constexpr std::array<double, 14> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,     10,   60};

  void Observe(double seconds) {
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<uint64_t>(seconds > 0 ? seconds * 1e6 : 0),
                          std::memory_order_relaxed);
  }
  // Count in bucket i alone (not cumulative); i == kBounds.size() is +Inf.
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum_seconds() const { return sum_micros_.load(std::memory_order_relaxed) / 1e6; }

 private:
  std::array<Counter, kBounds.size() + 1> buckets_{};
  Counter sum_micros_{0};
};

// Counters of one webhook endpoint. Plain atomics: written on the delivery
// path with relaxed increments, read by the metrics exporter.
struct EndpointMetrics {
  std::string webhook;
  Counter delivered{0};         // events finished with a 2xx
  Counter dead_lettered{0};     // events given up on
  Counter retries{0};           // attempts after the first
  Counter outbound_refused{0};  // connections refused by the outbound policy
  // Responses by status class: index 0 for "no response", 1..5 for 1xx..5xx.
  std::array<Counter, 6> responses{};
  Histogram request_seconds;     // one HTTP attempt, any outcome
  Histogram end_to_end_seconds;  // event time to its 2xx
  Gauge queued{0};               // events waiting in this endpoint's lanes
  Gauge parked{0};               // of those, parked (their streams let go)
  Counter parked_total{0};       // events parked since start
  Counter spool_errors{0};       // spool writes failed, unreadable spool lines
  Gauge connections{0};          // open connections (approximate)
};

// Gateway-wide counters.
struct GatewayMetrics {
  std::array<Counter, kEventKindCount> received{};  // events read, by kind
  std::array<Counter, kEventKindCount> filtered{};  // matched no webhook, by kind
  Counter invalid_events{0};  // undecodable or oversized events (dead-lettered)
  Counter streams_opened{0};
  Counter streams_refused{0};          // protocol errors, limits
  Counter streams_unauthenticated{0};  // missing or wrong bearer token
  Counter streams_peer_limit{0};       // over max_streams_per_peer
  Counter streams_cancelled{0};        // ended by the adapter or a broken connection
  Counter streams_aged_out{0};         // sent GoAway at max_connection_age
  Gauge streams_open{0};
  Gauge queue_events{0};  // events held, over all streams
  Gauge queue_bytes{0};
};

}  // namespace webhookgw

#endif  // WEBHOOKGW_GATEWAY_METRICS_H_
