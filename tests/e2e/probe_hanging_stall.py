"""Not in CTest: shows a limit, not a regression. Two endpoints, one hanging;
more events than the adapter's unacked window (streams x max_unacked).

An event is acked only when every endpoint that wants it has finished with
it, so once the window is full of events waiting on the hanging endpoint,
the healthy endpoint receives nothing more. The hanging endpoint finishes
at most pool_size / request_timeout attempts per second, and a lane's retry
goes to the back of the ready queue behind every other lane, so with 1,000
clients, pool_size 8 and request_timeout 2 s the first dead letter comes
after about 1,000 / 8 x 2 s = 250 s: retry.max_age counts from an event's
first attempt, not from its arrival. The probe prints what it sees at 3 and
8 s and asserts the stall it describes.

usage: probe_hanging_stall.py GATEWAY EVENTGEN SINK
"""

import time

import harness

COUNT = 40000
WINDOW = 4 * 5000  # eventgen's default streams x max_unacked


def test(h):
    _, port, out = h.start_sink(tag="healthy")
    _, hport, _ = h.start_sink("--hang", out=False, tag="hang")
    gw = h.start_gateway(harness.gateway_config([
        {"name": "healthy", "url": "http://127.0.0.1:%d/hook" % port,
         "events": [("on_message_publish", None)]},
        {"name": "hanging", "url": "http://127.0.0.1:%d/hook" % hport,
         "events": [("on_message_publish", None)], "pool_size": 8, "request_timeout": "2s",
         "retry": {"max_attempts": 2}}]))
    h.start_eventgen(gw.target, "--clients", "1000", "--count", str(COUNT), "--kinds", "publish",
                     "--drain-timeout", "5")
    t0 = time.monotonic()
    for t in (3, 8):
        time.sleep(max(0, t0 + t - time.monotonic()))
        m = gw.metrics()
        got = len(harness.read_sink(out))
        print("t=%ds healthy received %d of %d, gateway holds %d, hanging: attempts %d, "
              "retries %d, dead-lettered %d" % (
                  t, got, COUNT, m["webhookgw_queue_events"],
                  m['webhookgw_http_responses_total{webhook="hanging",status_class="none"}'],
                  m['webhookgw_retries_total{webhook="hanging"}'],
                  m['webhookgw_deliveries_total{webhook="hanging",outcome="dead_lettered"}']))
    assert got == WINDOW, got


if __name__ == "__main__":
    harness.main(test, "hanging_stall")
