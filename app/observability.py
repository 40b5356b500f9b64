"""Prometheus metrics. Each app owns its registry, so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hub_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        # Declare once (app/filings): counted when a filing is submitted.
        self.declare_once_fields = Counter(
            "hub_declare_once_fields_total",
            "Dossier fields of submitted filings, by procedure and origin (state or applicant).",
            ["procedure", "origin"],
            registry=self.registry,
        )
        self.declare_once_components = Counter(
            "hub_declare_once_components_total",
            "Dossier components of submitted filings, by procedure and origin.",
            ["procedure", "origin"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_duration_seconds",
            "HTTP request duration by route template and method.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
