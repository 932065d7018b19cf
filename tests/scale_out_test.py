#!/usr/bin/python3
"""Scale-out with real processes: three gateways on loopback, one adapter.

webhook-eventgen (the adapter library) streams over 12 streams to a target
listing three webhook-gateway processes. The test reports how the load split
across them (each gateway's webhookgw_events_received_total) and requires
the least loaded to get at least 70% of the mean. Then it runs again and
kill -9s one gateway midway: the other two must absorb its share, and every
event must be acked (nothing lost, nothing dropped).

usage: scale_out_test.py WEBHOOK_GATEWAY WEBHOOK_EVENTGEN
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

CONFIG = """
webhook {{
  url = "http://127.0.0.1:9/"
  events = [ {{ event = "on_message_publish", topic = "never/#" }} ]
}}
gateway {{
  grpc_listen = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  dead_letter_path = "", spool_dir = ""
  drain_grace = 2s
}}
"""


class Gateway:
    def __init__(self, binary, workdir, index):
        path = os.path.join(workdir, f"gw{index}.conf")
        with open(path, "w") as f:
            f.write(CONFIG.format())
        self.log_path = os.path.join(workdir, f"gw{index}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "--config", path], stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(self.log_path) as f:
                log = f.read()
            grpc = re.search(r"msg=started .*grpc_listen=(\S+)", log)
            admin = re.search(r"msg=started .*admin_listen=(\S+)", log)
            if grpc and admin:
                self.grpc, self.admin = grpc.group(1), admin.group(1)
                return
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"gateway {index} did not start")

    def received(self):
        with urllib.request.urlopen(f"http://{self.admin}/metrics", timeout=5) as r:
            text = r.read().decode()
        return sum(int(v) for v in re.findall(
            r'^webhookgw_events_received_total\{[^}]*\} (\d+)$', text, re.M))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def eventgen(binary, target, count, rate):
    return subprocess.Popen(
        [binary, "--target", target, "--streams", "12", "--count", str(count),
         "--rate", str(rate), "--clients", "1000", "--json", "--drain-timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc):
    out, err = proc.communicate(timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"eventgen failed ({proc.returncode}): {err}")
    return json.loads(out)


def main():
    gateway_bin, eventgen_bin = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        gateways = []
        try:
            for i in range(3):
                gateways.append(Gateway(gateway_bin, work, i))
            target = "ipv4:" + ",".join(g.grpc for g in gateways)
            count = 60000
            result = finish(eventgen(eventgen_bin, target, count, 20000))
            split = [g.received() for g in gateways]
            mean = sum(split) / 3
            print(f"split over 3 gateways: {split} (least/mean = {min(split) / mean:.2f})")
            if result["acked"] != count or sum(split) < count:
                failures.append(f"not all acked: {result}, received {split}")
            if min(split) < 0.7 * mean:
                failures.append(f"uneven split {split}")

            # Again, killing one gateway halfway through.
            before = [g.received() for g in gateways]
            proc = eventgen(eventgen_bin, target, count, 20000)
            time.sleep(1.5)
            gateways[0].kill()
            result = finish(proc)
            after = [g.received() if g.proc.poll() is None else None for g in gateways]
            survivors = [a - b for a, b in zip(after[1:], before[1:])]
            print(f"after kill -9 of gateway 0: survivors received {survivors}, "
                  f"eventgen {json.dumps(result)}")
            if result["acked"] != count:
                failures.append(f"lost events after kill -9: acked {result['acked']} of {count}")
            if result.get("dropped_full", 0) or result.get("dropped_stopped", 0):
                failures.append(f"drops after kill -9: {result}")
            if sum(survivors) < count * 0.5:
                failures.append(f"survivors did not absorb the load: {survivors}")
        finally:
            for g in gateways:
                g.kill()
    for f in failures:
        print("FAIL:", f)
    print(f"scale_out_test: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
