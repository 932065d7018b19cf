"""Process helpers shared by the end-to-end tests.

Every test runs real binaries: webhook-gateway, webhook-eventgen,
webhook-sink and webhook-replay. A Harness owns every process it starts and
kills them all in close(), which the tests call from a finally block. Ports
are chosen by the OS (port 0) or by binding a free port first.
"""

import base64
import collections
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PAYLOAD_RE = re.compile(r"^c=c(\d+) n=(\d+)")
STARTED_RE = re.compile(r"msg=started .*grpc_listen=\S+:(\d+) .*admin_listen=\S+:(\d+)")


def stop_processes(procs):
    """Kills those of `procs` still running and waits up to 10 s for each."""
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def read_eventgen_result(p, path, timeout):
    """Waits for eventgen `p` and returns the last JSON line it wrote to `path`."""
    p.wait(timeout=timeout)
    with open(path) as f:
        text = f.read()
    assert text.strip(), "eventgen printed nothing (exit %s)" % p.returncode
    return json.loads(text.strip().splitlines()[-1])


def free_port():
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """(status, body text) of a GET; status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, ""


def parse_metrics(text):
    """Prometheus text to {'name{labels}': value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


class Gateway:
    def __init__(self, proc, grpc_port, admin_port, log_path):
        self.proc = proc
        self.grpc_port = grpc_port
        self.admin_port = admin_port
        self.log_path = log_path

    @property
    def target(self):
        return "127.0.0.1:%d" % self.grpc_port

    def metrics(self):
        status, text = http_get("http://127.0.0.1:%d/metrics" % self.admin_port)
        assert status == 200, "metrics answered %d" % status
        return parse_metrics(text)


class Harness:
    """Starts processes in a temporary directory and kills them at close."""

    def __init__(self, argv, name):
        self.bins = {}
        for arg in argv[1:]:
            base = os.path.basename(arg)
            self.bins[base] = arg
        for need in ("webhook-gateway", "webhook-eventgen", "webhook-sink"):
            assert need in self.bins, "missing binary argument %s" % need
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="wgw-e2e-%s-" % name)
        self.procs = []
        self.started = time.monotonic()
        print("files in %s" % self.dir, flush=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def close(self):
        stop_processes(self.procs)
        for p in self.procs:
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()

    def spawn(self, args, stdout=subprocess.DEVNULL, stderr=None):
        # In the test's directory, so that relative paths (the gateway's
        # default spool_dir) land there.
        p = subprocess.Popen(args, stdout=stdout, stderr=stderr, cwd=self.dir)
        self.procs.append(p)
        return p

    # --- sink ---

    def start_sink(self, *flags, port=0, out=True, tag="sink"):
        """Starts webhook-sink; returns (proc, port, out_path or None)."""
        out_path = self.path("%s.jsonl" % tag) if out else None
        args = [self.bins["webhook-sink"], "--listen", "127.0.0.1:%d" % port]
        if out_path:
            args += ["--out", out_path]
        args += list(flags)
        err = open(self.path("%s.err" % tag), "ab")
        p = self.spawn(args, stdout=subprocess.PIPE, stderr=err)
        err.close()
        ready, _, _ = select.select([p.stdout], [], [], 10)
        assert ready, "sink did not start"
        line = p.stdout.readline().decode()
        m = re.match(r"listening on (\d+)", line)
        assert m, "sink said %r" % line
        return p, int(m.group(1)), out_path

    # --- gateway ---

    def start_gateway(self, config, tag="gw", timeout=20):
        """Writes `config` and starts a gateway with it; waits for its
        "started" line and returns a Gateway."""
        conf = self.path("%s.conf" % tag)
        with open(conf, "w") as f:
            f.write(config)
        log = self.path("%s.log" % tag)
        with open(log, "wb") as err:
            p = self.spawn([self.bins["webhook-gateway"], "--config", conf], stderr=err)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            with open(log, "rb") as f:
                text = f.read().decode(errors="replace")
            m = STARTED_RE.search(text)
            if m and p.poll() is None:
                return Gateway(p, int(m.group(1)), int(m.group(2)), log)
            assert p.poll() is None, "gateway exited %s:\n%s" % (p.returncode, text[-2000:])
            time.sleep(0.05)
        raise AssertionError("gateway did not start:\n%s" % text[-2000:])

    # --- eventgen ---

    def eventgen_args(self, target, *flags):
        return [self.bins["webhook-eventgen"], "--target", target, "--json"] + list(flags)

    def start_eventgen(self, target, *flags, tag="eventgen"):
        out = open(self.path("%s.json" % tag), "wb")
        err = open(self.path("%s.err" % tag), "wb")
        p = self.spawn(self.eventgen_args(target, *flags), stdout=out, stderr=err)
        out.close()
        err.close()
        return p

    def eventgen_result(self, p, tag="eventgen", timeout=600):
        return read_eventgen_result(p, self.path("%s.json" % tag), timeout)

    def run_eventgen(self, target, *flags, tag="eventgen", timeout=600):
        return self.eventgen_result(self.start_eventgen(target, *flags, tag=tag), tag, timeout)


def gateway_config(webhooks, grpc_port=0, dead_letter="", drain_grace="10s", extra=""):
    """HOCON text of a gateway with `webhooks`: dicts with name, url,
    events (list of (event, topic or None)) and optional retry and park
    (dicts), pool_size, request_timeout, connect_timeout."""
    items = []
    for w in webhooks:
        events = ", ".join(
            "{ event = %s%s }" % (e, ", topic = \"%s\"" % t if t else "") for e, t in w["events"])
        lines = ['name = "%s"' % w["name"], 'url = "%s"' % w["url"], "events = [ %s ]" % events]
        for block in ("retry", "park"):
            if block in w:
                lines.append("%s { %s }" % (block, ", ".join(
                    "%s = \"%s\"" % kv if isinstance(kv[1], str) else "%s = %s" % kv
                    for kv in w[block].items())))
        for key in ("pool_size", "request_timeout", "connect_timeout"):
            if key in w:
                lines.append('%s = "%s"' % (key, w[key]))
        items.append("  {\n    " + "\n    ".join(lines) + "\n  }")
    return """gateway {
  grpc_listen = "127.0.0.1:%d"
  admin_listen = "127.0.0.1:0"
  dead_letter_path = "%s"
  drain_grace = "%s"
  %s
}
webhooks = [
%s
]
""" % (grpc_port, dead_letter, drain_grace, extra, ",\n".join(items))


def read_sink(path, status=None):
    """The sink's records, in the order it received them; only those it
    answered with `status` when given."""
    records = []
    if path is None or not os.path.exists(path):
        return records
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a line being written
            r = json.loads(line)
            if status is None or r["status"] == status:
                records.append(r)
    return records


def publish_key(record):
    """(client number, n) of a publish webhook record, from its payload."""
    body = json.loads(record["body"])
    m = PAYLOAD_RE.match(body["payload"])
    assert m, "payload %r carries no c=/n= tag" % body["payload"]
    return int(m.group(1)), int(m.group(2))


def expected_per_client(count, clients):
    """Events per client of eventgen --count count --clients clients: the
    generator walks the clients round robin."""
    return [count // clients + (1 if i < count % clients else 0) for i in range(clients)]


class Tally:
    """What a sink received, checked against what eventgen emitted."""

    def __init__(self, records, count, clients):
        self.sent = count
        self.received = len(records)
        per_client = collections.defaultdict(list)
        for r in records:
            c, n = publish_key(r)
            per_client[c].append(n)
        expected = expected_per_client(count, clients)
        self.distinct = 0
        self.duplicated = 0
        self.order_violations = []
        self.unexpected = []
        for c, ns in per_client.items():
            seen = set()
            last_new = 0
            for n in ns:
                if n in seen:
                    self.duplicated += 1
                    continue
                seen.add(n)
                if c >= clients or n > expected[c]:
                    self.unexpected.append((c, n))
                    continue
                if n != last_new + 1:
                    self.order_violations.append((c, last_new, n))
                last_new = n
            self.distinct += len(seen)
        self.lost = sum(expected) - (self.distinct - len(self.unexpected))

    def describe(self):
        return ("received %d, distinct %d, duplicated %d, lost %d, order violations %d, "
                "unexpected %d" % (self.received, self.distinct, self.duplicated, self.lost,
                                   len(self.order_violations), len(self.unexpected)))


def wait_for(predicate, timeout, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def summary(scenario, sent, delivered, duplicated, dead_lettered, lost, seconds, extra=""):
    """The one-line figures of a test, for closing notes."""
    line = ("SUMMARY %s: sent=%d delivered=%d duplicated=%d dead_lettered=%d lost=%d "
            "seconds=%.1f" % (scenario, sent, delivered, duplicated, dead_lettered, lost, seconds))
    if extra:
        line += " " + extra
    print(line, flush=True)


def main(test, name):
    """Runs test(harness), killing every process afterwards."""
    h = Harness(sys.argv, name)
    try:
        test(h)
    finally:
        h.close()
    print("PASS %s (%.1f s)" % (name, time.monotonic() - h.started))
    # Logs and sink records stay for a failed run (the traceback names the
    # directory's files) or when WGW_E2E_KEEP is set.
    if not os.environ.get("WGW_E2E_KEEP"):
        shutil.rmtree(h.dir, ignore_errors=True)
