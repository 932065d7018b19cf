#!/usr/bin/python3
"""The broker is cut off from every gateway for longer than its queue holds.

Hosts: broker (mosquitto 2.0.11 with the plugin, queue bound 2,000
events; MQTT clients run on the same host, over loopback), gw1 and gw2
(webhook-gateway), ep (webhook-sink). The webhook takes every kind the
plugin reports in this test (connect, subscribe, publish, disconnect) and
is signed, so each request carries its event id. Phases:

1. 2,000 publishes, all delivered (checks the event count per action);
2. the broker's switch port goes down; a subscribe/publish round trip
   works meanwhile (mosquitto keeps serving MQTT), and 20,000 publishes
   overflow the adapter's queue;
3. after 25 s the port comes back: what the adapter kept is delivered;
   2,000 more publishes are delivered too.

Every MQTT action of the test is counted, so the events mosquitto raised
are known: sent. At the end the broker stops and logs its adapter's
counters: dropped_full must equal sent - delivered (distinct ids at the
sink), accepted must equal delivered, and nothing accepted is missing.

usage: partition_broker_test.py WEBHOOK_GATEWAY PLUGIN_SO WEBHOOK_SINK
"""
import subprocess
import time

import common
import harness
import netns

HOSTS = {"broker": 10, "gw1": 21, "gw2": 22, "ep": 31}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
QUEUE = 2000
MQTT = 1883


