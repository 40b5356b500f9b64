"""Reaching a source system over HTTP: configuration, the Connector protocol and HttpConnector.

One module per job, all public names importable from here:

- ``config``: what an integrator POSTs (timeouts, retries, breaker policy, auth, ``ConnectorConfig``);
- ``results``: ``SourceRecord``, ``ProbeStep``, ``ProbeReport``;
- ``breaker``: ``CircuitBreaker``;
- ``stats``: ``ConnectorStats``;
- ``oauth2``: the cached OAuth2 client-credentials token;
- ``http``: the ``Connector`` protocol and ``HttpConnector`` (guarded calls, retries, paging);
- ``probe``: ``HttpConnector.probe`` and its steps.
"""

from connectors.base.breaker import CircuitBreaker
from connectors.base.config import (
    HEADER_VALUE_PATTERN as HEADER_VALUE_PATTERN,
)
from connectors.base.config import (
    ApiKeyAuth,
    BreakerPolicy,
    ConnectorConfig,
    OAuth2ClientCredentials,
    RetryPolicy,
    Timeouts,
)
from connectors.base.config import Auth as Auth
from connectors.base.http import MAX_PAGES as MAX_PAGES
from connectors.base.http import USER_AGENT as USER_AGENT
from connectors.base.http import Connector, HttpConnector, WriteResponse
from connectors.base.results import ProbeReport, ProbeStep, SourceRecord
from connectors.base.stats import ERROR_KINDS as ERROR_KINDS
from connectors.base.stats import LATENCY_WINDOW as LATENCY_WINDOW
from connectors.base.stats import ConnectorStats
from connectors.errors import (
    BreakerOpen,
    ConnectorError,
    SourceAuthFailed,
    SourceInvalidRecord,
    SourceMalformed,
    SourceRejected,
    SourceTimeout,
    SourceUnavailable,
    SubjectNotFound,
)

__all__ = [
    "ApiKeyAuth",
    "BreakerOpen",
    "BreakerPolicy",
    "CircuitBreaker",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorStats",
    "HttpConnector",
    "OAuth2ClientCredentials",
    "ProbeReport",
    "ProbeStep",
    "RetryPolicy",
    "SourceAuthFailed",
    "SourceInvalidRecord",
    "SourceMalformed",
    "SourceRecord",
    "SourceRejected",
    "SourceTimeout",
    "SourceUnavailable",
    "SubjectNotFound",
    "Timeouts",
    "WriteResponse",
]
