"""Scenario a: 4 adapter streams, 1,000 clients, a real gateway and a real
sink. Every client's events reach the sink in emit order; none is lost."""

import time

import harness

COUNT = 50000
CLIENTS = 1000


def test(h):
    _, port, out = h.start_sink()
    gw = h.start_gateway(harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)]}]))
    t0 = time.monotonic()
    r = h.run_eventgen(gw.target, "--streams", "4", "--clients", str(CLIENTS), "--count",
                       str(COUNT), "--kinds", "publish", "--drain-timeout", "120")
    seconds = time.monotonic() - t0
    assert r["acked"] == COUNT, r
    tally = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
    print(tally.describe())
    harness.summary("a_ordering", COUNT, tally.distinct, tally.duplicated, 0, tally.lost, seconds,
                    "acked_per_s=%.0f" % r["acked_per_second"])
    assert tally.lost == 0, tally.describe()
    assert not tally.order_violations, tally.order_violations[:10]
    assert not tally.unexpected, tally.unexpected[:10]
    # No gateway restarted, so nothing may arrive twice either.
    assert tally.duplicated == 0, tally.describe()


if __name__ == "__main__":
    harness.main(test, "ordering")
