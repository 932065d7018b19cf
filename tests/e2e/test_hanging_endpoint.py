"""Scenario e: two endpoints, one of which accepts connections and never
answers. The healthy endpoint's throughput and latency (sink receipt time
minus event time) are measured alone and beside the hanging one, and
printed as ratios.

Twice as many events as the adapter's unacked window (4 streams x 5,000)
are sent: without parking, the window would fill with events the hanging
endpoint holds and the healthy one would stop at 20,000. The test asserts
that the healthy endpoint received every event, in order, that every
event was acked to the generator, and that the hanging endpoint parked
events to let that happen."""

import json
import time

import harness

COUNT = 40000
RATE = 8000
WINDOW = 4 * 5000  # eventgen's default streams x max_unacked
CLIENTS = 1000


def figures(records):
    """(events/s, p50 ms, p99 ms) of a sink's records."""
    times = [r["t_ms"] for r in records]
    span = max(1, max(times) - min(times))
    lat = sorted(r["t_ms"] - json.loads(r["body"])["ts"] for r in records)
    return (len(records) * 1000.0 / span, lat[len(lat) // 2],
            lat[min(len(lat) - 1, int(len(lat) * 0.99))])


def run(h, tag, hanging_port):
    _, port, out = h.start_sink(tag=tag)
    webhooks = [{"name": "healthy", "url": "http://127.0.0.1:%d/hook" % port,
                 "events": [("on_message_publish", None)]}]
    if hanging_port:
        webhooks.append({"name": "hanging", "url": "http://127.0.0.1:%d/hook" % hanging_port,
                         "events": [("on_message_publish", None)], "pool_size": 8,
                         "request_timeout": "2s", "retry": {"max_attempts": 2}})
    gw = h.start_gateway(harness.gateway_config(webhooks), tag="gw-" + tag)
    assert COUNT > WINDOW
    # At a fixed rate the healthy endpoint keeps up in both runs, so its
    # latency compares like with like; at full speed the ratio would
    # mostly measure two endpoints sharing 2 cores. Emitting starts once
    # the streams are up, so connection setup is not counted as latency.
    gen = h.start_eventgen(gw.target, "--clients", str(CLIENTS), "--count", str(COUNT),
                           "--rate", str(RATE), "--kinds", "publish", "--drain-timeout", "60",
                           "--wait-streams", "10",
                           tag="eventgen-" + tag)
    harness.wait_for(lambda: len(harness.read_sink(out)) >= COUNT, 120,
                     what="%s: every event at the healthy sink" % tag)
    r = h.eventgen_result(gen, tag="eventgen-" + tag, timeout=120)
    assert r["acked"] == COUNT, r
    if hanging_port:
        m = gw.metrics()
        parked = m['webhookgw_parked_total{webhook="hanging"}']
        print("%s: hanging endpoint parked %d events, holds %d" %
              (tag, parked, m['webhookgw_parked_events{webhook="hanging"}']))
        # Everything past the window had to be parked for the generator
        # to get its acks.
        assert parked >= COUNT - WINDOW, parked
        assert m['webhookgw_parked_total{webhook="healthy"}'] == 0
    records = harness.read_sink(out)
    tally = harness.Tally(records, COUNT, CLIENTS)
    print("%s: %s" % (tag, tally.describe()))
    assert tally.lost == 0 and not tally.order_violations, tally.describe()
    assert tally.duplicated == 0, tally.describe()
    gw.proc.kill()
    return tally, figures(records)


def test(h):
    t0 = time.monotonic()
    _, alone = run(h, "alone", None)
    _, hanging_port, _ = h.start_sink("--hang", out=False, tag="hang")
    tally, beside = run(h, "beside", hanging_port)
    seconds = time.monotonic() - t0
    print("healthy endpoint alone:           %8.0f events/s, p50 %4d ms, p99 %4d ms" % alone)
    print("healthy beside a hanging one:     %8.0f events/s, p50 %4d ms, p99 %4d ms" % beside)
    print("ratios (beside / alone):          throughput %.2f, p50 %.2f, p99 %.2f" %
          (beside[0] / alone[0], beside[1] / max(1, alone[1]), beside[2] / max(1, alone[2])))
    harness.summary("e_hanging_endpoint", COUNT, tally.distinct, tally.duplicated, 0, tally.lost,
                    seconds, "throughput_ratio=%.2f p50_ratio=%.2f p99_ratio=%.2f" %
                    (beside[0] / alone[0], beside[1] / max(1, alone[1]),
                     beside[2] / max(1, alone[2])))


if __name__ == "__main__":
    harness.main(test, "hanging_endpoint")
