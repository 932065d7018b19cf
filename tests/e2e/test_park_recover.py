"""Scenario i: an endpoint that is down while events stream parks them, the
gateway is killed with SIGKILL while holding them, and a gateway started
with the same spool directory delivers them once the endpoint is up.

Two webhooks: "up" (a sink) and "down" (a port nothing listens on, retried
without bound). Twice the adapter's unacked window is sent: the generator
gets every ack only because "down" parks what it cannot deliver. Then the
gateway is killed -9, the "down" sink is started, and a second gateway on
the same working directory (so the same default spool_dir) recovers the
parked events and delivers every one, in order per client, none twice. Once
they are delivered, the spool file is emptied, and a graceful stop removes
it."""

import glob
import os
import signal
import time

import harness

COUNT = 40000
CLIENTS = 1000
WINDOW = 4 * 5000  # eventgen's default streams x max_unacked


def spool_files(h):
    return sorted(glob.glob(os.path.join(h.dir, "spool", "down", "*.jsonl")))


def test(h):
    t0 = time.monotonic()
    _, up_port, up_out = h.start_sink(tag="up")
    down_port = harness.free_port()
    config = harness.gateway_config([
        {"name": "up", "url": "http://127.0.0.1:%d/hook" % up_port,
         "events": [("on_message_publish", None)]},
        {"name": "down", "url": "http://127.0.0.1:%d/hook" % down_port,
         "events": [("on_message_publish", None)], "connect_timeout": "500ms",
         "retry": {"max_attempts": 1000, "initial_backoff": "100ms", "max_backoff": "1s",
                   "max_age": "1h"},
         "park": {"after": "500ms"}}])
    gw1 = h.start_gateway(config, tag="gw1")
    r = h.run_eventgen(gw1.target, "--clients", str(CLIENTS), "--count", str(COUNT),
                       "--kinds", "publish", "--drain-timeout", "120", tag="eventgen")
    assert COUNT > WINDOW
    assert r["acked"] == COUNT, r
    harness.wait_for(lambda: len(harness.read_sink(up_out)) >= COUNT, 60,
                     what="every event at the up sink")
    m = gw1.metrics()
    parked = m['webhookgw_parked_events{webhook="down"}']
    print("gw1: down parked %d events (total %d), queued %d" %
          (parked, m['webhookgw_parked_total{webhook="down"}'],
           m['webhookgw_webhook_queue_events{webhook="down"}']))
    assert parked == COUNT, m
    files = spool_files(h)
    assert len(files) == 1, files
    spool_bytes = os.path.getsize(files[0])
    print("spool %s: %d bytes for %d events" % (files[0], spool_bytes, COUNT))

    gw1.proc.send_signal(signal.SIGKILL)
    gw1.proc.wait(timeout=10)
    _, _, down_out = h.start_sink(port=down_port, tag="down")
    restarted = time.monotonic()
    gw2 = h.start_gateway(config, tag="gw2")
    with open(gw2.log_path) as f:
        log = f.read()
    assert "parked events recovered" in log and "events=%d" % COUNT in log, log[-2000:]
    harness.wait_for(lambda: len(harness.read_sink(down_out)) >= COUNT, 120,
                     what="every parked event at the down sink")
    recover_s = time.monotonic() - restarted
    harness.wait_for(lambda: gw2.metrics()['webhookgw_parked_events{webhook="down"}'] == 0, 30,
                     what="nothing parked")
    # Give the gateway's loop a moment to write its last done records.
    time.sleep(0.5)
    tally = harness.Tally(harness.read_sink(down_out), COUNT, CLIENTS)
    print("down after recovery: %s" % tally.describe())
    assert tally.lost == 0, tally.describe()
    assert not tally.order_violations, tally.order_violations[:10]
    assert not tally.unexpected, tally.unexpected[:10]
    assert tally.duplicated == 0, tally.describe()
    up = harness.Tally(harness.read_sink(up_out), COUNT, CLIENTS)
    assert up.lost == 0 and up.duplicated == 0, up.describe()
    # gw1's file was adopted and removed; gw2's holds nothing parked.
    files = spool_files(h)
    assert len(files) == 1 and os.path.getsize(files[0]) == 0, [
        (f, os.path.getsize(f)) for f in files]

    gw2.proc.send_signal(signal.SIGTERM)
    assert gw2.proc.wait(timeout=30) == 0
    assert spool_files(h) == [], spool_files(h)
    harness.summary("i_park_kill_recover", COUNT, tally.distinct, tally.duplicated, 0,
                    tally.lost, time.monotonic() - t0,
                    "parked=%d spool_bytes=%d recover_s=%.1f" % (parked, spool_bytes, recover_s))


if __name__ == "__main__":
    harness.main(test, "park_recover")
