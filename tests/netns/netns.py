"""Hosts built from Linux network namespaces, for network-fault tests.

A Net is one layer-2 segment: a "switch" namespace holding a bridge, and
one namespace per host, each joined to the bridge by a veth pair (eth0 in
the host, a port in the switch). Hosts get 10.213.0.x/24; nothing outside
these namespaces is given an address or touched, and traffic stays on the
segment. Partitioning a host takes its switch port down: frames to and from
it are dropped without any reset or ICMP answer, so its TCP connections go
silent, as when a node or its network dies.

Every namespace is named "wgwnt-<tag>-<host>"; Net() first removes what a
crashed run with the same tag left behind, and close() (called from a
finally block, and at exit) kills every process in its namespaces and
deletes them.

Needs root and iproute2. When `ip netns` cannot be used the test fails with
the reason; it is never skipped.
"""

import atexit
import ctypes
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402

CLONE_NEWNET = 0x40000000
SUBNET = "10.213.0"
_libc = ctypes.CDLL(None, use_errno=True)


def run(*args, check=True):
    """Runs a command and returns its stdout; raises with its stderr."""
    p = subprocess.run(list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (" ".join(args), p.returncode,
                                                     p.stderr.strip()))
    return p.stdout


def require_netns():
    """Fails (not skips) with a clear message when namespaces are unusable."""
    if os.geteuid() != 0:
        raise AssertionError("network-namespace tests need root (ip netns); run as root, as CI does")
    probe = "wgwnt-probe-%d" % os.getpid()
    p = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("ip netns add does not work here: %s" % p.stderr.strip())
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def _cleanup_prefix(prefix):
    for line in run("ip", "netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(prefix):
            continue
        pids = run("ip", "netns", "pids", name, check=False).split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Host:
    def __init__(self, net, name, index):
        self.net = net
        self.name = name
        self.ns = "%s%s" % (net.prefix, name)
        self.port = "p-%s" % name  # its port on the switch
        self.ip = "%s.%d" % (SUBNET, index)

    def popen(self, args, **kw):
        """Starts `args` inside this host; the Net kills it at close."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns] + list(args), **kw)
        self.net.procs.append(p)
        return p

    def run(self, args, timeout=30):
        return subprocess.run(["ip", "netns", "exec", self.ns] + list(args), capture_output=True,
                              text=True, timeout=timeout)

    def connect(self, address, port, timeout=5):
        """A TCP socket opened from inside this host (setns on a helper
        thread: the socket stays in the namespace it was created in)."""
        result = {}

        def work():
            fd = os.open("/run/netns/%s" % self.ns, os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    result["error"] = OSError(ctypes.get_errno(), "setns %s" % self.ns)
                    return
                result["sock"] = socket.create_connection((address, port), timeout=timeout)
            except OSError as e:
                result["error"] = e
            finally:
                os.close(fd)

        t = threading.Thread(target=work)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["sock"]

    def http_get(self, address, port, path, timeout=5):
        """(status, body) of a GET sent from inside this host; (0, "") when
        nothing answered."""
        try:
            s = self.connect(address, port, timeout)
        except OSError:
            return 0, ""
        with s:
            s.settimeout(timeout)
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
                       (path, address)).encode())
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                return 0, ""
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d+)", head)
        if not m:
            return 0, ""
        if b"transfer-encoding: chunked" in head.lower():
            body = _unchunk(body)
        return int(m.group(1)), body.decode(errors="replace")

    def partition(self):
        """Cuts this host off: its switch port goes down."""
        run("ip", "-n", self.net.switch, "link", "set", self.port, "down")

    def heal(self):
        run("ip", "-n", self.net.switch, "link", "set", self.port, "up")


def _unchunk(body):
    out = b""
    while body:
        size_text, _, rest = body.partition(b"\r\n")
        size = int(size_text.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out


class Net:
    """One switch and its hosts; hosts are given as {name: last address byte}."""

    def __init__(self, tag, hosts):
        require_netns()
        self.prefix = "wgwnt-%s-" % tag
        _cleanup_prefix(self.prefix)
        self.procs = []
        self.switch = self.prefix + "sw"
        self.hosts = {}
        self._closed = False
        atexit.register(self.close)
        run("ip", "netns", "add", self.switch)
        run("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", "br0", "up")
        for name, index in hosts.items():
            h = Host(self, name, index)
            run("ip", "netns", "add", h.ns)
            run("ip", "-n", h.ns, "link", "set", "lo", "up")
            # Both ends are created in the switch, then one moves to the host.
            run("ip", "-n", self.switch, "link", "add", h.port, "type", "veth", "peer", "name",
                "eth0", "netns", h.ns)
            run("ip", "-n", self.switch, "link", "set", h.port, "master", "br0")
            run("ip", "-n", self.switch, "link", "set", h.port, "up")
            run("ip", "-n", h.ns, "addr", "add", "%s/24" % h.ip, "dev", "eth0")
            run("ip", "-n", h.ns, "link", "set", "eth0", "up")
            self.hosts[name] = h
        # Every host must answer the first one: a connect to a closed port is
        # refused (a reset comes back), which proves the path both ways.
        first = next(iter(self.hosts.values()))
        for h in self.hosts.values():
            if h is not first:
                self._wait_reachable(first, h)

    @staticmethod
    def _wait_reachable(src, dst):
        deadline = time.monotonic() + 10
        while True:
            try:
                src.connect(dst.ip, 9, timeout=1).close()
                return
            except ConnectionRefusedError:
                return
            except OSError as e:
                if time.monotonic() > deadline:
                    raise AssertionError("%s cannot reach %s on the test switch: %s" %
                                         (src.ns, dst.ip, e))
                time.sleep(0.1)

    def __getitem__(self, name):
        return self.hosts[name]

    def close(self):
        if self._closed:
            return
        self._closed = True
        harness.stop_processes(self.procs)
        _cleanup_prefix(self.prefix)


class LineLog:
    """Reads a process's stream line by line on a thread, stamping each line
    with time.monotonic() when it arrived, and also writes it to a file."""

    def __init__(self, stream, path):
        self.lines = []
        self._lock = threading.Lock()
        self._file = open(path, "w")
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            now = time.monotonic()
            with self._lock:
                self.lines.append((now, line))
            self._file.write("%.3f %s\n" % (now, line))
            self._file.flush()

    def since(self, t0, pattern):
        """(time, match) of lines after t0 matching the regex `pattern`."""
        rx = re.compile(pattern)
        with self._lock:
            lines = list(self.lines)
        out = []
        for t, line in lines:
            if t < t0:
                continue
            m = rx.search(line)
            if m:
                out.append((t, m))
        return out


def wait_line(proc, pattern, timeout=20):
    """Reads proc.stdout until a line matches `pattern`; returns the match."""
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            line = proc.stdout.readline().decode(errors="replace")
            m = rx.search(line)
            if m:
                return m
        if proc.poll() is not None:
            break
    raise AssertionError("no line matching %r (exit %s)" % (pattern, proc.poll()))
