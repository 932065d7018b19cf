/*
 * C API of the broker adapter: the part of the webhook gateway that lives in
 * a broker. A broker creates one adapter, calls wgw_adapter_emit() from its
 * own threads for every event, and destroys the adapter at shutdown.
 *
 * wgw_adapter_emit() never blocks and never waits for the network: it copies
 * the event into a bounded queue and returns. A background thread batches
 * queued events, streams them to gateways over gRPC, keeps every event until
 * a gateway acknowledges it, and resends unacknowledged events after a
 * reconnect. When the queue is full the configured drop policy applies, and
 * every drop is counted.
 *
 * Thread safety: every function may be called from any thread, except that
 * wgw_adapter_destroy() must not race with other calls on the same handle.
 */
#ifndef WEBHOOKGW_BROKER_ADAPTER_WEBHOOKGW_ADAPTER_H_
#define WEBHOOKGW_BROKER_ADAPTER_WEBHOOKGW_ADAPTER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wgw_adapter wgw_adapter;

/* Event kinds: the twelve webhook events, in NanoMQ's order. */
typedef enum wgw_event_kind {
  WGW_CLIENT_CONNECT = 0,
  WGW_CLIENT_CONNACK = 1,
  WGW_CLIENT_CONNECTED = 2,
  WGW_CLIENT_DISCONNECTED = 3,
  WGW_CLIENT_SUBSCRIBE = 4,
  WGW_CLIENT_UNSUBSCRIBE = 5,
  WGW_SESSION_SUBSCRIBED = 6,
  WGW_SESSION_UNSUBSCRIBED = 7,
  WGW_SESSION_TERMINATED = 8,
  WGW_MESSAGE_PUBLISH = 9,
  WGW_MESSAGE_DELIVERED = 10,
  WGW_MESSAGE_ACKED = 11
} wgw_event_kind;

/* What to shed when the queue is full. */
typedef enum wgw_drop_policy {
  WGW_DROP_NEWEST = 0, /* refuse the event being emitted */
  WGW_DROP_OLDEST = 1  /* evict the oldest queued (not yet sent) event */
} wgw_drop_policy;

typedef enum wgw_log_level {
  WGW_LOG_DEBUG = 0,
  WGW_LOG_INFO = 1,
  WGW_LOG_WARN = 2,
  WGW_LOG_ERROR = 3
} wgw_log_level;

/* Called from the adapter's thread; must not call back into the adapter. */
typedef void (*wgw_log_fn)(void* ctx, wgw_log_level level, const char* message);

typedef struct wgw_adapter_options {
  /* gRPC target: "dns:///gateway:7070", "ipv4:127.0.0.1:7070,127.0.0.1:7071"
   * or "host:port". Required. */
  const char* target;
  /* Broker node name, the `node` of every body. Required. */
  const char* node;
  /* Parallel streams; events are sharded over them by client id. */
  uint32_t streams;
  /* Queue bounds, over all streams: events not yet acknowledged. */
  uint64_t queue_max_events;
  uint64_t queue_max_bytes;
  wgw_drop_policy drop_policy;
  /* A batch is sent when it holds this many events or bytes, or when its
   * oldest event has waited linger_ms. */
  uint32_t batch_max_events;
  uint64_t batch_max_bytes;
  uint32_t linger_ms;
  /* At most this many events are sent and not yet acknowledged per stream. */
  uint32_t max_unacked_per_stream;
  /* Reconnect backoff: exponential from initial to max, with jitter. */
  uint32_t backoff_initial_ms;
  uint32_t backoff_max_ms;
  /* Optional log sink; NULL logs nothing. */
  wgw_log_fn log;
  void* log_ctx;
  /* TLS to the gateways: with tls_ca_file set (a PEM CA bundle) the adapter
   * connects over TLS and verifies the gateway's certificate against it.
   * tls_cert_file and tls_key_file (PEM, both or neither) are the client
   * certificate for gateways that require one. tls_server_name overrides the
   * name the certificate must carry (default: the target's host). NULL or
   * "" leaves each unset; files are read once, by wgw_adapter_create. */
  const char* tls_ca_file;
  const char* tls_cert_file;
  const char* tls_key_file;
  const char* tls_server_name;
  /* Bearer token sent with every stream ("authorization: Bearer <token>");
   * NULL or "" sends none. Copied by wgw_adapter_create and never logged. */
  const char* token;
  /* A stream with events outstanding that hears nothing from its gateway
   * (gateways repeat their last ack every few seconds while they work) for
   * ack_timeout_ms is cancelled and its events are resent on another
   * stream. 0 turns the check off. */
  uint32_t ack_timeout_ms;
  /* HTTP/2 keepalive: a ping after keepalive_time_ms without one, and the
   * connection to that gateway is dropped when the ping is unanswered for
   * keepalive_timeout_ms. Gateways refuse pings more often than their
   * keepalive_min_client_interval (5 s by default). */
  uint32_t keepalive_time_ms;
  uint32_t keepalive_timeout_ms;
} wgw_adapter_options;

