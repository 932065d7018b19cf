"""Where the mosquitto tests read the events the plugin or bridge reported.

FileCapture: a build of the adapter C API that appends every event as a JSON
line to $WGW_STUB_EVENTS (used before the adapter library existed).
GatewayCapture: the real chain, adapter -> webhook-gateway -> an HTTP sink in
this process, reading the webhook bodies the gateway POSTs.

Both give events normalised to one shape: the webhook body's fields, with
`clientid`/`username` also set on message_publish (from the from_* fields),
`qos` taken out of `opts`, and an absent username as None.
"""

import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

import broker_harness as h

ACTIONS = ["client_connect", "client_connack", "client_connected", "client_disconnected",
           "client_subscribe", "client_unsubscribe", "session_subscribed",
           "session_unsubscribed", "session_terminated", "message_publish",
           "message_delivered", "message_acked"]


def normalise(body):
    e = dict(body)
    if e.get("action") == "invalid_json":
        return e
    if "kind" in e:  # a FileCapture line: the wgw_event fields
        e["action"] = ACTIONS[e.pop("kind")]
    e["retain"] = bool(e.get("retain"))
    if "opts" in e:
        e["qos"] = e["opts"].get("qos")
    for key in ("username", "from_username"):
        # The gateway's default rendering of "no username" is NanoMQ's.
        if e.get(key) == "undefined":
            e[key] = None
    if e["action"] == "message_publish":
        e["clientid"] = e.get("from_client_id")
        e["username"] = e.get("from_username")
    return e


class FileCapture:
    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="wgw_events_", suffix=".jsonl")
        os.close(fd)
        self.target = "127.0.0.1:1"  # never dialled by the file-writing build

    def env(self):
        return {"WGW_STUB_EVENTS": self.path}

    def events(self):
        with open(self.path) as f:
            return [normalise(json.loads(line)) for line in f if line.strip()]

    def close(self):
        os.unlink(self.path)


class _Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            event = json.loads(body)
        except ValueError as e:
            # Kept, so that the test fails naming the body the gateway sent.
            event = {"action": "invalid_json", "error": str(e), "headers": str(self.headers),
                     "body": body.decode("utf-8", "replace")}
        with self.server.lock:
            self.server.bodies.append(event)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class GatewayCapture:
    """Runs webhook-gateway with every event routed to an HTTP sink here."""

    def __init__(self, gateway_binary):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
        self.server.bodies = []
        self.server.lock = threading.Lock()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.dir = tempfile.mkdtemp(prefix="wgw_gw_")
        grpc_port = h.free_port()
        self.target = f"127.0.0.1:{grpc_port}"
        rules = ",\n".join(f'    {{ event = "on_{a}" }}' for a in ACTIONS)
        conf = os.path.join(self.dir, "gateway.conf")
        with open(conf, "w") as f:
            f.write(f"""gateway {{
  grpc_listen = "127.0.0.1:{grpc_port}"
  admin_listen = ""
  dead_letter_path = "", spool_dir = ""
}}
webhook {{
  url = "http://127.0.0.1:{self.server.server_port}/hook"
  headers.content-type = "application/json"
  body.encoding = plain
  events = [
{rules}
  ]
}}
""")
        self.log = open(os.path.join(self.dir, "gateway.log"), "w")
        self.proc = subprocess.Popen([gateway_binary, "--config", conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        h.track(self.proc)
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("webhook-gateway did not start; see " + self.log.name)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", grpc_port)) == 0:
                    break
            time.sleep(0.02)

    def env(self):
        return {}

    def events(self):
        with self.server.lock:
            return [normalise(b) for b in self.server.bodies]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        self.server.shutdown()
        self.server.server_close()


def make_capture_factory(argv):
    """`--gateway BINARY` in argv selects GatewayCapture, else FileCapture."""
    if "--gateway" in argv:
        binary = os.path.abspath(argv[argv.index("--gateway") + 1])
        return lambda: GatewayCapture(binary)
    return FileCapture
