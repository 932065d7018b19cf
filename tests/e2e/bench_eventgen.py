"""Not a test: measures webhook-eventgen's acked rate and ack latency
against a real gateway, (1) filtering every event out (ingest only) and
(2) delivering every event to a local webhook-sink (one request per event),
as fast as acks allow and at 10,000 events/s.

usage: bench_eventgen.py GATEWAY EVENTGEN SINK [REPLAY] [COUNT]
"""

import sys

import harness


def bench(h, name, events, count, sink_port, rate=0):
    gw = h.start_gateway(harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % sink_port,
        "events": events}]), tag="gw-%s-%d" % (name, rate))
    r = h.run_eventgen(gw.target, "--kinds", "publish", "--count", str(count), "--clients",
                       "1000", "--streams", "4", "--drain-timeout", "300", "--rate", str(rate),
                       tag="eg-%s-%d" % (name, rate))
    assert r["acked"] == count, r
    name += " rate %s" % (rate or "max")
    print("%-24s %7d events: acked %8.0f/s, ack latency p50 %7.2f ms, p99 %7.2f ms" %
          (name, count, r["acked_per_second"], r["ack_latency_ms_p50"], r["ack_latency_ms_p99"]))
    gw.proc.kill()


def run(h):
    count = int(sys.argv[-1]) if sys.argv[-1].isdigit() else 200000
    _, port, _ = h.start_sink(out=False)
    bench(h, "ingest-only", [("on_session_terminated", None)], count, port)
    bench(h, "delivered", [("on_message_publish", None)], count, port)
    # Below saturation, latency is the pipeline's own rather than queueing.
    bench(h, "ingest-only", [("on_session_terminated", None)], count // 4, port, 10000)
    bench(h, "delivered", [("on_message_publish", None)], count // 4, port, 10000)


if __name__ == "__main__":
    args = [a for a in sys.argv if not a.isdigit()]
    sys.argv = args + [a for a in sys.argv if a.isdigit()]
    harness.main(run, "bench")
