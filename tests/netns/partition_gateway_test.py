#!/usr/bin/python3
"""A gateway's network is cut in the middle of a 100,000-event stream.

Hosts: broker (webhook-eventgen), gw1..gw3 (webhook-gateway), ep
(webhook-sink). Once the sink has 10,000 events, the gateway holding
streams is cut off (its switch port down: silence, no reset). Checks:
- the adapter abandons every stream it had there (keepalive or ack
  timeout, default settings) and resends on the other gateways; the
  detection time, cut to the last "stream ... ended ... peer=<gw1>" line,
  is printed;
- the cut gateway frees those streams itself (its keepalive pings go
  unanswered): its webhookgw_streams_open falls to 0;
- nothing is lost at the sink; duplicates are at most the unacked window
  of the streams that were on the cut gateway;
- after the link is back, the gateway is used again: it gets streams and
  events (max_connection_age moves streams, so the adapter re-picks).

usage: partition_gateway_test.py WEBHOOK_GATEWAY WEBHOOK_EVENTGEN WEBHOOK_SINK
"""
import time

import common
import harness

COUNT = 100000
RATE = 1500
STREAMS = 6
CLIENTS = 300
MAX_UNACKED = 1000
GATEWAYS = ["gw1", "gw2", "gw3"]
HOSTS = {"broker": 10, "gw1": 21, "gw2": 22, "gw3": 23, "ep": 31}
PUBLISHES = 'webhookgw_events_received_total{event="on_message_publish"}'


def test(s):
    _, out = s.start_sink("ep")
    config = common.gateway_config(
        [{"name": "ep", "url": "http://%s:%d/hook" % (s.net["ep"].ip, common.SINK_PORT),
          "events": [("on_message_publish", None)],
          "retry": {"max_backoff": "2s"}, "connect_timeout": "1s", "request_timeout": "2s"}],
        extra="max_connection_age = 20s\n  max_connection_age_grace = 30s")
    for gw in GATEWAYS:
        s.start_gateway(gw, config.replace('dead_letter_path = ""',
                                           'dead_letter_path = "%s"' % s.path(gw + "-dead.jsonl")))
    gen, log = s.start_eventgen("broker", GATEWAYS, "--streams", str(STREAMS), "--count",
                                str(COUNT), "--rate", str(RATE), "--kinds", "publish",
                                "--clients", str(CLIENTS), "--max-unacked", str(MAX_UNACKED),
                                "--drain-timeout", "90")
    harness.wait_for(lambda: len(harness.read_sink(out)) >= 10000, 60, what="10,000 delivered")

    # Cut the gateway with the most streams.
    open_streams = {gw: s.metrics(gw)["webhookgw_streams_open"] for gw in GATEWAYS}
    victim = max(GATEWAYS, key=lambda gw: open_streams[gw])
    on_victim = int(open_streams[victim])
    assert on_victim > 0, "no gateway holds a stream: %s" % open_streams
    peer = "peer=ipv4:%s:%d" % (s.net[victim].ip, common.GRPC_PORT)
    t_cut = time.monotonic()
    s.net[victim].partition()
    print("cut %s holding %d of %d streams: %s" % (victim, on_victim, STREAMS, open_streams),
          flush=True)

    # The adapter: every stream that was there ends (or is abandoned).
    def ended():
        return log.since(t_cut, r"stream \d+ (ended call=\d+ code=(\d+).*%s|ack timeout)" % peer)
    harness.wait_for(lambda: len([1 for _, m in ended() if m.group(2)]) >= on_victim, 90,
                     what="the adapter to abandon the %d streams on %s" % (on_victim, victim))
    events = ended()
    first = events[0][0] - t_cut
    last = [t for t, m in events if m.group(2)][on_victim - 1] - t_cut
    how = sorted(set(m.group(0).split(" call=")[0].split(" ", 2)[-1] + (
        " code=" + m.group(2) if m.group(2) else "") for _, m in events))
    print("adapter detection: first %.1f s, all %d streams %.1f s after the cut (%s)" %
          (first, on_victim, last, ", ".join(how)), flush=True)

    # The cut gateway: its keepalive drops the silent adapter's connection.
    harness.wait_for(lambda: s.metrics(victim)["webhookgw_streams_open"] == 0, 60,
                     what="%s to free its streams" % victim)
    gw_side = time.monotonic() - t_cut
    print("gateway-side detection: %s streams_open 0 after %.1f s" % (victim, gw_side),
          flush=True)

    # Heal; the gateway must be used again while the stream goes on.
    before = s.metrics(victim)
    s.net[victim].heal()
    t_heal = time.monotonic()
    harness.wait_for(lambda: s.metrics(victim)[PUBLISHES] > before[PUBLISHES] + 100 and
                     s.metrics(victim)["webhookgw_streams_open"] > 0, 90,
                     what="%s to get streams and events after the heal" % victim)
    rejoin = time.monotonic() - t_heal
    print("rejoin: %s has %d streams and new events %.1f s after the heal" %
          (victim, s.metrics(victim)["webhookgw_streams_open"], rejoin), flush=True)
    assert gen.poll() is None, "the stream ended before the healed gateway was used again"

    r = s.eventgen_result(gen, timeout=300)
    # What the cut gateway still held is delivered (late duplicates) once
    # it reaches the sink again; wait for every gateway to be empty.
    harness.wait_for(lambda: all(s.metrics(gw)["webhookgw_queue_events"] == 0 for gw in GATEWAYS),
                     60, what="gateways to finish")
    time.sleep(1)
    t = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
    dead = sum(len(harness.read_sink(s.path(gw + "-dead.jsonl"))) for gw in GATEWAYS)
    print("eventgen: %s" % r, flush=True)
    print("sink: %s" % t.describe(), flush=True)
    common.row("gateway partitioned (%d of %d streams)" % (on_victim, STREAMS),
               "adapter %.1f s (all streams), gateway %.1f s; rejoin %.1f s after heal" %
               (last, gw_side, rejoin), COUNT, t.distinct, t.duplicated, dead, t.lost,
               "resent=%d ack_timeouts=%d" % (r["resent"], r["ack_timeouts"]))
    assert r["acked"] == COUNT and r["dropped_stopped"] == 0, r
    assert t.lost == 0 and not t.unexpected, t.describe()
    assert dead == 0, "%d events dead-lettered" % dead
    bound = on_victim * MAX_UNACKED
    assert t.duplicated <= bound, "duplicates %d above the unacked window %d" % (t.duplicated,
                                                                               bound)


if __name__ == "__main__":
    common.main(test, "a", HOSTS)