/* One event. Strings are NUL-terminated UTF-8 and are copied by emit; a NULL
 * username means "the client sent none". Fields that do not apply to the
 * kind are ignored (see the table in README.md). */
typedef struct wgw_event {
  wgw_event_kind kind;
  /* Milliseconds since the Unix epoch; 0 means now. */
  int64_t time_ms;
  /* The client the event is about (subscriber for delivered/acked). */
  const char* clientid;
  const char* username;
  /* connect, connack, connected */
  const char* ipaddress;
  uint32_t keepalive;
  uint32_t proto_ver;
  /* connack: CONNACK reason code */
  uint32_t reason_code;
  /* disconnected, session_terminated */
  const char* reason;
  /* subscribe/unsubscribe filters and message topics */
  const char* topic;
  uint32_t qos;
  int retain;
  /* message events: the publisher */
  const char* from_client_id;
  const char* from_username;
  const void* payload;
  size_t payload_len;
} wgw_event;

typedef struct wgw_adapter_stats {
  uint64_t accepted;        /* emit() calls that queued the event */
  uint64_t sent;            /* events written to a stream (resends included) */
  uint64_t acked;           /* events acknowledged by a gateway */
  uint64_t resent;          /* events written again after a stream failed */
  uint64_t dropped_full;    /* shed because the queue was full */
  uint64_t dropped_invalid; /* refused because the event was malformed */
  uint64_t dropped_stopped; /* emitted after or lost at wgw_adapter_destroy */
  uint64_t queue_events;    /* events held now (queued or unacked) */
  uint64_t queue_bytes;     /* bytes held now */
  uint32_t streams_up;      /* streams connected now */
  uint64_t ack_timeouts;    /* streams cancelled by ack_timeout_ms */
} wgw_adapter_stats;

/* Return codes of wgw_adapter_emit. */
#define WGW_OK 0
#define WGW_DROPPED_FULL 1
#define WGW_DROPPED_INVALID 2
#define WGW_DROPPED_STOPPED 3

/* Fills *options with defaults (4 streams, 100000 events / 64 MiB queue,
 * drop newest, batches of 500 events / 1 MiB / 5 ms, 5000 unacked per stream,
 * backoff 100 ms to 10 s, ack timeout 20 s, keepalive 10 s / 5 s,
 * plaintext, no token). */
void wgw_adapter_options_init(wgw_adapter_options* options);

/* Starts an adapter. Returns NULL and writes a message into err (if not
 * NULL) when the options are invalid. Connecting happens in the background:
 * an unreachable gateway is not an error here. */
wgw_adapter* wgw_adapter_create(const wgw_adapter_options* options, char* err, size_t err_len);

/* Queues one event; never blocks. Returns WGW_OK or a WGW_DROPPED_* code. */
int wgw_adapter_emit(wgw_adapter* adapter, const wgw_event* event);

/* Copies the current counters. */
void wgw_adapter_get_stats(wgw_adapter* adapter, wgw_adapter_stats* stats);

/* Waits up to timeout_ms for every accepted event to be acknowledged, then
 * stops the background thread and frees the adapter. Events still unacked
 * are counted in dropped_stopped and logged. */
void wgw_adapter_destroy(wgw_adapter* adapter, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* WEBHOOKGW_BROKER_ADAPTER_WEBHOOKGW_ADAPTER_H_ */