class Broker:
    """mosquitto in the broker host, and the events the test made it raise."""

    def __init__(self, s, plugin):
        self.s = s
        self.host = s.net["broker"]
        self.expected = 0  # events the plugin reports for what the test did
        targets = ",".join("%s:%d" % (s.net[g].ip, common.GRPC_PORT) for g in ("gw1", "gw2"))
        conf = s.path("mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\nlog_dest stdout\n"
                    "log_type all\nplugin %s\nplugin_opt_target ipv4:%s\nplugin_opt_node mq\n"
                    "plugin_opt_queue_max_events %d\nplugin_opt_shutdown_timeout_ms 10000\n" %
                    (MQTT, plugin, targets, QUEUE))
        self.proc = self.host.popen(["mosquitto", "-c", conf], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        self.log = netns.LineLog(self.proc.stdout, s.path("mosquitto.log"))
        harness.wait_for(self.probe, 20, what="mosquitto to serve")

    def probe(self):
        ok = self.pub("probe", "probe/x", ["x"])
        return ok

    def pub(self, client, topic, messages):
        """Publishes `messages` (QoS 1) on one connection; counts the events:
        connect, one publish each, disconnect."""
        p = self.host.popen(["mosquitto_pub", "-p", str(MQTT), "-i", client, "-t", topic,
                             "-q", "1", "-l"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
        p.communicate(("\n".join(messages) + "\n").encode(), timeout=120)
        if p.returncode != 0:
            return False
        self.expected += len(messages) + 2
        return True

    def round_trip(self):
        """A subscriber gets a message published meanwhile; counts the
        subscriber's connect, subscribe and disconnect and the publisher's
        three events."""
        sub = self.host.popen(["mosquitto_sub", "-p", str(MQTT), "-i", "rt-sub", "-t", "rt/#",
                               "-C", "1", "-W", "10"], stdout=subprocess.PIPE)
        time.sleep(0.5)
        published = self.pub("rt-pub", "rt/1", ["ping"])
        got, _ = sub.communicate(timeout=20)
        self.expected += 3
        return published and got.decode().strip() == "ping"

    def stop(self):
        """SIGTERM; returns the adapter counters the plugin logs at exit."""
        self.proc.terminate()
        self.proc.wait(timeout=30)
        time.sleep(0.2)
        lines = self.log.since(0, r"webhookgw: stopped accepted=(\d+) dropped_full=(\d+)")
        assert lines, "mosquitto logged no adapter counters; see %s" % self.s.path("mosquitto.log")
        m = lines[-1][1]
        return int(m.group(1)), int(m.group(2))


def delivered_ids(path):
    return {r["headers"]["webhook-id"] for r in harness.read_sink(path)}


def test(s):
    _, out = s.start_sink("ep")
    config = """gateway {
  grpc_listen = "0.0.0.0:%d"
  admin_listen = "127.0.0.1:%d"
  dead_letter_path = ""
}
webhook {
  name = "all"
  url = "http://%s:%d/hook"
  signing { secrets = ["%s"] }
  events = [ { event = on_client_connect }, { event = on_client_subscribe },
             { event = on_message_publish }, { event = on_client_disconnected } ]
}
""" % (common.GRPC_PORT, common.ADMIN_PORT, s.net["ep"].ip, common.SINK_PORT, SECRET)
    for gw in ("gw1", "gw2"):
        s.start_gateway(gw, config)
    broker = Broker(s, s.bins["webhookgw_mosquitto.so"])

    # 1. Everything raised is delivered: the count per action is right.
    assert broker.pub("load-1", "load/1", ["m%d" % i for i in range(2000)])
    harness.wait_for(lambda: len(delivered_ids(out)) >= broker.expected, 60,
                     what="phase 1 delivered")
    time.sleep(1)
    assert len(delivered_ids(out)) == broker.expected, (
        "phase 1: %d delivered, %d expected" % (len(delivered_ids(out)), broker.expected))

    # 2. Cut the broker off from every gateway.
    t_cut = time.monotonic()
    s.net["broker"].partition()
    assert broker.round_trip(), "MQTT round trip failed during the partition"
    assert broker.pub("load-2", "load/2", ["m%d" % i for i in range(20000)]), "publish failed"
    harness.wait_for(lambda: broker.log.since(t_cut, r"stream \d+ (ended|ack timeout)"), 60,
                     what="the plugin to notice the partition")
    detection = broker.log.since(t_cut, r"stream \d+ (ended|ack timeout)")[0][0] - t_cut
    during = broker.round_trip()
    time.sleep(max(0.0, 25 - (time.monotonic() - t_cut)))
    s.net["broker"].heal()
    t_heal = time.monotonic()
    print("partition: MQTT served (round trips ok), plugin noticed after %.1f s, healed after "
          "%.1f s" % (detection, t_heal - t_cut), flush=True)
    assert during, "MQTT round trip failed during the partition"

    # 3. Delivery resumes.
    base = len(delivered_ids(out))
    harness.wait_for(lambda: len(delivered_ids(out)) > base, 60, what="delivery to resume")
    resumed = time.monotonic() - t_heal
    assert broker.pub("load-3", "load/3", ["m%d" % i for i in range(2000)])
    harness.wait_for(lambda: all(s.metrics(g)["webhookgw_queue_events"] == 0
                                 for g in ("gw1", "gw2")), 60, what="gateways to finish")
    time.sleep(2)
    accepted, dropped = broker.stop()
    got = delivered_ids(out)
    sent = broker.expected
    sequences = sorted(int(i.rsplit("-", 1)[1]) for i in got)
    raw = len(harness.read_sink(out))
    print("sent %d (events the test's MQTT actions raise), delivered %d distinct (%d requests), "
          "adapter accepted %d dropped_full %d; resumed %.1f s after heal" %
          (sent, len(got), raw, accepted, dropped, resumed), flush=True)
    common.row("broker cut from every gateway 25 s, queue %d" % QUEUE,
               "plugin %.1f s; MQTT kept serving; delivery resumed %.1f s after heal" %
               (detection, resumed), sent, len(got), raw - len(got), 0, accepted - len(got),
               "dropped_full=%d (= sent - delivered: %s)" % (dropped, dropped == sent - len(got)))
    assert dropped > 0, "the queue never overflowed; the test tested nothing"
    assert dropped == sent - len(got), "dropped %d, sent - delivered %d" % (dropped,
                                                                          sent - len(got))
    assert accepted == len(got), "accepted %d, delivered %d" % (accepted, len(got))
    assert sequences == list(range(1, accepted + 1)), "accepted events missing at the sink"


if __name__ == "__main__":
    common.main(test, "c", HOSTS)
