// Measures MQTT publish ingest of a broker: one subscriber on TOPIC/#, one
// publisher sending COUNT QoS 0 messages of PAYLOAD bytes as fast as
// libmosquitto writes them, and the rate at which they reach the subscriber
// (first publish to last receipt). Prints one JSON object on stdout.
// QoS 0 may lose messages under overload; the receipt count says how many.
//
//   mqtt_flood PORT COUNT PAYLOAD_BYTES [IDLE_TIMEOUT_S]
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long received;
static atomic_int subscribed;
static struct timespec last_receipt;

static double Seconds(const struct timespec* t) { return t->tv_sec + t->tv_nsec / 1e9; }

static void OnSubscribe(struct mosquitto* m, void* arg, int mid, int n, const int* qos) {
  (void)m, (void)arg, (void)mid, (void)n, (void)qos;
  atomic_store(&subscribed, 1);
}

// Runs on the subscriber's network thread only, so last_receipt needs no lock;
// the main thread reads it after that thread has stopped.
static void OnMessage(struct mosquitto* m, void* arg, const struct mosquitto_message* msg) {
  (void)m, (void)arg, (void)msg;
  atomic_fetch_add(&received, 1);
  clock_gettime(CLOCK_MONOTONIC, &last_receipt);
}

static struct mosquitto* Connect(const char* id, int port) {
  struct mosquitto* m = mosquitto_new(id, true, NULL);
  if (m == NULL || mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
    fprintf(stderr, "mqtt_flood: %s cannot connect to 127.0.0.1:%d\n", id, port);
    exit(1);
  }
  return m;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: mqtt_flood PORT COUNT PAYLOAD_BYTES [IDLE_TIMEOUT_S]\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  const long count = atol(argv[2]);
  const int payload_bytes = atoi(argv[3]);
  const double idle_timeout = argc > 4 ? atof(argv[4]) : 3.0;
  mosquitto_lib_init();

  struct mosquitto* sub = Connect("flood-sub", port);
  mosquitto_subscribe_callback_set(sub, OnSubscribe);
  mosquitto_message_callback_set(sub, OnMessage);
  mosquitto_subscribe(sub, NULL, "flood/#", 0);
  mosquitto_loop_start(sub);
  for (int i = 0; i < 500 && !atomic_load(&subscribed); ++i) usleep(10000);
  if (!atomic_load(&subscribed)) {
    fprintf(stderr, "mqtt_flood: no SUBACK\n");
    return 1;
  }

  struct mosquitto* pub = Connect("flood-pub", port);
  char* payload = malloc(payload_bytes + 1);
  memset(payload, 'x', payload_bytes);
  char topic[64];
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  // The publisher's own loop runs in this thread: publish queues the packet,
  // loop_write drains the socket, so the client never buffers the whole run.
  for (long i = 0; i < count; ++i) {
    snprintf(topic, sizeof topic, "flood/%ld", i % 100);
    int rc = mosquitto_publish(pub, NULL, topic, payload_bytes, payload, 0, false);
    if (rc != MOSQ_ERR_SUCCESS) {
      fprintf(stderr, "mqtt_flood: publish: %s\n", mosquitto_strerror(rc));
      return 1;
    }
    if (i % 64 == 63) mosquitto_loop(pub, 0, 1);
  }
  while (mosquitto_want_write(pub)) mosquitto_loop(pub, 10, 1);
  clock_gettime(CLOCK_MONOTONIC, &now);
  const double publish_seconds = Seconds(&now) - Seconds(&start);

  // Wait until everything arrived or nothing arrived for idle_timeout.
  long seen = -1;
  double idle_since = Seconds(&now);
  while (atomic_load(&received) < count) {
    usleep(10000);
    clock_gettime(CLOCK_MONOTONIC, &now);
    long r = atomic_load(&received);
    if (r != seen) {
      seen = r;
      idle_since = Seconds(&now);
    } else if (Seconds(&now) - idle_since > idle_timeout) {
      break;
    }
  }
  mosquitto_disconnect(sub);
  mosquitto_loop_stop(sub, false);
  const long got = atomic_load(&received);
  const double seconds = Seconds(&last_receipt) - Seconds(&start);
  printf(
      "{\"sent\":%ld,\"received\":%ld,\"publish_seconds\":%.6f,\"seconds\":%.6f,"
      "\"received_per_second\":%.1f}\n",
      count, got, publish_seconds, seconds, got > 0 && seconds > 0 ? got / seconds : 0.0);
  mosquitto_disconnect(pub);
  mosquitto_destroy(pub);
  mosquitto_destroy(sub);
  mosquitto_lib_cleanup();
  return 0;
}
