// Cost of the per-event hot path: rendering a body and matching filters.

#include <string>

#include "benchmark/benchmark.h"
#include "gateway/body.h"
#include "gateway/topic_filter.h"

namespace webhookgw {
namespace {

// A publish with a 300-byte payload: JSON, as sensors mostly send, which
// is the costly case for plain (a quote every few bytes), or prose.
v1::Event PublishEvent(bool json = true) {
  v1::Event event;
  event.set_node("nanomq@broker-1");
  event.mutable_time()->set_seconds(1706703724);
  v1::MessagePublish* m = event.mutable_message_publish();
  m->set_from_client_id("sensor-0042");
  m->set_from_username("plant7");
  m->set_topic("factory/line3/sensor/0042/telemetry");
  m->set_qos(1);
  std::string payload;
  const char* chunk = json ? R"({"t":21.5,"h":40,"id":"x\u00e9"},)"
                           : "The quick brown fox jumps over the lazy dog. ";
  while (payload.size() < 300) payload += chunk;
  payload.resize(300);
  m->set_payload(payload);
  return event;
}

void BM_RenderPublish(benchmark::State& state) {
  v1::Event event = PublishEvent();
  BodyOptions options;
  options.encoding = static_cast<PayloadEncoding>(state.range(0));
  std::string out;
  for (auto _ : state) {
    out.clear();
    RenderBody(event, options, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(state.range(0) == 0 ? "plain" : state.range(0) == 1 ? "base64" : "base62");
}
BENCHMARK(BM_RenderPublish)->Arg(0)->Arg(1)->Arg(2);

void BM_RenderPublishProse(benchmark::State& state) {
  v1::Event event = PublishEvent(/*json=*/false);
  std::string out;
  for (auto _ : state) {
    out.clear();
    RenderBody(event, {}, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderPublishProse);

// A fresh string per body, as when each body is handed to its own request.
void BM_RenderPublishFreshString(benchmark::State& state) {
  v1::Event event = PublishEvent();
  for (auto _ : state) {
    std::string out;
    RenderBody(event, {}, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RenderPublishFreshString);

void BM_Base62(benchmark::State& state) {
  std::string bytes(state.range(0), '\x9c');
  std::string out;
  for (auto _ : state) {
    out.clear();
    AppendBase62(bytes, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Base62)->Arg(300)->Arg(1024)->Arg(4096);

void BM_TopicFilterMatches(benchmark::State& state) {
  static const char* const kFilters[] = {"factory/line3/sensor/0042/telemetry",
                                         "factory/+/sensor/+/telemetry", "factory/#",
                                         "factory/line4/#"};
  TopicFilter filter = *TopicFilter::Parse(kFilters[state.range(0)]);
  const std::string topic = "factory/line3/sensor/0042/telemetry";
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.Matches(topic));
  }
  state.SetLabel(kFilters[state.range(0)]);
}
BENCHMARK(BM_TopicFilterMatches)->DenseRange(0, 3);

}  // namespace
}  // namespace webhookgw
