"""The node's Prometheus metrics and the loopback HTTP endpoint that serves them.

Metrics live in one process-wide registry (prometheus-client's default), defined here
once so that every part of a node records into the same names:

* ``credgate_rpc_requests_total`` / ``credgate_rpc_latency_seconds`` — every call served,
  by method and final status (recorded by ``gateway.rpc.interceptors.observer``);
* ``credgate_rpc_streams_closed_idle_total`` — streams closed because the client went silent;
* ``credgate_subject_check_rows_total`` / ``credgate_subject_check_members_answered`` /
  ``credgate_subject_check_dropouts_total`` — the bureau's check coverage and dropouts;
* ``credgate_egress_blocked_total`` — messages and files the egress guard stopped;
* ``credgate_privacy_budget_remaining`` — a member's zCDP ρ left per regulator and period;
* ``credgate_federated_rounds_total`` — finished federated-learning rounds seen by the bureau;
* ``credgate_crl_next_update_timestamp_seconds`` — when the CRL a node enforces expires.

No metric carries a subject, token or any value from a store: labels are method names,
status codes, member ids, detector names, regulator ids and periods.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.errors import ConfigError

_LOG = logging.getLogger(__name__)

RPC_REQUESTS = Counter(
    "credgate_rpc_requests", "Calls served, by method and final gRPC status.", ("method", "status")
)
RPC_LATENCY = Histogram(
    "credgate_rpc_latency_seconds",
    "Time from a call's admission to its last answer, by method and final gRPC status.",
    ("method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
STREAMS_CLOSED_IDLE = Counter(
    "credgate_rpc_streams_closed_idle", "Streams closed because their client stayed silent.", ("method",)
)
CHECK_ROWS = Counter(
    "credgate_subject_check_rows", "Subjects answered by the bureau, by outcome.", ("outcome",)
)
CHECK_MEMBERS_ANSWERED = Histogram(
    "credgate_subject_check_members_answered",
    "Members whose rows made up a subject-check round (coverage).",
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50),
)
CHECK_DROPOUTS = Counter(
    "credgate_subject_check_dropouts", "Members asked in a subject-check round that did not answer in time."
)
EGRESS_BLOCKED = Counter(
    "credgate_egress_blocked", "Outbound messages and files the egress guard stopped.", ("detector",)
)
CRL_NEXT_UPDATE = Gauge(
    "credgate_crl_next_update_timestamp_seconds", "nextUpdate of the revocation list this node enforces."
)


@dataclass(frozen=True)
class GaugeSource:
    """A gauge family computed when Prometheus scrapes (budget left, federated rounds)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    read: Callable[[], Iterable[tuple[tuple[str, ...], float]]]


class _ScrapedGauges(Collector):
    def __init__(self) -> None:
        self._sources: dict[str, GaugeSource] = {}

    def add(self, source: GaugeSource) -> None:
        self._sources[source.name] = source

    def collect(self) -> Iterator[Metric]:
        for source in list(self._sources.values()):
            family = GaugeMetricFamily(source.name, source.documentation, labels=list(source.labels))
            try:
                for labels, value in source.read():
                    family.add_metric(list(labels), value)
            except Exception:  # a broken source must not break the scrape; it is logged, not hidden
                _LOG.exception("metric_source_failed", extra={"metric": source.name})
            yield family


_SCRAPED = _ScrapedGauges()
REGISTRY.register(_SCRAPED)


def register_gauge(source: GaugeSource) -> None:
    """Compute ``source`` on every scrape (a later source of the same name replaces it)."""
    _SCRAPED.add(source)


@dataclass(frozen=True)
class MetricsEndpoint:
    """The running metrics HTTP server and the address it listens on."""

    address: str
    stop: Callable[[], None]


def serve_metrics(listen: str) -> MetricsEndpoint:
    """Serve ``/metrics`` over plain HTTP on a loopback ``host:port`` (port 0: the OS chooses).

    Raises
    ------
    ConfigError
        When the address is not loopback or cannot be bound.

    """
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ConfigError(f"metrics.listen must be a loopback address, received {listen!r}")
    try:
        server, thread = start_http_server(int(port), addr=host, registry=REGISTRY)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {listen}: {exc.strerror}") from exc

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    bound = server.server_address[1]
    _LOG.info("metrics_served", extra={"address": f"{host}:{bound}"})
    return MetricsEndpoint(f"{host}:{bound}", stop)
