#!/usr/bin/env python3
"""What the mosquitto plugin reports for real client traffic.

Runs mosquitto 2.0.11 with the plugin, drives it with mosquitto_pub and
mosquitto_sub (MQTT 3.1.1 and 5, QoS 0/1/2, retain, with and without a
username, wildcard subscribe and unsubscribe) and checks the captured events
field by field.

Events are read through capture.py: from the file a file-writing build of
the adapter C API appends to, or, with --gateway, end to end from the
webhook bodies a real webhook-gateway POSTs to an HTTP sink.

Usage: event_mapping_test.py PLUGIN_SO [--gateway WEBHOOK_GATEWAY]
"""

import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broker_harness as h  # noqa: E402
from capture import make_capture_factory  # noqa: E402

def wait_for(capture, predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = capture.events()
        if predicate(events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; events: {capture.events()}")


def of(events, action, clientid=None, **fields):
    return [e for e in events if e["action"] == action
            and (clientid is None or e["clientid"] == clientid)
            and all(e.get(k) == v for k, v in fields.items())]


class Checker:
    def __init__(self):
        self.failures = 0
        self.checks = 0

    def eq(self, what, want, got):
        self.checks += 1
        if want != got:
            self.failures += 1
            print(f"FAIL {what}: want {want!r}, got {got!r}")


def traffic(port):
    """The client traffic; returns once every client has disconnected."""
    sub = h.Subscriber(port, ["m/+/x", "m/#"], version="mqttv5", qos=2, client_id="s5")
    if sub.wait_suback() is None:
        raise AssertionError("subscriber was refused")
    for qos, payload in ((0, "zero"), (1, "one"), (2, "two")):
        rc, err = h.publish(port, "m/a/x", payload, version="mqttv311", qos=qos,
                            retain=(qos == 2), client_id="p3", user="alice", password="pw")
        assert rc == 0, err
    rc, err = h.publish(port, "m/b/x", "v5", version="mqttv5", qos=1, client_id="p5")
    assert rc == 0, err
    sub.wait_message("m/b/x")
    sub.stop()

    # Unsubscribe two filters, one with a wildcard.
    done = h.subprocess.run(
        [h.MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port), "-i", "u3", "-k", "30",
         "-t", "m/q", "-U", "m/+/x", "-U", "z/#", "-E"], capture_output=True, timeout=20)
    assert done.returncode == 0, done.stderr

    # Retained $SYS messages reach this subscriber; they are not reported.
    sys_sub = h.Subscriber(port, ["$SYS/broker/version"], client_id="sys")
    got = sys_sub.wait_message("$SYS/broker/version")
    sys_sub.stop()
    assert got, "no retained $SYS message"

    # A takeover: a second CONNECT with the same client id ends the first.
    dup = h.Subscriber(port, ["d/#"], client_id="dup")
    if dup.wait_suback() is None:
        raise AssertionError("dup was refused")
    rc, err = h.publish(port, "d/1", "x", client_id="dup")
    assert rc == 0, err
    dup.stop()

    # A socket that never sends CONNECT is not a client.
    with socket.create_connection(("127.0.0.1", port)):
        pass


def check_events(c, events):
    connect = {e["clientid"]: e for e in of(events, "client_connect")}
    c.eq("connect clients", {"s5", "p3", "p5", "u3", "dup", "sys"}, set(connect))
    c.eq("no delivered for $SYS", [], [e for e in of(events, "message_delivered")
                                       if e["topic"].startswith("$SYS/")])
    c.eq("$SYS subscription reported", ["$SYS/broker/version"],
         [e["topic"] for e in of(events, "client_subscribe", "sys")])
    c.eq("takeover: both sessions connect", 2, len(of(events, "client_connect", "dup")))
    for cid, ver, user, keepalive in (("s5", 5, None, 60), ("p3", 4, "alice", 60),
                                      ("p5", 5, None, 60), ("u3", 4, None, 30)):
        e = connect.get(cid, {})
        c.eq(f"{cid} connect proto_ver", ver, e.get("proto_ver"))
        c.eq(f"{cid} connect username", user, e.get("username"))
        c.eq(f"{cid} connect ipaddress", "127.0.0.1", e.get("ipaddress"))
        c.eq(f"{cid} connect keepalive", keepalive, e.get("keepalive"))

    subs = of(events, "client_subscribe", "s5")
    c.eq("s5 subscribe filters", ["m/+/x", "m/#"], [e["topic"] for e in subs])
    c.eq("s5 subscribe qos", [2, 2], [e["qos"] for e in subs])
    c.eq("u3 subscribe", ["m/q"], [e["topic"] for e in of(events, "client_subscribe", "u3")])
    c.eq("u3 unsubscribe filters", ["m/+/x", "z/#"],
         [e["topic"] for e in of(events, "client_unsubscribe", "u3")])

    # Order is kept per client only (the gateway runs clients in parallel).
    pubs = {}
    for e in of(events, "message_publish"):
        pubs.setdefault(e["from_client_id"], []).append(
            (e["from_username"], e["topic"], e["qos"], e["retain"], e["payload"]))
    c.eq("publish order and fields per client",
         {"p3": [("alice", "m/a/x", 0, False, "zero"), ("alice", "m/a/x", 1, False, "one"),
                 ("alice", "m/a/x", 2, True, "two")],
          "p5": [(None, "m/b/x", 1, False, "v5")], "dup": [(None, "d/1", 1, False, "x")]},
         pubs)

    # Delivered comes from the READ check, made once per copy sent: mosquitto
    # sends s5 one copy per matching subscription, so two of each message.
    delivered = of(events, "message_delivered", "s5")
    c.eq("delivered to s5", ["zero", "zero", "one", "one", "two", "two", "v5", "v5"],
         [e["payload"] for e in delivered])
    c.eq("delivered publisher unknown", {None},
         {e.get("from_client_id") or None for e in delivered})

    gone = of(events, "client_disconnected")
    # The session taken over is reported as disconnected too.
    c.eq("disconnected clients", ["dup", "dup", "p3", "p3", "p3", "p5", "s5", "sys", "u3"],
         sorted(e["clientid"] for e in gone))
    c.eq("disconnect reason", {"unknown"}, {e["reason"] for e in gone})
    c.eq("no event without a client id", [], [e for e in events if e["clientid"] is None])
    # Per client, connect comes before everything else and disconnect last.
    for cid in ("s5", "p5", "u3"):
        mine = [e["action"] for e in events if e["clientid"] == cid]
        c.eq(f"{cid} first", "client_connect", mine[0] if mine else None)
        c.eq(f"{cid} last", "client_disconnected", mine[-1] if mine else None)


def check_refused_connect(c, so, new_capture):
    """A refused CONNECT: client_connect is reported (it is raised before the
    decision), and mosquitto has dropped the client id by the disconnect."""
    capture = new_capture()
    try:
        with h.run_broker(["allow_anonymous false", "password_file {dir}/passwords",
                           f"plugin {so}", f"plugin_opt_target {capture.target}"],
                          files={"passwords": password_file_text()},
                          env=capture.env()) as broker:
            rc, _ = h.publish(broker.port, "t", "x", client_id="bad", user="alice",
                              password="wrong")
            c.eq("bad password refused", True, rc != 0)
            sub = h.Subscriber(broker.port, ["t"], client_id="reader", user="alice",
                               password="pw")
            c.eq("reader subscribed", [0], sub.wait_suback())
            rc, _ = h.publish(broker.port, "t", "x", client_id="good", user="alice",
                              password="pw")
            c.eq("good password accepted", 0, rc)
            c.eq("reader got it", [("t", "x")], sub.wait_message("t"))
            sub.stop()
            events = wait_for(capture, lambda ev: of(ev, "client_disconnected", "good"),
                              "good's disconnect")
        c.eq("refused client connect reported", 1, len(of(events, "client_connect", "bad")))
        c.eq("refused client disconnect", [], of(events, "client_disconnected", "bad"))
        # plugin_opt_delivered is off by default.
        c.eq("no delivered by default", [], of(events, "message_delivered"))
        c.eq("publish still reported", 1, len(of(events, "message_publish", from_client_id="good")))
    finally:
        capture.close()


def password_file_text():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pw")
        h.make_password_file(path, {"alice": "pw"})
        with open(path) as f:
            return f.read()


def main():
    so = os.path.abspath(sys.argv[1])
    new_capture = make_capture_factory(sys.argv)
    c = Checker()
    capture = new_capture()
    try:
        with h.run_broker(["allow_anonymous true", f"plugin {so}",
                           f"plugin_opt_target {capture.target}", "plugin_opt_node test-node",
                           "plugin_opt_delivered true"],
                          env=capture.env()) as broker:
            traffic(broker.port)
            events = wait_for(capture, lambda ev: len(of(ev, "client_disconnected")) >= 9,
                              "nine disconnects")
        check_events(c, events)
    finally:
        capture.close()
    check_refused_connect(c, so, new_capture)
    print(f"{c.checks} checks, {c.failures} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
