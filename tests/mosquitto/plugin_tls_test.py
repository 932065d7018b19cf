#!/usr/bin/python3
"""The mosquitto plugin over mutual TLS and a bearer token, end to end.

A gateway requires client certificates from a test CA and a token. One
mosquitto whose plugin has the right certificate and token file delivers a
publish to the sink; one with a wrong token delivers nothing and its
streams are counted as unauthenticated. Certificates are made by
tests/security/make_certs.sh.

usage: plugin_tls_test.py WEBHOOK_GATEWAY PLUGIN_SO WEBHOOK_SINK SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from broker_harness import free_port


def wait_for(predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def main():
    gateway_bin, plugin, sink_bin, source = sys.argv[1:5]
    procs, failures = [], []

    def check(what, ok):
        if not ok:
            failures.append(what)
            print("FAIL", what)

    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o755)  # mosquitto as root drops to its own user
        certs = os.path.join(work, "certs")
        subprocess.run(["sh", os.path.join(source, "tests/security/make_certs.sh"), certs],
                       check=True, capture_output=True)
        for name in os.listdir(certs):
            os.chmod(os.path.join(certs, name), 0o644)
        os.chmod(certs, 0o755)
        token = "plugin-token-0123456789"
        with open(os.path.join(work, "good.token"), "w") as f:
            f.write(token + "\n")
        with open(os.path.join(work, "bad.token"), "w") as f:
            f.write("wrong-token-0123456789\n")
        out = os.path.join(work, "sink.jsonl")
        sink = subprocess.Popen([sink_bin, "--listen", "127.0.0.1:0", "--out", out],
                                stdout=subprocess.PIPE, text=True)
        procs.append(sink)
        sink_port = int(sink.stdout.readline().split()[-1])
        grpc_port = free_port()
        conf = os.path.join(work, "gateway.conf")
        with open(conf, "w") as f:
            f.write(f"""
webhook {{ url = "http://127.0.0.1:{sink_port}/", events = [ {{ event = on_message_publish }} ] }}
gateway {{
  grpc_listen = "127.0.0.1:{grpc_port}"
  admin_listen = "127.0.0.1:0"
  dead_letter_path = "", spool_dir = ""
  tls {{ cert_file = "{certs}/server.pem", key_file = "{certs}/server.key",
         client_ca_file = "{certs}/ca.pem", require_client_cert = true }}
  auth {{ tokens = [ "{token}" ] }}
}}
""")
        log = os.path.join(work, "gateway.log")
        procs.append(subprocess.Popen([gateway_bin, "--config", conf], stderr=open(log, "w")))
        check("gateway started", wait_for(lambda: "msg=started" in open(log).read()))
        admin = re.search(r"admin_listen=(\S+)", open(log).read()).group(1)

        def broker(name, token_file):
            port = free_port()
            mconf = os.path.join(work, f"{name}.conf")
            with open(mconf, "w") as f:
                f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                        f"plugin {plugin}\nplugin_opt_target localhost:{grpc_port}\n"
                        f"plugin_opt_node {name}\n"
                        f"plugin_opt_tls_ca_file {certs}/ca.pem\n"
                        f"plugin_opt_tls_cert_file {certs}/client.pem\n"
                        f"plugin_opt_tls_key_file {certs}/client.key\n"
                        f"plugin_opt_token_file {token_file}\n")
            procs.append(subprocess.Popen(["mosquitto", "-c", mconf],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            ok = wait_for(lambda: subprocess.run(
                ["mosquitto_pub", "-p", str(port), "-t", f"{name}/t", "-m", "hello",
                 "-i", f"{name}-pub"], capture_output=True).returncode == 0)
            check(f"{name} serves", ok)

        def bodies():
            if not os.path.exists(out):
                return []
            return [json.loads(json.loads(l)["body"]) for l in open(out) if l.strip()]

        def unauthenticated():
            with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
                m = re.search(r"^webhookgw_streams_unauthenticated_total (\d+)$",
                              r.read().decode(), re.M)
            return int(m.group(1))

        try:
            broker("good", os.path.join(work, "good.token"))
            check("publish over mutual TLS and token reaches the sink",
                  wait_for(lambda: any(b["topic"] == "good/t" for b in bodies())))
            broker("bad", os.path.join(work, "bad.token"))
            check("wrong token counted", wait_for(lambda: unauthenticated() > 0))
            time.sleep(1)
            check("nothing from the broker with the wrong token",
                  not any(b["topic"] == "bad/t" for b in bodies()))
            check("the token never appears in the gateway log", token not in open(log).read())
        finally:
            for p in reversed(procs):
                if p.poll() is None:
                    p.kill()
                    p.wait()
    print(f"plugin_tls_test: {0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
