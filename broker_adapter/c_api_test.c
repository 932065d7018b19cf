/* Uses the adapter through its C header only, compiled as C99: emits to a
 * target where nothing listens and checks the counters, then destroys the
 * adapter without waiting. Exits non-zero on the first failed check. */
#include <stdio.h>
#include <string.h>

#include "broker_adapter/webhookgw_adapter.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

static int log_lines = 0;

static void count_log(void* ctx, wgw_log_level level, const char* message) {
  (void)ctx;
  (void)level;
  (void)message;
  ++log_lines;
}

int main(void) {
  wgw_adapter_options options;
  wgw_adapter_stats stats;
  wgw_event ev;
  char err[256];
  wgw_adapter* adapter;
  int i;
  int ok = 0;
  int full = 0;

  /* Missing target: refused with a message. */
  wgw_adapter_options_init(&options);
  CHECK(options.streams == 4);
  CHECK(options.queue_max_events == 100000);
  err[0] = '\0';
  CHECK(wgw_adapter_create(&options, err, sizeof err) == NULL);
  CHECK(strstr(err, "target") != NULL);

  /* Port 1 on loopback: nothing listens, every connect fails fast. */
  options.target = "ipv4:127.0.0.1:1";
  options.node = "c-test";
  options.queue_max_events = 100;
  options.streams = 2;
  options.log = count_log;
  adapter = wgw_adapter_create(&options, err, sizeof err);
  CHECK(adapter != NULL);
  if (adapter == NULL) return 1;

  memset(&ev, 0, sizeof ev);
  ev.kind = WGW_MESSAGE_PUBLISH;
  ev.clientid = "c1";
  ev.username = NULL;
  ev.topic = "a/b";
  ev.payload = "hello";
  ev.payload_len = 5;
  for (i = 0; i < 150; ++i) {
    int rc = wgw_adapter_emit(adapter, &ev);
    if (rc == WGW_OK) ++ok;
    if (rc == WGW_DROPPED_FULL) ++full;
  }
  CHECK(ok == 100);
  CHECK(full == 50);

  ev.clientid = NULL;
  CHECK(wgw_adapter_emit(adapter, &ev) == WGW_DROPPED_INVALID);
  ev.clientid = "c1";
  ev.kind = (wgw_event_kind)12;
  CHECK(wgw_adapter_emit(adapter, &ev) == WGW_DROPPED_INVALID);
  CHECK(wgw_adapter_emit(adapter, NULL) == WGW_DROPPED_INVALID);

  wgw_adapter_get_stats(adapter, &stats);
  CHECK(stats.accepted == 100);
  CHECK(stats.dropped_full == 50);
  CHECK(stats.dropped_invalid == 3);
  CHECK(stats.acked == 0);
  CHECK(stats.queue_events == 100);
  CHECK(stats.queue_bytes > 0);
  CHECK(stats.streams_up == 0);

  wgw_adapter_destroy(adapter, 0);

  /* An adapter that never saw an event stops cleanly too. */
  wgw_adapter_options_init(&options);
  options.target = "ipv4:127.0.0.1:1";
  options.node = "c-test";
  adapter = wgw_adapter_create(&options, NULL, 0);
  CHECK(adapter != NULL);
  wgw_adapter_destroy(adapter, 100);

  if (failures == 0) printf("c_api_test: ok\n");
  return failures == 0 ? 0 : 1;
}
