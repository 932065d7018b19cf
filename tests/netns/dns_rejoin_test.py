#!/usr/bin/python3
"""A gateway name that resolves to more addresses later gets them used.

Hosts: broker (webhook-eventgen with target dns:///gateways:7070), gw1 and
gw2, ep (webhook-sink). The broker host resolves "gateways" through its
own hosts file (`ip netns exec` bind-mounts /etc/netns/<ns>/hosts over
/etc/hosts; gRPC's native resolver reads it): first gw1 only, then, while
events flow, gw1 and gw2. The gateways send GoAway at max_connection_age
(10 s here), the adapter reconnects and gRPC re-resolves the name: gw2 must
get streams and events. The time from the change to gw2's first stream is
printed; nothing is lost.

usage: dns_rejoin_test.py WEBHOOK_GATEWAY WEBHOOK_EVENTGEN WEBHOOK_SINK
"""
import os
import time

import common
import harness

HOSTS = {"broker": 10, "gw1": 21, "gw2": 22, "ep": 31}
COUNT = 60000
RATE = 1000
CLIENTS = 200
PUBLISHES = 'webhookgw_events_received_total{event="on_message_publish"}'


def test(s):
    hosts_dir = "/etc/netns/%s" % s.net["broker"].ns
    os.makedirs(hosts_dir, exist_ok=True)
    hosts = os.path.join(hosts_dir, "hosts")

    def resolve_to(*gws):
        # Rewritten in place: the bind mount follows the file, not the name.
        with open(hosts, "r+" if os.path.exists(hosts) else "w") as f:
            f.seek(0)
            f.truncate()
            f.write("127.0.0.1 localhost\n")
            for gw in gws:
                f.write("%s gateways\n" % s.net[gw].ip)

    try:
        resolve_to("gw1")
        _, out = s.start_sink("ep")
        config = common.gateway_config(
            [{"name": "ep", "url": "http://%s:%d/hook" % (s.net["ep"].ip, common.SINK_PORT),
              "events": [("on_message_publish", None)]}],
            extra="max_connection_age = 10s\n  max_connection_age_grace = 20s")
        for gw in ("gw1", "gw2"):
            s.start_gateway(gw, config)
        os.environ["GRPC_DNS_RESOLVER"] = "native"  # reads the hosts file
        gen, _ = s.start_eventgen("broker", "dns:///gateways:%d" % common.GRPC_PORT,
                                  "--count", str(COUNT),
                                  "--rate", str(RATE), "--kinds", "publish", "--clients",
                                  str(CLIENTS), "--streams", "4")
        harness.wait_for(lambda: len(harness.read_sink(out)) >= 3000, 60, what="3,000 delivered")
        assert s.metrics("gw2")["webhookgw_streams_opened_total"] == 0
        resolve_to("gw1", "gw2")
        t_change = time.monotonic()
        harness.wait_for(lambda: s.metrics("gw2")[PUBLISHES] > 0, 90,
                         what="gw2 to get events after the name resolved to it")
        used = time.monotonic() - t_change
        print("gw2 got streams and events %.1f s after the name resolved to it" % used,
              flush=True)
        r = s.eventgen_result(gen, timeout=300)
        harness.wait_for(lambda: all(s.metrics(g)["webhookgw_queue_events"] == 0
                                     for g in ("gw1", "gw2")), 60, what="gateways to finish")
        t = harness.Tally(harness.read_sink(out), COUNT, CLIENTS)
        print("eventgen: %s\nsink: %s" % (r, t.describe()), flush=True)
        common.row("name resolves to a second gateway", "used %.1f s after the change" % used,
                   COUNT, t.distinct, t.duplicated, 0, t.lost,
                   "gw1 %d / gw2 %d events" % (s.metrics("gw1")[PUBLISHES],
                                                s.metrics("gw2")[PUBLISHES]))
        assert t.lost == 0 and r["acked"] == COUNT, (t.describe(), r)
    finally:
        os.environ.pop("GRPC_DNS_RESOLVER", None)
        if os.path.exists(hosts):
            os.remove(hosts)
        try:
            os.rmdir(hosts_dir)
        except OSError:
            pass


if __name__ == "__main__":
    common.main(test, "d", HOSTS)
