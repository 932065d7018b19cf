"""Scenario f: an endpoint is down for longer than the retry bound. The
dead-letter file holds exactly the events given up on (count and ids), and
webhook-replay delivers them once the endpoint is back."""

import json
import subprocess
import time

import harness

COUNT = 500
CLIENTS = 50
ATTEMPTS = 3


def test(h):
    assert "webhook-replay" in h.bins, "webhook-replay binary not given"
    port = harness.free_port()
    down, _, down_out = h.start_sink("--status", "503", port=port, tag="down")
    dead = h.path("dead.jsonl")
    gw = h.start_gateway(harness.gateway_config([{
        "name": "sink", "url": "http://127.0.0.1:%d/hook" % port,
        "events": [("on_message_publish", None)],
        "retry": {"max_attempts": ATTEMPTS, "initial_backoff": "20ms", "max_backoff": "100ms",
                  "max_age": "1m"}}], dead_letter=dead))
    t0 = time.monotonic()
    r = h.run_eventgen(gw.target, "--clients", str(CLIENTS), "--count", str(COUNT), "--kinds",
                       "publish", "--drain-timeout", "60")
    # A dead letter is finished, so the adapter sees every event acked.
    assert r["acked"] == COUNT, r

    with open(dead) as f:
        letters = [json.loads(line) for line in f]
    ids = [l["id"] for l in letters]
    assert len(letters) == COUNT, "%d dead letters for %d events" % (len(letters), COUNT)
    assert len(set(ids)) == COUNT, "repeated ids in the dead-letter file"
    incarnations = {i.rsplit("-", 2)[1] for i in ids}
    assert len(incarnations) == 1, incarnations
    assert {int(i.rsplit("-", 1)[1]) for i in ids} == set(range(1, COUNT + 1))
    assert all(l["webhook"] == "sink" and l["last_status"] == 503 and l["attempts"] == ATTEMPTS
               for l in letters), letters[0]
    attempts = harness.read_sink(down_out)
    assert len(attempts) == COUNT * ATTEMPTS, "%d attempts" % len(attempts)
    m = gw.metrics()
    assert m['webhookgw_deliveries_total{webhook="sink",outcome="dead_lettered"}'] == COUNT

    # The endpoint comes back on the same port.
    down.kill()
    down.wait()
    _, _, up_out = h.start_sink(port=port, tag="up")
    # With no gateway to take them, nothing is acked: the tool says so.
    nobody = subprocess.run([h.bins["webhook-replay"], "--target",
                             "127.0.0.1:%d" % harness.free_port(), "--timeout", "2", dead],
                            capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 1, (nobody.returncode, nobody.stderr)
    assert "%d events not acknowledged" % COUNT in nobody.stderr, nobody.stderr
    # The file given twice: each id is sent once.
    replay = subprocess.run([h.bins["webhook-replay"], "--target", gw.target, dead, dead],
                            capture_output=True, text=True, timeout=120)
    print(replay.stdout.strip())
    assert replay.returncode == 0, replay.stderr
    assert "%d repeated ids skipped" % COUNT in replay.stdout, replay.stdout
    assert "acked %d" % COUNT in replay.stdout, replay.stdout
    seconds = time.monotonic() - t0

    records = harness.read_sink(up_out)
    tally = harness.Tally(records, COUNT, CLIENTS)
    print(tally.describe())
    # The replayed events keep their ids: same incarnation and sequences.
    bodies = [json.loads(r["body"]) for r in records]
    assert all(b["node"] == "eventgen" for b in bodies), bodies[0]
    harness.summary("f_dead_letter_replay", COUNT, tally.distinct, tally.duplicated, len(letters),
                    tally.lost, seconds)
    assert tally.lost == 0 and tally.duplicated == 0, tally.describe()
    assert not tally.order_violations and not tally.unexpected, tally.describe()


if __name__ == "__main__":
    harness.main(test, "dead_letter_replay")
