"""Processes of the network-fault tests, started inside netns hosts.

Reuses tests/e2e/harness.py for configs, sink records and tallies; adds
what namespaces change: every process runs under `ip netns exec`, metrics
are read from inside the gateway's host, and the adapter's log lines are
stamped with the time they arrived so that detection times can be measured.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import netns  # noqa: E402

GRPC_PORT = 7070
ADMIN_PORT = 9090
SINK_PORT = 8080
STARTED_RE = re.compile(r"msg=started ")


class Scenario:
    """A work directory, a Net, and the binaries from argv."""

    def __init__(self, tag, hosts, argv):
        self.bins = {os.path.basename(a): a for a in argv[1:]}
        self.tag = tag
        self.dir = tempfile.mkdtemp(prefix="wgw-netns-%s-" % tag)
        os.chmod(self.dir, 0o755)  # mosquitto run as root drops privileges
        self.started = time.monotonic()
        print("files in %s" % self.dir, flush=True)
        self.net = netns.Net(tag, hosts)

    def path(self, name):
        return os.path.join(self.dir, name)

    def close(self, ok):
        self.net.close()
        if ok and not os.environ.get("WGW_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def start_sink(self, host, *flags, tag="sink"):
        out = self.path("%s.jsonl" % tag)
        err = open(self.path("%s.err" % tag), "wb")
        p = self.net[host].popen([self.bins["webhook-sink"], "--listen",
                                  "%s:%d" % (self.net[host].ip, SINK_PORT), "--out", out,
                                  # one thread per kept-alive connection of every gateway
                                  "--threads", "256"] +
                                 list(flags), stdout=subprocess.PIPE, stderr=err)
        err.close()
        netns.wait_line(p, r"listening on \d+")
        return p, out

    def start_gateway(self, host, config, tag=None):
        tag = tag or host
        conf = self.path("%s.conf" % tag)
        with open(conf, "w") as f:
            f.write(config)
        log = self.path("%s.log" % tag)
        # Each host has its own working directory, kept across restarts like
        # a pod's volume: the gateway's default spool_dir is relative to it.
        workdir = self.path("%s.d" % host)
        os.makedirs(workdir, exist_ok=True)
        with open(log, "wb") as err:
            p = self.net[host].popen([self.bins["webhook-gateway"], "--config", conf], stderr=err,
                                     cwd=workdir)
        harness.wait_for(lambda: STARTED_RE.search(open(log).read()) is not None or
                         p.poll() is not None, 20, what="%s to start" % tag)
        assert p.poll() is None, "gateway %s exited:\n%s" % (tag, open(log).read()[-2000:])
        return p

    def metrics(self, host):
        status, text = self.net[host].http_get("127.0.0.1", ADMIN_PORT, "/metrics")
        assert status == 200, "metrics of %s answered %d" % (host, status)
        return harness.parse_metrics(text)

    def start_eventgen(self, host, targets, *flags, tag="eventgen"):
        """webhook-eventgen with --verbose; returns (proc, LineLog of stderr).
        `targets` is a list of gateway hosts, or a gRPC target as text."""
        target = targets if isinstance(targets, str) else (
            "ipv4:" + ",".join("%s:%d" % (self.net[t].ip, GRPC_PORT) for t in targets))
        out = open(self.path("%s.json" % tag), "wb")
        p = self.net[host].popen([self.bins["webhook-eventgen"], "--target", target, "--json",
                                  "--verbose"] + list(flags), stdout=out, stderr=subprocess.PIPE)
        out.close()
        return p, netns.LineLog(p.stderr, self.path("%s.err" % tag))

    def eventgen_result(self, p, tag="eventgen", timeout=300):
        return harness.read_eventgen_result(p, self.path("%s.json" % tag), timeout)


def gateway_config(webhooks, extra="", dead_letter=""):
    """A gateway listening on every address of its host, admin on loopback."""
    text = harness.gateway_config(webhooks, dead_letter=dead_letter, extra=extra)
    return (text.replace('grpc_listen = "127.0.0.1:0"', 'grpc_listen = "0.0.0.0:%d"' % GRPC_PORT)
            .replace('admin_listen = "127.0.0.1:0"', 'admin_listen = "127.0.0.1:%d"' % ADMIN_PORT))


def row(fault, detection, sent, delivered, duplicated, dead_lettered, lost, extra=""):
    """The figures of one fault, as one line for the closing table."""
    print("ROW | %s | %s | %d | %d | %d | %d | %d |%s" %
          (fault, detection, sent, delivered, duplicated, dead_lettered, lost,
           " " + extra if extra else ""), flush=True)


def main(test, tag, hosts):
    s = Scenario(tag, hosts, sys.argv)
    ok = False
    try:
        test(s)
        ok = True
    finally:
        s.close(ok)
    print("PASS netns_%s (%.1f s)" % (tag, time.monotonic() - s.started), flush=True)
