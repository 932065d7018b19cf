#ifndef WEBHOOKGW_TESTS_TEST_EVENTS_H_
#define WEBHOOKGW_TESTS_TEST_EVENTS_H_

#include <string>

#include "webhookgw/v1/gateway.pb.h"

namespace webhookgw::testing {

// Builders for events as an adapter would send them, for tests.
inline v1::Event BaseEvent(uint64_t sequence) {
  v1::Event e;
  e.set_node("node-a");
  e.set_incarnation(7);
  e.set_sequence(sequence);
  e.mutable_time()->set_seconds(1706703724);
  e.mutable_time()->set_nanos(960000000);
  return e;
}

inline v1::Event Publish(uint64_t seq, const std::string& client, const std::string& topic,
                         const std::string& payload, int qos = 1, bool retain = false) {
  v1::Event e = BaseEvent(seq);
  auto* m = e.mutable_message_publish();
  m->set_from_client_id(client);
  m->set_from_username("u1");
  m->set_topic(topic);
  m->set_qos(qos);
  m->set_retain(retain);
  m->set_payload(payload);
  return e;
}

}  // namespace webhookgw::testing

#endif  // WEBHOOKGW_TESTS_TEST_EVENTS_H_
