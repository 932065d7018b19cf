"""Scenario g: SIGTERM to one of two gateways during a stream. Nothing is
lost (the adapter resends what the stopping gateway did not accept), the
gateway exits 0 within its drain grace, and /readyz answers 503 while it
drains."""

import signal
import time

import harness

COUNT = 15000
CLIENTS = 1000
GRACE_S = 15


def test(h):
    # A slow endpoint, so that the stopping gateway has work to drain.
    _, port, out = h.start_sink("--delay-ms", "50")
    config = harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)]}], drain_grace="%ds" % GRACE_S)
    gw1 = h.start_gateway(config, tag="gw1")
    gw2 = h.start_gateway(config, tag="gw2")
    assert harness.http_get("http://127.0.0.1:%d/readyz" % gw1.admin_port)[0] == 200
    target = "ipv4:127.0.0.1:%d,127.0.0.1:%d" % (gw1.grpc_port, gw2.grpc_port)
    t0 = time.monotonic()
    gen = h.start_eventgen(target, "--clients", str(CLIENTS), "--count", str(COUNT),
                           "--rate", "2000", "--kinds", "publish", "--max-unacked", "2000",
                           "--drain-timeout", "120")
    # The adapter spreads its streams at random (2/2, 3/1 or 4/0): stop a
    # gateway that holds events.
    busy = []

    def holding():
        busy[:] = [g for g in (gw1, gw2) if g.metrics()["webhookgw_queue_events"] > 500]
        return bool(busy)

    harness.wait_for(holding, 60, what="events held by a gateway")
    victim = busy[0]
    victim.proc.send_signal(signal.SIGTERM)
    sent_at = time.monotonic()
    readyz = []
    while victim.proc.poll() is None and time.monotonic() < sent_at + GRACE_S + 10:
        readyz.append(harness.http_get("http://127.0.0.1:%d/readyz" % victim.admin_port,
                                       timeout=1)[0])
        time.sleep(0.02)
    took = time.monotonic() - sent_at
    assert victim.proc.poll() is not None, "gateway still running %.0f s after SIGTERM" % took
    print("gateway exited %d after %.2f s; /readyz answers while draining: %s" %
          (victim.proc.returncode, took, sorted(set(readyz))))
    assert victim.proc.returncode == 0
    assert took <= GRACE_S + 2, "drain took %.1f s with a %d s grace" % (took, GRACE_S)
    # A poll may beat the signal's handling and see 200; once draining it
    # must say 503 until the listener goes (0: nothing answers).
    assert 503 in readyz, readyz
    assert 200 not in readyz[readyz.index(503):], readyz

    r = h.eventgen_result(gen, timeout=300)
    seconds = time.monotonic() - t0
    assert r["acked"] == COUNT and r["dropped_stopped"] == 0 and r["dropped_full"] == 0, r
    tally = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
    print(tally.describe())
    harness.summary("g_sigterm_drain", COUNT, tally.distinct, tally.duplicated, 0, tally.lost,
                    seconds, "drain_s=%.2f resent=%d" % (took, r["resent"]))
    assert tally.lost == 0, tally.describe()
    assert not tally.order_violations and not tally.unexpected, tally.describe()


if __name__ == "__main__":
    harness.main(test, "sigterm_drain")
