#!/usr/bin/python3
"""An endpoint's network is cut while a gateway delivers to it and another.

Hosts: broker (webhook-eventgen), gw (webhook-gateway), ep1 and ep2
(webhook-sink each, one webhook each). Two phases on the same hosts:

1. Within the retry bound: ep1 is cut for 25 s (longer than the adapter's
   20 s ack timeout). Requests to ep1 time out and are retried (its
   webhookgw_retries_total rises); ep2's delivered count keeps rising
   during the cut; the adapter abandons no stream (the gateway's
   heartbeats say it is alive: ack_timeouts stays 0); once ep1 is back
   every event reaches both sinks, none lost.
2. Past the retry bound (3 attempts within 5 s): ep1 is cut for 10 s. The
   events ep1 did not receive are exactly the ones in the dead-letter file
   (by event id, from the webhook-id header of signed requests); ep2 gets
   every event.

usage: partition_endpoint_test.py WEBHOOK_GATEWAY WEBHOOK_EVENTGEN WEBHOOK_SINK
"""
import json
import time

import common
import harness

HOSTS = {"broker": 10, "gw": 21, "ep1": 31, "ep2": 32}
CLIENTS = 200
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def delivered(m, webhook):
    return m['webhookgw_deliveries_total{webhook="%s",outcome="delivered"}' % webhook]


def config(s, e1_retry, dead_letter):
    hooks = []
    for name, host in (("e1", "ep1"), ("e2", "ep2")):
        hooks.append("""  {
    name = "%s"
    url = "http://%s:%d/hook"
    events = [ { event = on_message_publish } ]
    request_timeout = 1s
    connect_timeout = 1s
    retry { %s }
    signing { secrets = ["%s"] }
  }""" % (name, s.net[host].ip, common.SINK_PORT,
          e1_retry if name == "e1" else "initial_backoff = 200ms, max_backoff = 2s", SECRET))
    return """gateway {
  grpc_listen = "0.0.0.0:%d"
  admin_listen = "127.0.0.1:%d"
  dead_letter_path = "%s"
}
webhooks = [
%s
]
""" % (common.GRPC_PORT, common.ADMIN_PORT, dead_letter, "\n".join(hooks))


def ids(path, node):
    """Event ids of the requests a sink received from eventgen --node `node`."""
    out = []
    for r in harness.read_sink(path):
        i = r["headers"]["webhook-id"]
        if i.startswith(node + "-"):
            out.append(i)
    return out


def start_phase(s, e1_retry, dead_path, phase, count, rate):
    """A gateway and an eventgen (node b<phase>) for one phase."""
    gw = s.start_gateway("gw", config(s, e1_retry, dead_path), tag="gw%d" % phase)
    gen, _ = s.start_eventgen("broker", ["gw"], "--count", str(count), "--rate", str(rate),
                              "--kinds", "publish", "--clients", str(CLIENTS),
                              "--node", "b%d" % phase, tag="eventgen%d" % phase)
    return gw, gen


def cut_ep1(s, out1, warm, counter, what):
    """Cuts ep1 once it has `warm` requests; returns when, and how long the
    gateway's `counter` took to rise after the cut."""
    harness.wait_for(lambda: len(harness.read_sink(out1)) >= warm, 60,
                     what="{:,} at ep1".format(warm))
    before = s.metrics("gw")[counter]
    t_cut = time.monotonic()
    s.net["ep1"].partition()
    harness.wait_for(lambda: s.metrics("gw")[counter] > before, 30, interval=0.05, what=what)
    return t_cut, time.monotonic() - t_cut


def finish_phase(s, gen, phase):
    """eventgen's result, once the gateway holds nothing more."""
    r = s.eventgen_result(gen, tag="eventgen%d" % phase, timeout=300)
    harness.wait_for(lambda: s.metrics("gw")["webhookgw_queue_events"] == 0, 60,
                     what="the gateway to finish")
    time.sleep(0.5)
    return r


