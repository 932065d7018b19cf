#!/usr/bin/env python3
"""webhookgw-mqtt-bridge against a real mosquitto broker.

One bridge reports every message as message.publish with the fields a
subscriber can know; two bridges in one share group report each message
once between them. Events are read through capture.py (a file, or with
--gateway the webhook bodies of a real webhook-gateway).

Usage: mqtt_bridge_test.py BRIDGE_BINARY [--gateway WEBHOOK_GATEWAY]
"""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broker_harness as h  # noqa: E402
from capture import make_capture_factory  # noqa: E402
from event_mapping_test import Checker, of, wait_for  # noqa: E402


class BridgeProcess:
    """The bridge, started with -v; waits until its SUBACK was logged."""

    def __init__(self, binary, port, capture, extra):
        args = [binary, "--broker", f"127.0.0.1:{port}", "--target", capture.target,
                "--node", "bridge-test", "-v"] + extra
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **capture.env()})
        h.track(self.proc)
        self.subscribed = threading.Event()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()
        if not self.subscribed.wait(10):
            self.stop()
            raise AssertionError("bridge did not subscribe: " + "\n".join(self.log))

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line.rstrip())
            if "msg=subscribed" in line:
                self.subscribed.set()

    def stop(self):
        """Stops the bridge (it waits up to 5 s for acks); returns its status."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def single_bridge(c, binary, protocol, new_capture):
    capture = new_capture()
    bridge = None
    try:
        with h.run_broker(["allow_anonymous true"]) as broker:
            h.publish(broker.port, "old/retained", "history", retain=True, client_id="r0")
            v5 = protocol == "5"
            bridge = BridgeProcess(binary, broker.port, capture,
                                   ["--topics", "m/#,old/#", "--protocol", protocol] +
                                   (["--client-id-property", "cid"] if v5 else []))
            for qos in (0, 1, 2):
                rc, err = h.publish(broker.port, f"m/q{qos}", f"p{qos}", version="mqttv5",
                                    qos=qos, retain=(qos == 1), client_id="pub")
                c.eq(f"publish q{qos}", 0, rc)
            # A publisher that names itself in a user property.
            done = subprocess.run(
                [h.MOSQUITTO_PUB, "-p", str(broker.port), "-V", "mqttv5", "-t", "m/named",
                 "-m", "hi", "-q", "1", "-D", "publish", "user-property", "cid", "dev-7"],
                capture_output=True, text=True, timeout=20)
            c.eq("publish with user property", 0, done.returncode)
            events = wait_for(capture, lambda ev: len(of(ev, "message_publish")) >= 4,
                              "four publishes")
            c.eq("bridge exit status", 0, bridge.stop())
        # MQTT orders messages per publisher and QoS only: compare as a set.
        got = sorted((e["topic"], e["qos"], e["retain"], e["payload"], e["from_client_id"])
              for e in of(events, "message_publish"))
        # Retained history is not a publish; the subscriber cannot see who
        # published unless the publisher says so.
        # Under 3.1.1 the retain flag of a live message is not forwarded.
        want = [("m/q0", 0, False, "p0", ""), ("m/q1", 1, v5, "p1", ""),
                ("m/q2", 2, False, "p2", ""), ("m/named", 1, False, "hi", "dev-7" if v5 else "")]
        c.eq(f"bridge publishes (protocol {protocol})", sorted(want), got)
        c.eq("username unknown", {None},
             {e.get("from_username") for e in of(events, "message_publish")})
    finally:
        if bridge is not None:
            bridge.stop()
        capture.close()


def shared_bridges(c, binary, new_capture):
    capture = new_capture()
    bridges = []
    try:
        with h.run_broker(["allow_anonymous true"]) as broker:
            for i in range(2):
                bridges.append(BridgeProcess(binary, broker.port, capture,
                                             ["--topics", "s/#", "--share-group", "wg",
                                              "--client-id", f"bridge-{i}"]))
            n = 20
            for i in range(n):
                rc, _ = h.publish(broker.port, f"s/{i}", str(i), qos=1, client_id=f"p{i}")
                c.eq(f"shared publish {i}", 0, rc)
            events = wait_for(capture, lambda ev: len(of(ev, "message_publish")) >= n,
                              f"{n} publishes")
            for b in bridges:
                c.eq("bridge exit status", 0, b.stop())
            events = capture.events()
        payloads = sorted(int(e["payload"]) for e in of(events, "message_publish"))
        c.eq("each message reported once by the group", list(range(n)), payloads)
    finally:
        for b in bridges:
            b.stop()
        capture.close()


def main():
    binary = os.path.abspath(sys.argv[1])
    c = Checker()
    new_capture = make_capture_factory(sys.argv)
    single_bridge(c, binary, "5", new_capture)
    single_bridge(c, binary, "4", new_capture)
    shared_bridges(c, binary, new_capture)
    print(f"{c.checks} checks, {c.failures} failed")
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
