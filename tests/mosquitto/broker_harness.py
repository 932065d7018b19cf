"""Runs real mosquitto brokers and command-line clients for the tests.

Every broker listens on a free loopback port in its own temporary directory
and is stopped (and waited for) by the context manager that started it.
"""

import atexit
import contextlib
import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


# Every client process still running when the test exits (an assertion
# failed half way) is stopped then, so none outlives the test.
_children = []


@atexit.register
def _stop_children():
    for proc in _children:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def track(proc):
    """Registers a child process to be killed if the test exits early."""
    _children.append(proc)
    return proc


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A running mosquitto; `port` and `dir` are set once it accepts TCP."""

    def __init__(self, proc, port, workdir, log_path, conf, base_lines):
        self.proc = proc
        self.port = port
        self.dir = workdir
        self.log_path = log_path
        self.conf = conf
        self.base_lines = base_lines

    def reload(self, config_lines, wait_for=("Reloading config.",)):
        """Rewrites the configuration and sends SIGHUP; returns once every
        line in `wait_for` has appeared in the log once more than before.
        mosquitto reloads on its only thread, so clients that connect after
        that see the new configuration."""
        before = {w: self.log().count(w) for w in wait_for}
        lines = self.base_lines + [l.replace("{dir}", self.dir) for l in config_lines]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while any(self.log().count(w) <= n for w, n in before.items()):
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not reload:\n" + self.log())
            time.sleep(0.02)

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()


@contextlib.contextmanager
def run_broker(config_lines, env=None, files=None):
    """Starts mosquitto with `config_lines` (a listener line is added).

    `files` maps names to contents written into the broker's directory first;
    "{dir}" in config lines and file contents is replaced by that directory.
    """
    workdir = tempfile.mkdtemp(prefix="wgw_mosq_")
    # mosquitto started as root switches to the "mosquitto" user, which could
    # not write the test's files; staying root is what the tests need.
    os.chmod(workdir, 0o755)
    for name, text in (files or {}).items():
        with open(os.path.join(workdir, name), "w") as f:
            f.write(text.replace("{dir}", workdir))
    broker = None
    try:
        # A free port can be taken by another process between the probe and
        # mosquitto's bind; then mosquitto exits and another port is tried.
        for _ in range(5):
            broker = _start(workdir, config_lines, env)
            if _wait_until_running(broker):
                break
            _stop(broker)
        else:
            raise RuntimeError("mosquitto found no free port:\n" + broker.log())
        yield broker
    finally:
        if broker is not None:
            _stop(broker)
        if os.environ.get("WGW_KEEP_TMP") is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _start(workdir, config_lines, env):
    port = free_port()
    lines = [f"listener {port} 127.0.0.1", "log_dest stderr", "log_type all"]
    if os.geteuid() == 0:
        lines.append("user " + pwd.getpwuid(0).pw_name)
    base_lines = list(lines)
    lines += [l.replace("{dir}", workdir) for l in config_lines]
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    log_path = os.path.join(workdir, "broker.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=log, stderr=log,
                            env={**os.environ, **(env or {})})
    _children.append(proc)
    log.close()
    return Broker(proc, port, workdir, log_path, conf, base_lines)


def _stop(broker):
    if broker.proc.poll() is None:
        broker.proc.terminate()
    try:
        broker.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        broker.proc.kill()
        broker.proc.wait()


def _wait_until_running(broker):
    """True once this broker logs that it runs and its port accepts; False
    when it could not bind its port; raises when it failed otherwise."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if broker.proc.poll() is not None:
            if "Address already in use" in broker.log():
                return False
            raise RuntimeError("mosquitto exited with %d:\n%s" %
                               (broker.proc.returncode, broker.log()))
        # The log line proves the listener is this broker's, not another
        # process's that happens to hold the port.
        if " running" in broker.log():
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", broker.port)) == 0:
                    return True
        time.sleep(0.02)
    raise RuntimeError("mosquitto did not start on port %d:\n%s" % (broker.port, broker.log()))


def auth_args(version, user=None, password=None, client_id=None):
    args = ["-V", version]
    if client_id:
        args += ["-i", client_id]
    if user is not None:
        args += ["-u", user]
    if password is not None:
        args += ["-P", password]
    return args


def publish(port, topic, payload, version="mqttv311", qos=1, retain=False, **auth):
    """Runs mosquitto_pub once; returns (exit code, stderr text)."""
    args = [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", payload,
            "-q", str(qos)] + auth_args(version, **auth)
    if retain:
        args.append("-r")
    done = subprocess.run(args, capture_output=True, text=True, timeout=20)
    return done.returncode, done.stderr.strip()


class Subscriber:
    """mosquitto_sub in the background, its output read line by line.

    Started with -d so that the SUBACK codes are printed; `suback` holds them
    as a list of ints, or None when the client never got one (connection
    refused).
    """

    def __init__(self, port, filters, version="mqttv311", qos=0, **auth):
        # stdbuf: mosquitto_sub does not flush its debug lines into a pipe.
        args = ["stdbuf", "-oL", MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(port), "-d", "-v", "-q", str(qos)]
        for f in filters:
            args += ["-t", f]
        args += auth_args(version, **auth)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        _children.append(self.proc)
        self.lines = queue.Queue()
        self.suback = None
        self.messages = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, deadline):
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def wait_suback(self, timeout=30):
        """Waits for the SUBACK (or the client's exit); returns its codes."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(deadline)
            if line is None:
                return None
            if line.startswith("Subscribed (mid:"):
                codes = line.split("):", 1)[1]
                self.suback = [int(c) for c in codes.replace(",", " ").split()]
                return self.suback

    def wait_message(self, topic, timeout=30):
        """Collects messages until one on `topic` arrives; returns all seen."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._next(deadline)
            if line is None:
                return self.messages
            if line.startswith("Client ") or " " not in line:
                continue
            t, payload = line.split(" ", 1)
            self.messages.append((t, payload))
            if t == topic:
                return self.messages

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_password_file(path, users):
    """Writes a mosquitto password file with mosquitto_passwd -b."""
    open(path, "w").close()
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", path, user, password], check=True,
                       capture_output=True)