def within_bound(s, out1, out2):
    dead_path = s.path("dead1.jsonl")
    count, rate = 40000, 1000
    gw, gen = start_phase(
        s, "initial_backoff = 200ms, max_backoff = 2s, max_attempts = 1000, max_age = 5m",
        dead_path, 1, count, rate)
    t_cut, detection = cut_ep1(s, out1, 5000, 'webhookgw_retries_total{webhook="e1"}',
                               "retries towards the cut endpoint")
    time.sleep(3)
    m1 = s.metrics("gw")
    time.sleep(15)
    m_mid = s.metrics("gw")
    time.sleep(5)
    m2 = s.metrics("gw")
    s.net["ep1"].heal()
    cut_for = time.monotonic() - t_cut
    e2_during = delivered(m2, "e2") - delivered(m1, "e2")
    e1_during = delivered(m2, "e1") - delivered(m1, "e1")
    # Acks are cumulative over both webhooks: without parking, once the
    # adapter's unacked window (streams x max_unacked) is full of events ep1
    # has not taken, the adapter sends no more and e2 waits too. The last
    # 5 s of the cut show whether e2 still flows.
    e2_late = delivered(m2, "e2") - delivered(m_mid, "e2")
    parked = m2['webhookgw_parked_events{webhook="e1"}']
    print("during the cut (20 s window): e1 delivered %d, e2 delivered %d (%d in its last 5 s); "
          "e1 queue %d, parked %d" % (e1_during, e2_during, e2_late,
                                      m2['webhookgw_webhook_queue_events{webhook="e1"}'], parked),
          flush=True)

    r = finish_phase(s, gen, 1)
    t1 = harness.Tally(harness.read_sink(out1), count, CLIENTS)
    t2 = harness.Tally(harness.read_sink(out2), count, CLIENTS)
    open(out1, "w").close()  # the second phase starts from empty files
    open(out2, "w").close()
    dead = len(harness.read_sink(dead_path))
    print("eventgen: %s" % r, flush=True)
    print("ep1: %s\nep2: %s" % (t1.describe(), t2.describe()), flush=True)
    common.row("endpoint partitioned %.0f s (within retry bound)" % cut_for,
               "first retry %.1f s after the cut" % detection, count, t1.distinct, t1.duplicated,
               dead, t1.lost, "other endpoint +%d in 20 s of the cut (+%d in its last 5 s); e1 "
               "parked %d; adapter ack_timeouts=%d" % (e2_during, e2_late, parked,
                                                       r["ack_timeouts"]))
    assert e2_during > 10 * rate, "the other endpoint stalled during the cut: +%d" % e2_during
    assert e2_late > 2.5 * rate, "the other endpoint stalled late in the cut: +%d" % e2_late
    assert parked > 0, "e1 parked nothing during the cut"
    assert r["acked"] == count and r["ack_timeouts"] == 0, r
    assert t1.lost == 0 and t2.lost == 0 and dead == 0, (t1.describe(), t2.describe(), dead)
    # Nothing was resent by the adapter, so a duplicate can only be a
    # request that reached ep1 while its answer was cut: one per connection.
    assert t1.duplicated <= 32 and t2.duplicated == 0, (t1.describe(), t2.describe())
    gw.kill()
    gw.wait()


def past_bound(s, out1, out2):
    dead_path = s.path("dead2.jsonl")
    count, rate = 20000, 1000
    _, gen = start_phase(
        s, "initial_backoff = 100ms, max_backoff = 500ms, max_attempts = 3, max_age = 5s",
        dead_path, 2, count, rate)
    _, detection = cut_ep1(s, out1, 3000,
                           'webhookgw_deliveries_total{webhook="e1",outcome="dead_lettered"}',
                           "the first dead letter")
    time.sleep(max(0.0, 10 - detection))
    s.net["ep1"].heal()
    r = finish_phase(s, gen, 2)

    got1, got2 = ids(out1, "b2"), ids(out2, "b2")
    incarnation = got2[0].rsplit("-", 1)[0]
    everything = {"%s-%d" % (incarnation, i) for i in range(1, count + 1)}
    letters = [json.loads(line) for line in open(dead_path)]
    dead = {d["id"] for d in letters if d["webhook"] == "e1"}
    missing = everything - set(got1)
    both = dead & set(got1)  # reached ep1, but its answer was cut
    print("eventgen: %s" % r, flush=True)
    print("ep1 received %d distinct, dead letters %d (e1), %d of them also reached ep1; "
          "ep2 received %d distinct" % (len(set(got1)), len(dead), len(both), len(set(got2))),
          flush=True)
    common.row("endpoint partitioned 10 s (past retry bound: 3 attempts, 5 s)",
               "first dead letter %.1f s after the cut" % detection, count, len(set(got1)),
               len(got1) - len(set(got1)), len(dead), len(missing - dead),
               "dead-lettered but delivered=%d; other endpoint got %d" % (len(both),
                                                                         len(set(got2))))
    assert r["acked"] == count, r
    assert set(got2) == everything, "ep2 missed %d" % len(everything - set(got2))
    assert len(missing) > 0, "the cut dead-lettered nothing; the variant tested nothing"
    assert dead - set(got1) == missing, (
        "dead letters and undelivered events differ: %d undelivered not dead-lettered, "
        "%d dead-lettered and neither delivered nor expected" %
        (len(missing - dead), len(dead - set(got1) - missing)))
    assert len(letters) == len(dead) + sum(1 for d in letters if d["webhook"] != "e1")
    assert all(d["webhook"] == "e1" for d in letters), "e2 dead-lettered events"
    assert len(both) <= 32, "%d events both delivered and dead-lettered" % len(both)


def test(s):
    _, out1 = s.start_sink("ep1", tag="sink1")
    _, out2 = s.start_sink("ep2", tag="sink2")
    within_bound(s, out1, out2)
    past_bound(s, out1, out2)


if __name__ == "__main__":
    common.main(test, "b", HOSTS)
