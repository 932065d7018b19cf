#!/usr/bin/env python3
"""The plugin must never change an auth or ACL decision of mosquitto 2.0.11.

The same client scenarios run against brokers without the plugin and with
it (options left to "auto", and stated explicitly), in five setups (no
password or ACL file, a password file, the same per listener, an ACL file,
both) and after a
reload (SIGHUP) from the first setup to the last. Every outcome
(CONNECT accepted or refused, SUBACK codes, message received or not) must
be identical. Two negative controls load the plugin with a wrong answer and
require a difference, which shows the scenarios can see one.

Usage: auth_neutrality_test.py PLUGIN_SO
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import broker_harness as h  # noqa: E402

SENTINEL = "sentinel/done"


def sub_pub_scenario(port, name, sub_auth, sub_filters, pub_auth, pub_topic, version):
    """Subscribes, publishes, then publishes a sentinel every setup allows.

    The sentinel is published by a client that every setup accepts, after
    the test message; the broker routes in order, so once the sentinel has
    arrived the test message has arrived too or never will.
    """
    sub = h.Subscriber(port, sub_filters + [SENTINEL], version=version, qos=1,
                       client_id=f"{name}-sub", **sub_auth)
    try:
        suback = sub.wait_suback()
        if suback is None:
            return {"sub_connect": "refused"}
        pub_rc, _ = h.publish(port, pub_topic, f"{name}-payload", version=version,
                              client_id=f"{name}-pub", **pub_auth)
        rc, err = h.publish(port, SENTINEL, "end", client_id=f"{name}-sentinel",
                            **SENTINEL_AUTH)
        if rc != 0:
            # Only a plugin that changes decisions gets here; the difference
            # from the run without it is reported by the caller.
            return {"suback": suback, "pub_exit": pub_rc, "sentinel_refused": err}
        messages = sub.wait_message(SENTINEL)
        return {
            "suback": suback,
            "pub_exit": pub_rc,
            "received": any(t == pub_topic for t, _ in messages),
            "sentinel": any(t == SENTINEL for t, _ in messages),
        }
    finally:
        sub.stop()


def connect_scenario(port, name, auth, version):
    rc, err = h.publish(port, "probe/" + name, "x", version=version, client_id=name, **auth)
    return {"connect_exit": rc, "error": err}


# Every setup accepts this client and lets it publish the sentinel.
SENTINEL_AUTH = {"user": "alice", "password": "good"}

PASSWORDS = {"alice": "good", "bob": "other"}

ACL = """topic readwrite sentinel/#
pattern readwrite sentinel/#
user alice
topic readwrite allowed/#
topic read ro/#
user bob
topic write ro/#
"""

SETUPS = {
    "anonymous": {
        "config": ["allow_anonymous true"],
        "files": {},
        "explicit": ["plugin_opt_basic_auth allow", "plugin_opt_acl_check allow"],
    },
    "password": {
        "config": ["allow_anonymous false", "password_file {dir}/passwords"],
        "files": {},
        "explicit": ["plugin_opt_basic_auth defer", "plugin_opt_acl_check allow"],
    },
    "acl": {
        "config": ["allow_anonymous true", "acl_file {dir}/acl"],
        "files": {"acl": ACL},
        "explicit": ["plugin_opt_basic_auth allow", "plugin_opt_acl_check defer"],
    },
    # per_listener_settings: the plugin cannot tell the listeners apart, so
    # "auto" refuses to start (checked in main) and the answers are stated.
    "per-listener password": {
        "config": ["per_listener_settings true", "allow_anonymous false",
                   "password_file {dir}/passwords"],
        "files": {},
        "explicit": ["plugin_opt_basic_auth defer", "plugin_opt_acl_check allow"],
        "auto": False,
    },
    "password+acl": {
        "config": ["allow_anonymous false", "password_file {dir}/passwords",
                   "acl_file {dir}/acl"],
        "files": {"acl": ACL},
        "explicit": ["plugin_opt_basic_auth defer", "plugin_opt_acl_check defer"],
    },
}

ALICE = {"user": "alice", "password": "good"}


def scenarios(port):
    out = {}
    for v in ("mqttv311", "mqttv5"):
        out[f"anon-{v}"] = connect_scenario(port, f"anon-{v}", {}, v)
        out[f"alice-good-{v}"] = connect_scenario(port, f"ag-{v}", ALICE, v)
        out[f"alice-bad-{v}"] = connect_scenario(
            port, f"ab-{v}", {"user": "alice", "password": "bad"}, v)
        out[f"carol-{v}"] = connect_scenario(
            port, f"carol-{v}", {"user": "carol", "password": "x"}, v)
        out[f"alice-allowed-{v}"] = sub_pub_scenario(
            port, f"al-{v}", ALICE, ["allowed/#"], ALICE, "allowed/x", v)
        out[f"alice-secret-{v}"] = sub_pub_scenario(
            port, f"as-{v}", ALICE, ["secret/#", "allowed/#"], ALICE, "secret/x", v)
        out[f"alice-readonly-{v}"] = sub_pub_scenario(
            port, f"ar-{v}", ALICE, ["ro/#"], ALICE, "ro/x", v)
        out[f"bob-writes-ro-{v}"] = sub_pub_scenario(
            port, f"bw-{v}", ALICE, ["ro/#"], {"user": "bob", "password": "other"}, "ro/y", v)
        out[f"anon-sub-{v}"] = sub_pub_scenario(
            port, f"an-{v}", {}, ["allowed/#"], ALICE, "allowed/z", v)
    return out


def password_file_text():
    """A password file made by mosquitto_passwd, as the broker would read it."""
    with tempfile.TemporaryDirectory(prefix="wgw_pw_") as tmp:
        path = os.path.join(tmp, "passwords")
        h.make_password_file(path, PASSWORDS)
        with open(path) as f:
            return f.read()


def run_setup(setup, lines, passwords):
    files = dict(setup["files"], passwords=passwords)
    with h.run_broker(setup["config"] + lines, files=files,
                      env={"WGW_STUB_EVENTS": os.devnull}) as broker:
        return scenarios(broker.port)


def auto_refuses(setup, so, passwords):
    """Where the configuration cannot tell the answers, "auto" must stop the
    broker with a message asking for them, not guess."""
    files = dict(setup["files"], passwords=passwords)
    try:
        with h.run_broker(setup["config"] + plugin_lines(so, []), files=files,
                          env={"WGW_STUB_EVENTS": os.devnull}):
            print("  auto: broker started, but it must refuse")
            return False
    except RuntimeError as e:
        ok = "set plugin_opt_basic_auth and plugin_opt_acl_check explicitly" in str(e)
        print(f"  auto: broker refused to start ({'ok' if ok else 'WRONG MESSAGE'})")
        return ok


def run_reload(after, lines, passwords):
    """Starts as the anonymous setup, reloads into `after`, runs scenarios."""
    files = dict(after["files"], passwords=passwords)
    with h.run_broker(SETUPS["anonymous"]["config"] + lines, files=files,
                      env={"WGW_STUB_EVENTS": os.devnull}) as broker:
        wait = ["Reloading config."] + (["webhookgw: reload"] if lines else [])
        broker.reload(after["config"] + lines, wait_for=wait)
        return scenarios(broker.port)


def plugin_lines(so, extra):
    return [f"plugin {so}", "plugin_opt_target 127.0.0.1:1", "plugin_opt_node test",
            "plugin_opt_delivered true", "plugin_opt_shutdown_timeout_ms 1"] + extra


def diff(a, b):
    return {k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}


def main():
    so = os.path.abspath(sys.argv[1])
    passwords = password_file_text()
    failures = 0
    for name, setup in SETUPS.items():
        baseline = run_setup(setup, [], passwords)
        variants = [("explicit", setup["explicit"])]
        if setup.get("auto", True):
            variants.insert(0, ("auto", []))
        else:
            failures += not auto_refuses(setup, so, passwords)
        for variant, extra in variants:
            got = run_setup(setup, plugin_lines(so, extra), passwords)
            d = diff(baseline, got)
            status = "ok" if not d else "CHANGED"
            print(f"{name}/{variant}: {len(baseline)} scenarios {status}")
            for k, (want, have) in d.items():
                print(f"  {k}: without plugin {want}, with plugin {have}")
            failures += bool(d)
        sanity(name, baseline)

    # A reload that adds a password file and an ACL file: "auto" must follow.
    after = SETUPS["password+acl"]
    base = run_reload(after, [], passwords)
    got = run_reload(after, plugin_lines(so, []), passwords)
    d = diff(base, got)
    print(f"reload anonymous -> password+acl/auto: {len(base)} scenarios "
          f"{'ok' if not d else 'CHANGED'}")
    for k, (want, have) in d.items():
        print(f"  {k}: without plugin {want}, with plugin {have}")
    failures += bool(d)
    sanity("password+acl", base)

    # Negative controls: a wrong answer must show up as a difference.
    for name, wrong in (("anonymous", ["plugin_opt_basic_auth defer",
                                       "plugin_opt_acl_check defer"]),
                        ("password", ["plugin_opt_basic_auth allow",
                                      "plugin_opt_acl_check allow"])):
        base = run_setup(SETUPS[name], [], passwords)
        got = run_setup(SETUPS[name], plugin_lines(so, wrong), passwords)
        d = diff(base, got)
        print(f"{name}/wrong-answer control: {len(d)} scenarios changed (must be > 0)")
        for k, (want, have) in sorted(d.items())[:3]:
            print(f"  e.g. {k}: without plugin {want}, with plugin {have}")
        failures += not d
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


def sanity(name, r):
    """The setups must really differ, or neutrality would prove little."""
    checks = {
        "anonymous": [r["anon-mqttv311"]["connect_exit"] == 0,
                      r["carol-mqttv5"]["connect_exit"] == 0,
                      r["alice-secret-mqttv5"].get("received") is True],
        "password": [r["anon-mqttv311"]["connect_exit"] != 0,
                     r["alice-bad-mqttv5"]["connect_exit"] != 0,
                     r["alice-good-mqttv311"]["connect_exit"] == 0],
        # mosquitto 2.0.11 grants SUBSCRIBEs an ACL file denies and checks
        # read access per message instead.
        "acl": [r["alice-secret-mqttv311"].get("received") is False,
                r["anon-sub-mqttv5"].get("received") is False,
                r["alice-readonly-mqttv5"].get("received") is False,
                r["bob-writes-ro-mqttv311"].get("received") is True,
                        r["alice-allowed-mqttv5"].get("received") is True],
        "per-listener password": [r["anon-mqttv311"]["connect_exit"] != 0,
                                  r["alice-bad-mqttv5"]["connect_exit"] != 0,
                                  r["alice-good-mqttv5"]["connect_exit"] == 0],
        "password+acl": [r["anon-mqttv5"]["connect_exit"] != 0,
                         r["alice-readonly-mqttv5"].get("received") is False,
                         r["bob-writes-ro-mqttv311"].get("received") is True],
    }[name]
    if not all(checks):
        raise SystemExit(f"{name}: setup does not behave as the test assumes: {r}")


if __name__ == "__main__":
    sys.exit(main())
