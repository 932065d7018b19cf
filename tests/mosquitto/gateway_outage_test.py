#!/usr/bin/python3
"""mosquitto + plugin + a real gateway + an HTTP sink, through a gateway outage.

Checks, with real processes:
- binary payloads arrive base64 on one webhook and base62 on another, and a
  wildcard topic filter selects exactly the matching topics;
- with the gateway killed (kill -9), mosquitto keeps serving: every message
  published meanwhile reaches an MQTT subscriber;
- once the gateway is back on the same port, the events of the outage reach
  the sink (the plugin's adapter kept them).

usage: gateway_outage_test.py WEBHOOK_GATEWAY PLUGIN_SO WEBHOOK_SINK
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from broker_harness import free_port

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(data):
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = BASE62[r] + digits
    return "0" * zeros + digits


def wait_for(predicate, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_bodies(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [(json.loads(l)["path"], json.loads(json.loads(l)["body"])) for l in f if l.strip()]


def main():
    gateway_bin, plugin, sink_bin = sys.argv[1:4]
    procs = []
    failures = []

    def check(what, ok):
        if not ok:
            failures.append(what)
            print("FAIL", what)

    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o755)  # mosquitto as root drops to its own user
        out = os.path.join(work, "sink.jsonl")
        sink = subprocess.Popen([sink_bin, "--listen", "127.0.0.1:0", "--out", out],
                                stdout=subprocess.PIPE, text=True)
        procs.append(sink)
        sink_port = int(sink.stdout.readline().split()[-1])
        grpc_port, mqtt_port = free_port(), free_port()
        conf = os.path.join(work, "gateway.conf")
        with open(conf, "w") as f:
            f.write(f"""
webhooks = [
  {{ name = "b64", url = "http://127.0.0.1:{sink_port}/b64", body.encoding = base64
     events = [ {{ event = "on_message_publish", topic = "bin/+/data" }} ] }}
  {{ name = "b62", url = "http://127.0.0.1:{sink_port}/b62", body.encoding = base62
     events = [ {{ event = "on_message_publish", topic = "bin/#" }} ] }}
]
gateway {{ grpc_listen = "127.0.0.1:{grpc_port}", admin_listen = "", dead_letter_path = "", spool_dir = "" }}
""")
        gw_log = open(os.path.join(work, "gateway.log"), "w")

        def start_gateway():
            p = subprocess.Popen([gateway_bin, "--config", conf], stderr=gw_log)
            procs.append(p)
            return p

        mconf = os.path.join(work, "mosquitto.conf")
        with open(mconf, "w") as f:
            f.write(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\n"
                    f"plugin {plugin}\nplugin_opt_target 127.0.0.1:{grpc_port}\n"
                    f"plugin_opt_node outage-test\n")
        mlog = open(os.path.join(work, "mosquitto.log"), "w")
        gateway = start_gateway()
        broker = subprocess.Popen(["mosquitto", "-c", mconf], stdout=mlog, stderr=mlog)
        procs.append(broker)

        def pub(topic, payload_file=None, message=None, client="p1"):
            args = ["mosquitto_pub", "-p", str(mqtt_port), "-i", client, "-t", topic, "-q", "1"]
            args += ["-f", payload_file] if payload_file else ["-m", message]
            return subprocess.run(args, capture_output=True, timeout=10).returncode == 0

        try:
            wait_for(lambda: pub("probe/x", message="x", client="probe"), "mosquitto")
            payload = bytes([0x00, 0xFF, 0x10, 0x80, 0x7F])
            blob = os.path.join(work, "payload.bin")
            with open(blob, "wb") as f:
                f.write(payload)
            pub("bin/a/data", payload_file=blob)
            pub("bin/a/other", payload_file=blob)
            pub("text/a/data", message="not selected")
            wait_for(lambda: len(read_bodies(out)) >= 3, "three webhooks")
            time.sleep(0.5)
            got = sorted((p, b["topic"], b["payload"]) for p, b in read_bodies(out))
            want = sorted([("/b64", "bin/a/data", base64.b64encode(payload).decode()),
                           ("/b62", "bin/a/data", base62(payload)),
                           ("/b62", "bin/a/other", base62(payload))])
            check(f"encodings and filters: got {got}, want {want}", got == want)

            # Outage: kill -9 the gateway; the broker must keep serving.
            gateway.send_signal(signal.SIGKILL)
            gateway.wait()
            sub = subprocess.Popen(["mosquitto_sub", "-p", str(mqtt_port), "-i", "s1",
                                    "-t", "outage/#", "-C", "20", "-W", "20"],
                                   stdout=subprocess.PIPE, text=True)
            procs.append(sub)
            time.sleep(0.5)
            sent_ok = sum(pub(f"outage/{i}", message=f"m{i}", client=f"o{i}") for i in range(20))
            received, _ = sub.communicate(timeout=30)
            check(f"publishes accepted during the outage: {sent_ok}/20", sent_ok == 20)
            check(f"messages delivered by mosquitto during the outage: "
                  f"{len(received.split())}/20", len(received.split()) == 20)

            # The outage's events (publishes of outage/#) are not selected by
            # these webhooks; publish selected ones during the outage too.
            for i in range(10):
                pub(f"bin/o{i}/data", message=f"late{i}", client=f"late{i}")
            before = len(read_bodies(out))
            time.sleep(1)
            check("nothing delivered while the gateway is down", len(read_bodies(out)) == before)
            gateway = start_gateway()
            wait_for(lambda: len([1 for p, b in read_bodies(out)
                                  if p == "/b64" and b["topic"].startswith("bin/o")]) >= 10,
                     "the outage's events after the restart", timeout=40)
            late = sorted(base64.b64decode(b["payload"]).decode() for p, b in read_bodies(out)
                          if p == "/b64" and b["topic"].startswith("bin/o"))
            check(f"outage events after restart: {late}",
                  sorted(set(late)) == sorted(f"late{i}" for i in range(10)))
        finally:
            for p in reversed(procs):
                if p.poll() is None:
                    p.kill()
                    p.wait()
    print(f"gateway_outage_test: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
