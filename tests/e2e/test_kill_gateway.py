"""Scenario c: kill -9 one of two gateways while 100,000 events from 1,000
clients stream to both. Every event reaches the sink; per-client order
holds except for duplicates, which stay within the adapter's unacked
window."""

import os
import time

import harness

COUNT = 100000
CLIENTS = 1000
STREAMS = 4
MAX_UNACKED = 5000


def sink_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def test(h):
    _, port, out = h.start_sink()
    config = harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)]}])
    gw1 = h.start_gateway(config, tag="gw1")
    gw2 = h.start_gateway(config, tag="gw2")
    target = "ipv4:127.0.0.1:%d,127.0.0.1:%d" % (gw1.grpc_port, gw2.grpc_port)
    t0 = time.monotonic()
    gen = h.start_eventgen(target, "--streams", str(STREAMS), "--clients", str(CLIENTS),
                           "--count", str(COUNT), "--kinds", "publish", "--max-unacked",
                           str(MAX_UNACKED), "--drain-timeout", "120")
    harness.wait_for(lambda: sink_lines(out) >= COUNT // 4, 120, what="a quarter delivered")
    # The adapter spreads its streams at random (2/2, 3/1 or 4/0): kill a
    # gateway that carries some.
    victim = gw1 if gw1.metrics()["webhookgw_streams_open"] > 0 else gw2
    m = victim.metrics()
    on_victim = m['webhookgw_events_received_total{event="on_message_publish"}']
    streams_on_victim = m["webhookgw_streams_open"]
    assert streams_on_victim > 0 and on_victim > 0, "no stream on either gateway"
    victim.proc.kill()
    victim.proc.wait()
    killed_at = sink_lines(out)
    r = h.eventgen_result(gen, timeout=300)
    seconds = time.monotonic() - t0
    assert r["acked"] == COUNT and r["dropped_stopped"] == 0, r

    tally = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
    print(tally.describe())
    print("killed a gateway carrying %d of %d streams after %d deliveries (it had read %d "
          "events); adapter resent %d" % (streams_on_victim, STREAMS, killed_at, on_victim,
                                          r["resent"]))
    harness.summary("c_kill9_gateway", COUNT, tally.distinct, tally.duplicated, 0, tally.lost,
                    seconds, "resent=%d acked_per_s=%.0f" % (r["resent"], r["acked_per_second"]))
    assert tally.lost == 0, tally.describe()
    assert not tally.order_violations, tally.order_violations[:10]
    assert not tally.unexpected, tally.unexpected[:10]
    assert tally.duplicated <= STREAMS * MAX_UNACKED, tally.describe()


if __name__ == "__main__":
    harness.main(test, "kill_gateway")
