"""Metrics: the endpoint serves what the engine counted; disabled means no endpoint."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dialerd.domain.agenttime import AgentSeconds, QueueTime
from dialerd.process.metrics import NullMetrics, PrometheusMetrics, make_metrics
from dialerd.settings import MetricsSettings


@pytest.fixture
def served() -> Iterator[tuple[PrometheusMetrics, int]]:
    metrics = PrometheusMetrics()
    port = metrics.serve("127.0.0.1", 0)
    yield metrics, port
    metrics.close()


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_endpoint_serves_every_metric(served: tuple[PrometheusMetrics, int]) -> None:
    metrics, port = served
    metrics.dial_started("renewals")
    metrics.dial_started("renewals")
    metrics.dial_started("survey")
    metrics.outcome("renewals", "busy")
    metrics.set_in_flight("renewals", 7)
    metrics.set_queue_depth("renewals", 120)
    metrics.lateness(0.3)
    metrics.lateness(42.0)
    metrics.pbx_up(True)
    metrics.reconnected()
    metrics.import_rejects("invalid_number", 3)
    metrics.import_rejects("duplicate", 0)
    metrics.deadline_missed("callbacks", 2)
    metrics.deadline_missed("renewals", 0)

    got = _scrape(port)
    assert got[("dialerd_dials_total", (("campaign", "renewals"),))] == 2
    assert got[("dialerd_dials_total", (("campaign", "survey"),))] == 1
    assert got[("dialerd_outcomes_total", (("campaign", "renewals"), ("code", "busy")))] == 1
    assert got[("dialerd_calls_in_flight", (("campaign", "renewals"),))] == 7
    assert got[("dialerd_queue_depth", (("campaign", "renewals"),))] == 120
    assert got[("dialerd_dispatch_lateness_seconds_count", ())] == 2
    assert got[("dialerd_dispatch_lateness_seconds_bucket", (("le", "0.5"),))] == 1
    assert got[("dialerd_dispatch_lateness_seconds_bucket", (("le", "60.0"),))] == 2
    assert got[("dialerd_pbx_link_up", ())] == 1
    assert got[("dialerd_pbx_reconnects_total", ())] == 1
    assert got[("dialerd_import_rejects_total", (("reason", "invalid_number"),))] == 3
    assert ("dialerd_import_rejects_total", (("reason", "duplicate"),)) not in got
    assert got[("dialerd_deadlines_missed_total", (("campaign", "callbacks"),))] == 2
    assert ("dialerd_deadlines_missed_total", (("campaign", "renewals"),)) not in got

    metrics.pbx_up(False)
    assert _scrape(port)[("dialerd_pbx_link_up", ())] == 0


def test_two_instances_do_not_share_a_registry() -> None:
    a, b = PrometheusMetrics(), PrometheusMetrics()
    a.reconnected()
    assert a.registry.get_sample_value("dialerd_pbx_reconnects_total") == 1
    assert b.registry.get_sample_value("dialerd_pbx_reconnects_total") == 0


def test_disabled_metrics_are_a_silent_no_op() -> None:
    metrics = make_metrics(MetricsSettings(enabled=False))
    assert isinstance(metrics, NullMetrics)
    assert metrics.serve("127.0.0.1", 0) == 0
    metrics.dial_started("x")
    metrics.outcome("x", "busy")
    metrics.lateness(1.0)
    metrics.close()


def test_enabled_metrics_listen_on_the_configured_address() -> None:
    settings = MetricsSettings(enabled=True, host="127.0.0.1", port=0)
    metrics = make_metrics(settings)
    try:
        assert isinstance(metrics, PrometheusMetrics)
        metrics.reconnected()
        port = metrics.serve(settings.host, settings.port)
        assert port == metrics.port
        assert _scrape(port)[("dialerd_pbx_reconnects_total", ())] == 1
    finally:
        metrics.close()


def test_agents_seconds_occupancy_and_customer_waits(served: tuple[PrometheusMetrics, int]) -> None:
    metrics, port = served
    total = AgentSeconds(ready=30, talking=90, wrap_up=20, paused=10, wrap_ups=1)
    hour = AgentSeconds(ready=10, talking=20, wrap_up=10)
    metrics.watch_agents(lambda: [QueueTime("callback-team", total, hour, (20.0,))])
    metrics.customer_wait("callback-team", 1.5)
    metrics.customer_wait("callback-team", 25.0)
    got = _scrape(port)
    team = ("queue", "callback-team")
    assert got[("dialerd_agent_seconds_total", (team, ("state", "talking")))] == 90
    assert got[("dialerd_agent_seconds_total", (team, ("state", "paused")))] == 10
    assert got[("dialerd_agent_wrap_ups_total", (team,))] == 1
    assert got[("dialerd_agent_occupancy", (team,))] == 0.75  # (20 + 10) / 40, this hour
    assert got[("dialerd_customer_wait_seconds_count", (team,))] == 2
    assert got[("dialerd_customer_wait_seconds_bucket", (("le", "20.0"), team))] == 1
