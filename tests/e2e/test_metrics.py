"""Scenario h: /metrics after a known traffic mix. Received and filtered
counts per event, and deliveries per webhook by outcome, equal what the mix
implies."""

import time

import harness


def test(h):
    _, ok_port, ok_out = h.start_sink(tag="ok")
    _, gone_port, _ = h.start_sink("--status", "404", tag="gone")
    gw = h.start_gateway(harness.gateway_config([
        {"name": "main", "url": "http://127.0.0.1:%d/hook" % ok_port,
         "events": [("on_message_publish", "sensors/1/#"), ("on_client_connect", None)]},
        {"name": "gone", "url": "http://127.0.0.1:%d/hook" % gone_port,
         "events": [("on_client_connect", None)]},
    ], dead_letter=h.path("dead.jsonl")))
    t0 = time.monotonic()
    # Topics sensors/0/data .. sensors/9/data in turn: a tenth match.
    runs = [("publish", 1000), ("connect", 300), ("subscribe", 200)]
    for kind, count in runs:
        r = h.run_eventgen(gw.target, "--kinds", kind, "--count", str(count), "--clients", "100",
                           "--topics", "10", tag="eventgen-" + kind)
        assert r["acked"] == count, r
    m = gw.metrics()
    seconds = time.monotonic() - t0

    def received(e):
        return m['webhookgw_events_received_total{event="%s"}' % e]

    def filtered(e):
        return m['webhookgw_events_filtered_total{event="%s"}' % e]

    def deliveries(w, outcome):
        return m['webhookgw_deliveries_total{webhook="%s",outcome="%s"}' % (w, outcome)]

    expected = {
        ("received", "on_message_publish"): 1000, ("received", "on_client_connect"): 300,
        ("received", "on_client_subscribe"): 200, ("received", "on_client_disconnected"): 0,
        ("filtered", "on_message_publish"): 900, ("filtered", "on_client_connect"): 0,
        ("filtered", "on_client_subscribe"): 200,
    }
    got = {k: (received if k[0] == "received" else filtered)(k[1]) for k in expected}
    assert got == expected, got
    outcomes = {(w, o): deliveries(w, o) for w in ("main", "gone")
                for o in ("delivered", "dead_lettered")}
    assert outcomes == {("main", "delivered"): 400, ("main", "dead_lettered"): 0,
                        ("gone", "delivered"): 0, ("gone", "dead_lettered"): 300}, outcomes
    assert m['webhookgw_http_responses_total{webhook="gone",status_class="4xx"}'] == 300
    assert m['webhookgw_http_responses_total{webhook="main",status_class="2xx"}'] == 400
    assert m["webhookgw_queue_events"] == 0
    assert len(harness.read_sink(ok_out)) == 400
    with open(h.path("dead.jsonl")) as f:
        assert sum(1 for _ in f) == 300
    harness.summary("h_metrics", 1500, 400, 0, 300, 0, seconds,
                    "filtered=1100 (every count equals the mix)")


if __name__ == "__main__":
    harness.main(test, "metrics")
