"""Prometheus metrics: what the engine counts, served on ``settings.metrics`` when enabled.

The engine calls a ``Metrics`` (or ``NullMetrics`` when disabled: same methods, no
cost). Each ``PrometheusMetrics`` has its own ``CollectorRegistry`` so several can
live in one process (tests) without clashing over the global registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dialerd.domain.agenttime import QueueTime
from dialerd.logconfig import get_logger
from dialerd.settings import MetricsSettings

log = get_logger(__name__)

# Seconds between a number's due time and its dial: sub-second is the goal, minutes is a backlog.
LATENESS_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
# A customer's wait for an agent after answering: seed 001 wants calls taken within 20 s.
WAIT_BUCKETS_S = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
AGENT_STATES = ("ready", "ringing", "talking", "wrap_up", "paused")


class Metrics(Protocol):
    """The counters and gauges the engine updates."""

    def dial_started(self, campaign: str) -> None: ...
    def outcome(self, campaign: str, code: str) -> None: ...
    def set_in_flight(self, campaign: str, n: int) -> None: ...
    def set_queue_depth(self, campaign: str, n: int) -> None: ...
    def lateness(self, seconds: float) -> None: ...
    def pbx_up(self, up: bool) -> None: ...
    def reconnected(self) -> None: ...
    def import_rejects(self, reason: str, n: int) -> None: ...
    def deadline_missed(self, campaign: str, n: int) -> None: ...
    def customer_wait(self, queue: str, seconds: float) -> None: ...
    def watch_agents(self, source: Callable[[], list[QueueTime]]) -> None: ...
    def serve(self, host: str, port: int) -> int: ...
    def close(self) -> None: ...


class NullMetrics:
    """Metrics disabled: every call does nothing."""

    def dial_started(self, campaign: str) -> None:
        pass

    def outcome(self, campaign: str, code: str) -> None:
        pass

    def set_in_flight(self, campaign: str, n: int) -> None:
        pass

    def set_queue_depth(self, campaign: str, n: int) -> None:
        pass

    def lateness(self, seconds: float) -> None:
        pass

    def pbx_up(self, up: bool) -> None:
        pass

    def reconnected(self) -> None:
        pass

    def import_rejects(self, reason: str, n: int) -> None:
        pass

    def deadline_missed(self, campaign: str, n: int) -> None:
        pass

    def customer_wait(self, queue: str, seconds: float) -> None:
        pass

    def watch_agents(self, source: Callable[[], list[QueueTime]]) -> None:
        pass

    def serve(self, host: str, port: int) -> int:
        return 0

    def close(self) -> None:
        pass


class PrometheusMetrics:
    """The real thing; ``serve()`` starts the HTTP endpoint on its own thread."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self._dials = Counter("dialerd_dials", "Dials started", ["campaign"], registry=r)
        self._outcomes = Counter(
            "dialerd_outcomes", "Dial results by outcome code", ["campaign", "code"], registry=r
        )
        self._in_flight = Gauge(
            "dialerd_calls_in_flight", "Calls in flight", ["campaign"], registry=r
        )
        self._queue = Gauge(
            "dialerd_queue_depth", "Numbers due now, not yet dialled", ["campaign"], registry=r
        )
        self._lateness = Histogram(
            "dialerd_dispatch_lateness_seconds",
            "Seconds between a number's due time and its dial",
            buckets=LATENESS_BUCKETS_S,
            registry=r,
        )
        self._pbx_up = Gauge("dialerd_pbx_link_up", "1 when the PBX link is up", registry=r)
        self._reconnects = Counter("dialerd_pbx_reconnects", "PBX link reconnects", registry=r)
        self._rejects = Counter(
            "dialerd_import_rejects", "Contact rows rejected on import", ["reason"], registry=r
        )
        self._missed = Counter(
            "dialerd_deadlines_missed",
            "Contacts closed or paused because their deadline passed before they were reached",
            ["campaign"],
            registry=r,
        )
        self._wait = Histogram(
            "dialerd_customer_wait_seconds",
            "An answered dial's wait for an agent: answer to agent, or to abandon",
            ["queue"],
            buckets=WAIT_BUCKETS_S,
            registry=r,
        )
        self._server: WSGIServer | None = None
        self.port: int | None = None

    def serve(self, host: str, port: int) -> int:
        """Start the HTTP endpoint; returns the bound port (useful with port 0)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        thread.name = "metrics-http"  # the supervisor's "metrics" worker owns it
        self._server = server
        bound: int = server.server_address[1]
        self.port = bound
        log.info("metrics_listening", host=host, port=bound)
        return bound

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def dial_started(self, campaign: str) -> None:
        self._dials.labels(campaign=campaign).inc()

    def outcome(self, campaign: str, code: str) -> None:
        self._outcomes.labels(campaign=campaign, code=code).inc()

    def set_in_flight(self, campaign: str, n: int) -> None:
        self._in_flight.labels(campaign=campaign).set(n)

    def set_queue_depth(self, campaign: str, n: int) -> None:
        self._queue.labels(campaign=campaign).set(n)

    def lateness(self, seconds: float) -> None:
        self._lateness.observe(max(0.0, seconds))

    def pbx_up(self, up: bool) -> None:
        self._pbx_up.set(1 if up else 0)

    def reconnected(self) -> None:
        self._reconnects.inc()

    def import_rejects(self, reason: str, n: int) -> None:
        if n > 0:
            self._rejects.labels(reason=reason).inc(n)

    def deadline_missed(self, campaign: str, n: int) -> None:
        if n > 0:
            self._missed.labels(campaign=campaign).inc(n)

    def customer_wait(self, queue: str, seconds: float) -> None:
        self._wait.labels(queue=queue).observe(max(0.0, seconds))

    def watch_agents(self, source: Callable[[], list[QueueTime]]) -> None:
        """Read the agents' seconds from ``source`` at each scrape."""
        self.registry.register(_AgentCollector(source))


class _AgentCollector(Collector):
    """The queue tracker's agent seconds, as counters and this hour's occupancy."""

    def __init__(self, source: Callable[[], list[QueueTime]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        seconds = CounterMetricFamily(
            "dialerd_agent_seconds",
            "Agents' seconds by queue and state since the daemon started (logged in: all of "
            "them; occupancy = rate(talking + wrap_up) / rate(all))",
            labels=["queue", "state"],
        )
        wraps = CounterMetricFamily(
            "dialerd_agent_wrap_ups", "Wrap-up spells that ended", labels=["queue"]
        )
        occupancy = GaugeMetricFamily(
            "dialerd_agent_occupancy",
            "(talk + wrap-up) / logged-in time of the queue's agents, this UTC hour so far",
            labels=["queue"],
        )
        for t in self._source():
            for state in AGENT_STATES:
                seconds.add_metric([t.queue, state], getattr(t.total, state))
            wraps.add_metric([t.queue], t.total.wrap_ups)
            if (occ := t.this_hour.occupancy) is not None:
                occupancy.add_metric([t.queue], occ)
        yield seconds
        yield wraps
        yield occupancy

    def describe(self) -> Iterator[Metric]:
        return iter(())  # no scrape at registration (the source may not be up yet)


def make_metrics(settings: MetricsSettings) -> Metrics:
    """``PrometheusMetrics`` when enabled, else ``NullMetrics``; call ``serve`` to listen."""
    return PrometheusMetrics() if settings.enabled else NullMetrics()
