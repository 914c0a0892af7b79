"""docs/grafana-dashboard.json: valid JSON whose every query names metrics the daemon serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dialerd.process.metrics import PrometheusMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
METRIC = re.compile(r"\bdialerd_[a-z0-9_]+")
QUERY_KEYS = {"expr", "query", "definition"}


def _queries(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in QUERY_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item)


def _served() -> set[str]:
    """Every sample name a daemon's registry exposes once each metric has a value."""
    metrics = PrometheusMetrics()
    metrics.dial_started("c")
    metrics.outcome("c", "busy")
    metrics.set_in_flight("c", 1)
    metrics.set_queue_depth("c", 1)
    metrics.lateness(0.3)
    metrics.pbx_up(True)
    metrics.reconnected()
    metrics.import_rejects("bad_number", 1)
    return {s.name for family in metrics.registry.collect() for s in family.samples}


def test_every_queried_metric_is_served() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = list(_queries(doc))
    used = {name for q in queries for name in METRIC.findall(q)}
    assert len([p for p in doc["panels"] if p.get("targets")]) >= 8
    assert used <= _served(), f"not served by dialerd.process.metrics: {sorted(used - _served())}"
    families = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in _served()}
    queried = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in used}
    assert queried == families - {n for n in families if n.endswith("_created")}


def test_panels_are_laid_out_and_referenced() -> None:
    doc = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)) and doc["uid"] == "dialerd-overview"
    for panel in doc["panels"]:
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys() and panel["title"]
    operations = (DASHBOARD.parent / "operations.md").read_text(encoding="utf-8")
    assert "grafana-dashboard.json" in operations
