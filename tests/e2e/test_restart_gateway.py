"""Scenario b: a gateway stopped with SIGTERM and restarted on the same port
mid-stream. Every event reaches the sink at least once; duplicates stay
within streams x max_unacked_per_stream."""

import signal
import time

import harness

COUNT = 50000
CLIENTS = 1000
STREAMS = 4
MAX_UNACKED = 5000
GRACE_S = 10


def test(h):
    _, port, out = h.start_sink()
    grpc_port = harness.free_port()
    config = harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)]}], grpc_port=grpc_port,
        drain_grace="%ds" % GRACE_S)
    gw = h.start_gateway(config, tag="gw1")
    t0 = time.monotonic()
    gen = h.start_eventgen(gw.target, "--streams", str(STREAMS), "--clients", str(CLIENTS),
                           "--count", str(COUNT), "--rate", "10000", "--kinds", "publish",
                           "--max-unacked", str(MAX_UNACKED), "--drain-timeout", "120")
    harness.wait_for(lambda: len(harness.read_sink(out)) >= COUNT // 5, 60,
                     what="a fifth delivered")
    gw.proc.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    assert gw.proc.wait(timeout=30) == 0, "gateway exited %s" % gw.proc.returncode
    drain_s = time.monotonic() - stopping
    # The sink is fast, so draining takes milliseconds; a drain that lasts
    # the whole grace means a stream was never finished and was cut off.
    assert drain_s < GRACE_S - 1, "drain lasted %.1f s of a %d s grace" % (drain_s, GRACE_S)
    stopped_at = len(harness.read_sink(out))
    gw2 = h.start_gateway(config, tag="gw2")
    assert gw2.grpc_port == grpc_port
    r = h.eventgen_result(gen, timeout=300)
    seconds = time.monotonic() - t0
    assert r["acked"] == COUNT and r["dropped_stopped"] == 0, r
    assert r["dropped_full"] == 0, r

    tally = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
    print(tally.describe())
    print("stopped after %d deliveries, drained in %.2f s; adapter resent %d" %
          (stopped_at, drain_s, r["resent"]))
    harness.summary("b_restart_gateway", COUNT, tally.distinct, tally.duplicated, 0, tally.lost,
                    seconds, "drain_s=%.2f resent=%d" % (drain_s, r["resent"]))
    assert tally.lost == 0, tally.describe()
    assert not tally.order_violations, tally.order_violations[:10]
    assert not tally.unexpected, tally.unexpected[:10]
    assert tally.duplicated <= STREAMS * MAX_UNACKED, tally.describe()


if __name__ == "__main__":
    harness.main(test, "restart_gateway")
