"""Scenario e: two endpoints, one of which accepts connections and never
answers. The healthy endpoint's throughput and latency (sink receipt time
minus event time) are measured alone and beside the hanging one, and
printed as ratios; the test asserts only that the healthy endpoint
received every event, in order."""

import json
import time

import harness

COUNT = 20000
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
    # The window holds every event, so acks held back by the hanging
    # endpoint never stop the generator.
    gen = h.start_eventgen(gw.target, "--clients", str(CLIENTS), "--count", str(COUNT),
                           "--kinds", "publish", "--max-unacked", str(COUNT),
                           "--drain-timeout", "2", tag="eventgen-" + tag)
    harness.wait_for(lambda: len(harness.read_sink(out)) >= COUNT, 120,
                     what="%s: every event at the healthy sink" % tag)
    gen.wait(timeout=60)
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
