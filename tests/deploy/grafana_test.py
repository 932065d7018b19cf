#!/usr/bin/python3
"""Checks deploy/grafana/webhook-gateway.json against what the gateway exports.

  grafana_test.py DASHBOARD.json gateway/admin_server.cc

The metric names the gateway exposes are read from admin_server.cc (the
names it writes with Header(...)), so a renamed metric fails here instead of
leaving an empty panel on someone's screen.
"""

import json
import re
import sys
import unittest

DASHBOARD = None
ADMIN_SOURCE = None

# Labels each family carries, beyond those Prometheus adds (job, namespace, pod ...).
LABELS = {
    "webhookgw_events_received_total": {"event"},
    "webhookgw_events_filtered_total": {"event"},
    "webhookgw_deliveries_total": {"webhook", "outcome"},
    "webhookgw_http_responses_total": {"webhook", "status_class"},
    "webhookgw_retries_total": {"webhook"},
    "webhookgw_webhook_queue_events": {"webhook"},
    "webhookgw_http_connections": {"webhook"},
    "webhookgw_http_request_duration_seconds": {"webhook", "le"},
    "webhookgw_end_to_end_latency_seconds": {"webhook", "le"},
    "webhookgw_outbound_refused_total": {"webhook"},
    "webhookgw_parked_events": {"webhook"},
    "webhookgw_parked_total": {"webhook"},
    "webhookgw_spool_errors_total": {"webhook"},
}
SCRAPE_LABELS = {"job", "namespace", "pod", "instance"}


def exported_metrics():
    """{name: type} of every family admin_server.cc declares."""
    with open(ADMIN_SOURCE) as f:
        source = f.read()
    families = dict(re.findall(r'Header\(&out,\s*"(webhookgw_\w+)",\s*"(\w+)"', source))
    series = {}
    for name, kind in families.items():
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                series[name + suffix] = name
        else:
            series[name] = name
    return families, series


def panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard):
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            yield "variable " + var["name"], var["definition"]


class DashboardTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            cls.dashboard = json.load(f)
        cls.families, cls.series = exported_metrics()

    def test_source_declares_the_known_families(self):
        # Guards the extraction itself: an empty set would make the test vacuous.
        self.assertGreaterEqual(len(self.families), 15)
        self.assertEqual(self.families["webhookgw_end_to_end_latency_seconds"], "histogram")

    def test_every_metric_used_is_exported(self):
        used = set()
        for where, expr in queries(self.dashboard):
            names = set(re.findall(r"\bwebhookgw_\w+", expr))
            self.assertTrue(names, "%s: no webhookgw metric in %r" % (where, expr))
            for name in names:
                self.assertIn(name, self.series, "%s: %s is not exported" % (where, name))
            used |= {self.series[n] for n in names}
        # Every family has a panel.
        self.assertEqual(set(self.families) - used, set())

    def test_label_matchers_and_groupings_exist(self):
        for where, expr in queries(self.dashboard):
            for name, selector in re.findall(r"\b(webhookgw_\w+)\{([^}]*)\}", expr):
                family = self.series[name]
                for label in re.findall(r"(\w+)\s*[=!]~?", selector):
                    self.assertIn(label, LABELS.get(family, set()) | SCRAPE_LABELS,
                                  "%s: %s has no label %s" % (where, name, label))
            for group in re.findall(r"by \(([^)]*)\)", expr):
                for label in (g.strip() for g in group.split(",")):
                    self.assertTrue(any(label in LABELS.get(self.series[n], set()) | SCRAPE_LABELS
                                        for n in re.findall(r"\bwebhookgw_\w+", expr)),
                                    "%s: grouping by unknown label %s" % (where, label))

    def test_latency_quantiles(self):
        exprs = [e for _, e in queries(self.dashboard)]
        for family in ("webhookgw_http_request_duration_seconds",
                       "webhookgw_end_to_end_latency_seconds"):
            for q in ("0.5", "0.99"):
                self.assertTrue(any(e.startswith("histogram_quantile(%s," % q) and
                                    family + "_bucket" in e and "le" in e for e in exprs),
                                "no p%s of %s" % (q, family))

    def test_datasource_variable_used_everywhere(self):
        variables = {v["name"]: v for v in self.dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        for panel in panels(self.dashboard):
            if panel["type"] == "row":
                continue
            self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"]["uid"], "${datasource}", panel["title"])

    def test_layout(self):
        ids = [p["id"] for p in panels(self.dashboard)]
        self.assertEqual(len(ids), len(set(ids)))
        for panel in panels(self.dashboard):
            pos = panel["gridPos"]
            self.assertLessEqual(pos["x"] + pos["w"], 24, panel["title"])
        titles = " ".join(p["title"].lower() for p in panels(self.dashboard))
        for word in ("received", "filtered", "outcome", "status class", "retries", "dead letters",
                     "queued events", "queued bytes", "streams open", "connections",
                     "request duration", "end-to-end"):
            self.assertIn(word, titles)


if __name__ == "__main__":
    DASHBOARD, ADMIN_SOURCE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
