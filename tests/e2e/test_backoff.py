"""Scenario d: the endpoint answers 503 for 20 s, then 429 with Retry-After,
then recovers. Nothing is lost, per-client order holds, the spacing of a
retried event's attempts follows the configured backoff, and Retry-After is
obeyed. Spacing is read from the sink's receipt times."""

import collections
import time

import harness

COUNT = 2000
CLIENTS = 100
FAIL_503_S = 20
FAIL_429_S = 8
RETRY_AFTER_S = 3
INITIAL_MS = 500
MAX_MS = 4000
# Receipt times are whole milliseconds taken on another process's clock.
CLOCK_SLACK_MS = 5
# How much later than its due time an attempt may come (a worker busy, a
# request in flight). Generous: only an attempt far off its schedule fails.
LATE_SLACK_MS = 1500


def backoff_ms(attempt):
    """The upper end of the delay after attempt `attempt` (1-based)."""
    return min(INITIAL_MS * 2 ** (attempt - 1), MAX_MS)


def test(h):
    _, port, out = h.start_sink("--fail-for", str(FAIL_503_S), "--fail-status", "503",
                                "--phase", "%d:429:%d" % (FAIL_429_S, RETRY_AFTER_S))
    gw = h.start_gateway(harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)],
        "retry": {"max_attempts": 1000, "initial_backoff": "%dms" % INITIAL_MS,
                  "max_backoff": "%dms" % MAX_MS, "max_age": "10m"}}]))
    t0 = time.monotonic()
    r = h.run_eventgen(gw.target, "--clients", str(CLIENTS), "--count", str(COUNT), "--kinds",
                       "publish", "--drain-timeout", "180")
    assert r["acked"] == COUNT, r
    # The endpoint parked what it was retrying, so acks came before the
    # deliveries: wait for those.
    harness.wait_for(lambda: len(harness.read_sink(out, status=200)) >= COUNT, 180,
                     what="every event delivered")
    seconds = time.monotonic() - t0
    m = gw.metrics()
    print("parked %d events, %d still parked" % (m['webhookgw_parked_total{webhook="sink"}'],
                                                 m['webhookgw_parked_events{webhook="sink"}']))

    records = harness.read_sink(out)
    delivered = [x for x in records if x["status"] == 200]
    tally = harness.Tally(delivered, COUNT, CLIENTS)
    print(tally.describe())

    attempts = collections.defaultdict(list)
    for x in records:
        attempts[harness.publish_key(x)].append(x)
    gaps = {"backoff": 0, "retry_after": 0}
    early = []
    late = []
    worst_late_ms = 0
    for key, tries in attempts.items():
        for i in range(1, len(tries)):
            prev, cur = tries[i - 1], tries[i]
            gap = cur["t_ms"] - prev["t_ms"]
            if prev["status"] == 429:
                low, high = RETRY_AFTER_S * 1000, RETRY_AFTER_S * 1000
                gaps["retry_after"] += 1
            else:
                high = backoff_ms(i)
                low = high / 2
                gaps["backoff"] += 1
            if gap < low - CLOCK_SLACK_MS:
                early.append((key, i, prev["status"], gap, low))
            worst_late_ms = max(worst_late_ms, gap - high)
            if gap > high + LATE_SLACK_MS:
                late.append((key, i, prev["status"], gap, high))
    retried = sum(1 for t in attempts.values() if len(t) > 1)
    print("events retried %d; gaps checked: %d backoff, %d retry-after; worst lateness %d ms" %
          (retried, gaps["backoff"], gaps["retry_after"], worst_late_ms))
    harness.summary("d_backoff_503_429", COUNT, tally.distinct, tally.duplicated, 0, tally.lost,
                    seconds, "attempts=%d" % len(records))
    assert tally.lost == 0 and tally.duplicated == 0, tally.describe()
    assert not tally.order_violations and not tally.unexpected, tally.describe()
    assert gaps["backoff"] > 100 and gaps["retry_after"] > 10, gaps
    assert not early, "attempts earlier than the backoff allows: %s" % early[:10]
    assert not late, "attempts far later than the backoff: %s" % late[:10]


if __name__ == "__main__":
    harness.main(test, "backoff")
