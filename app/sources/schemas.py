"""Request and response models of the connectors API. Secrets go in, never out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, JsonValue, field_validator

from app.timestamps import UtcDateTime
from connectors.base import (
    ApiKeyAuth,
    Auth,
    BreakerPolicy,
    OAuth2ClientCredentials,
    RetryPolicy,
    Timeouts,
)

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,99}$"
SYSTEMS = ("population", "civil_status", "land", "tax")


def normalise_system(value: str) -> str:
    return value.strip().lower().replace("-", "_")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# The connector framework's own models: what is posted is exactly what it runs with.
AuthIn = Auth
ApiKeyAuthIn = ApiKeyAuth
OAuth2AuthIn = OAuth2ClientCredentials
TimeoutsIn = Timeouts
RetriesIn = RetryPolicy
BreakerIn = BreakerPolicy


RecordTypeName = Annotated[str, Field(min_length=1, max_length=100)]


class MappingIn(_In):
    """The mapping for one record type: inline (``mapping``), or a shipped one by name
    (``shipped``, e.g. ``population.Person``). With neither, the shipped
    ``<system>.<record_type>`` is used."""

    record_type: RecordTypeName
    mapping: dict[str, Any] | None = None
    shipped: str | None = Field(default=None, min_length=1, max_length=100)


_SYSTEM_SPELLINGS: list[JsonValue] = [*SYSTEMS, "civil-status"]


class ConnectorCreate(_In):
    name: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="Unique; the system kind if unset."
    )
    system: str = Field(
        description="population, civil_status (or civil-status), land or tax.",
        json_schema_extra={"enum": _SYSTEM_SPELLINGS},
    )
    base_url: AnyHttpUrl
    auth: AuthIn | None = None
    record_types: list[RecordTypeName | MappingIn] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Record types with their mappings: a name (the shipped mapping), or "
        "{record_type, mapping | shipped}. Every record type of the system if unset.",
    )
    timeouts: TimeoutsIn = Field(default_factory=TimeoutsIn)
    retries: RetriesIn = Field(default_factory=RetriesIn)
    breaker: BreakerIn = Field(default_factory=BreakerIn)
    max_concurrency: int = Field(default=64, ge=1, le=1000)
    enabled: bool = True
    probe_subject: str | None = Field(
        default=None,
        max_length=64,
        description="Subject for the probe's sample fetch; the source's first listed subject "
        "if unset.",
    )

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        system = normalise_system(value)
        if system not in SYSTEMS:
            raise ValueError(f"system must be one of {', '.join(SYSTEMS)}")
        return system


class ConnectorPatch(_In):
    enabled: bool | None = None
    base_url: AnyHttpUrl | None = None
    auth: AuthIn | None = None
    mappings: list[MappingIn] | None = Field(
        default=None, description="New mapping versions (a record type may be new)."
    )
    activate: dict[str, int] | None = Field(
        default=None, description="Record type -> an existing mapping version to use again."
    )
    timeouts: TimeoutsIn | None = None
    retries: RetriesIn | None = None
    breaker: BreakerIn | None = None
    max_concurrency: int | None = Field(default=None, ge=1, le=1000)
    reprobe: bool = Field(default=False, description="Probe the source again after the change.")


class ProbeStep(BaseModel):
    step: str = Field(description="reachability, auth, sample or write (a dry run)")
    ok: bool
    status: str = Field(description="ok, failed or skipped")
    detail: str
    code: str | None = None
    kind: str | None = None
    record_type: str | None = None
    elapsed_ms: float | None = None


class ProbeReport(BaseModel):
    ok: bool
    checked_at: UtcDateTime
    sample_subjects: list[str] = Field(default_factory=list, description="Masked.")
    steps: list[ProbeStep]


class AuthOut(BaseModel):
    kind: Literal["none", "api_key", "oauth2"]
    header: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None
    secret_stored: bool = Field(description="A secret is held, encrypted; it is never shown.")


class MappingVersionOut(BaseModel):
    version: int
    shipped: str | None
    created_at: UtcDateTime
    created_by: str
    active: bool
    spec: dict[str, Any] | None = None


class RecordTypeOut(BaseModel):
    record_type: str
    active_version: int
    versions: list[MappingVersionOut]


class ConnectorOut(BaseModel):
    id: str
    name: str
    system: str
    base_url: str
    auth: AuthOut
    record_types: list[RecordTypeOut]
    timeouts: dict[str, Any]
    retries: dict[str, Any]
    breaker: dict[str, Any]
    max_concurrency: int
    enabled: bool
    probe: ProbeReport | None
    revision: int
    created_at: UtcDateTime
    updated_at: UtcDateTime


class HealthOut(BaseModel):
    connector_id: str
    name: str
    system: str
    enabled: bool
    revision: int
    stats: dict[str, Any]


class ScanRequest(_In):
    sample: int = Field(default=1000, ge=1, le=100_000)
    record_type: str | None = Field(default=None, max_length=100)
    conflicts_with: str | None = Field(
        default=None,
        max_length=100,
        description="Connector (id or name) to compare against; found by system if unset.",
    )
    concurrency: int = Field(default=16, ge=1, le=256)


class RecordTypeQuality(BaseModel):
    live: dict[str, Any] | None = Field(
        description="From live traffic: `since`, `correct`, `sufficient`, `live`, `clean`; "
        "null before the first pull."
    )
    scan: dict[str, Any] | None = Field(
        description="From the last sample scan: `scanned_at`, the scan's settings and the same "
        "scores; null before the first scan."
    )


class QualityReport(BaseModel):
    connector_id: str
    name: str
    record_types: dict[str, RecordTypeQuality]
