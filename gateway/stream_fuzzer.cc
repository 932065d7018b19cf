// Feeds arbitrary bytes to the gateway's event path: they are parsed as a
// v1::StreamRequest, as gRPC would, and each event of a batch goes through
// the stream's own validation (ValidateEvent), the router and body
// rendering for every webhook it matches, and signing. Nothing may crash,
// and every accepted event must render a body that starts as a JSON object.
//   stream_fuzzer -max_len=65536 CORPUS_DIR

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "gateway/body.h"
#include "gateway/config.h"
#include "gateway/event_kind.h"
#include "gateway/gateway.h"
#include "gateway/job.h"
#include "gateway/router.h"
#include "gateway/signing.h"
#include "webhookgw/v1/gateway.pb.h"

namespace {

// Webhooks with filters on each event kind that has a topic, wildcards
// included, and each payload encoding.
constexpr char kConfig[] = R"(
webhooks = [
  { name = all, url = "http://127.0.0.1:1/", body.encoding = base64,
    events = [ { event = on_client_connect }, { event = on_client_connack },
               { event = on_client_connected }, { event = on_client_disconnected },
               { event = on_session_terminated },
               { event = on_message_publish, topic = "#" } ] }
  { name = topics, url = "http://127.0.0.1:1/", body.encoding = base62,
    body.base62_max_bytes = 64,
    events = [ { event = on_message_publish, topic = "a/+/c" },
               { event = on_message_delivered, topic = "$SYS/#" },
               { event = on_message_acked, topic = "+" },
               { event = on_client_subscribe, topic = "a/#" },
               { event = on_client_unsubscribe },
               { event = on_session_subscribed }, { event = on_session_unsubscribed } ] }
  { name = plain, url = "http://127.0.0.1:1/", body.username_absent = null,
    events = [ { event = on_message_publish, topic = "+/+" } ] }
]
)";

struct Fixture {
  webhookgw::Config config;
  webhookgw::Router router;
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    absl::StatusOr<webhookgw::Config> config = webhookgw::ParseConfig(kConfig, "fuzz.conf");
    if (!config.ok()) abort();
    absl::StatusOr<webhookgw::Router> router = webhookgw::Router::Build(config->webhooks);
    if (!router.ok()) abort();
    return new Fixture{*std::move(config), *std::move(router)};
  }();
  return *fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Fixture& fixture = GetFixture();
  webhookgw::v1::StreamRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (!request.has_batch()) return 0;
  const std::vector<std::string> secrets = {"0123456789abcdef"};
  std::vector<uint32_t> targets;
  std::string body;
  for (webhookgw::v1::Event& event : *request.mutable_batch()->mutable_events()) {
    if (event.node().empty()) event.set_node("fuzz-node");
    webhookgw::EventKind kind;
    size_t bytes = 0;
    // A small bound so that the oversized branch is reached too.
    std::string invalid = webhookgw::ValidateEvent(event, 4096, &kind, &bytes);
    if (!invalid.empty()) continue;
    fixture.router.Match(kind, webhookgw::TopicOf(event), &targets);
    for (uint32_t target : targets) {
      if (target >= fixture.config.webhooks.size()) abort();
      body.clear();
      if (!webhookgw::RenderBody(event, fixture.config.webhooks[target].body, &body)) abort();
      if (body.empty() || body.front() != '{' || body.back() != '}') abort();
      std::string signature =
          webhookgw::WebhookSignature(secrets, webhookgw::EventId(event), 1700000000, body);
      if (signature.rfind("v1,", 0) != 0) abort();
    }
  }
  return 0;
}
