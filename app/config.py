"""Settings: one pydantic-settings class, read from environment variables prefixed ``HUB_``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the hub. The README lists them; keep the two in step."""

    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///.hub/hub.db",
        description="SQLAlchemy async URL. SQLite (embedded) by default; postgresql+asyncpg in production.",
    )
    host: str = Field(default="127.0.0.1", description="Interface to serve on.")
    port: int = Field(default=8000, description="Port to serve on.")
    data_dir: Path = Field(default=Path(".hub"), description="Keys, demo credentials and archives.")
    dictionary_path: Path | None = Field(
        default=None,
        description="Dictionary content folder; the shipped national content if unset.",
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    max_body_bytes: int = Field(default=1_048_576, description="Largest request body (bytes).")
    max_batch_body_bytes: int = Field(
        default=268_435_456, description="Largest body for the batch validation endpoint (bytes)."
    )
    auth_cache_seconds: float = Field(
        default=2.0, description="How long a verified API key stays cached in one instance."
    )
    demo: bool = Field(
        default=False,
        description="Mount the four mock source systems, register their connectors and write "
        "demo credentials (make run sets it).",
    )
    public_base_url: str | None = Field(
        default=None, description="Base URL that clients use; http://HOST:PORT if unset."
    )
    audit_hmac_key: SecretStr | None = Field(
        default=None,
        description="Key for subject HMACs in the access log; generated into data_dir if unset.",
    )
    audit_flush_ms: float = Field(
        default=0.0,
        description=(
            "Group commit: how long a lone audit event waits for company (ms). 0 writes it at "
            "once; events that queue during a commit still share the next one."
        ),
    )
    audit_batch_max: int = Field(
        default=1000, description="Group commit: most audit events written in one transaction."
    )
    audit_write_timeout_seconds: float = Field(
        default=10.0, description="An audit write slower than this fails as audit_unavailable."
    )
    audit_sealer: bool = Field(
        default=True, description="Run the sealer in this instance (one seals at a time)."
    )
    audit_seal_interval_seconds: float = Field(
        default=1.0, description="A batch is sealed at the latest this long after its first event."
    )
    audit_seal_max_events: int = Field(
        default=10_000, description="...or as soon as it holds this many events."
    )
    audit_retention_days: float | None = Field(
        default=None,
        description="Archive sealed batches older than this to data_dir/archive, then delete "
        "them from the database. Unset: keep everything.",
    )
    audit_archive_check_seconds: float = Field(
        default=3600.0, description="How often the sealer applies the retention period."
    )
    connector_secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key (urlsafe base64, 32 bytes) that encrypts connector credentials "
        "at rest; generated into data_dir if unset. Every instance needs the same key.",
    )
    connector_refresh_seconds: float = Field(
        default=2.0,
        description="Longest time a connector change made on another instance takes to reach "
        "this one (bounded staleness of the in-memory connector registry).",
    )
    dictionary_refresh_seconds: float = Field(
        default=2.0,
        description="Longest time a dictionary change made on another instance (a publish, a "
        "status step, a compatibility mode) takes to reach this one's dictionary and "
        "validation routes.",
    )
    delivery_sender: bool = Field(
        default=True,
        description="Send the outbox's deliveries from this instance (several may: each "
        "delivery is claimed by one).",
    )
    delivery_poll_seconds: float = Field(
        default=0.25, gt=0, description="How often the sender looks for due deliveries."
    )
    delivery_batch: int = Field(
        default=32, ge=1, le=1000, description="Most deliveries one instance claims at a time."
    )
    delivery_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A claimed delivery not settled within this time (its instance died) is "
        "taken over by another.",
    )
    delivery_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts before a delivery is failed."
    )
    delivery_backoff_seconds: float = Field(
        default=2.0, gt=0, description="Wait before the second attempt; doubles, with jitter."
    )
    delivery_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest wait between two attempts."
    )
    change_feeds: bool = Field(
        default=True,
        description="Read the source systems' change feeds from this instance (several may: "
        "each page is taken once).",
    )
    change_feed_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often each change feed is read."
    )
    webhook_sender: bool = Field(
        default=True,
        description="Send the subscriptions' webhooks from this instance (several may: each "
        "event is claimed by one).",
    )
    webhook_poll_seconds: float = Field(
        default=0.25, gt=0, description="How often the webhook sender looks for due events."
    )
    webhook_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Most webhooks one instance has in flight."
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="A receiver slower than this fails the attempt."
    )
    webhook_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A claimed webhook not settled within this time (its instance died) is "
        "taken over by another.",
    )
    webhook_retry_scale: float = Field(
        default=1.0,
        ge=0,
        description="Multiplies the Standard Webhooks retry schedule (0, 5 s, 5 min, 30 min, "
        "2 h, 5 h, 10 h, 10 h); tests shorten it.",
    )
    webhook_allowed_hosts: list[str] = Field(
        default=["127.0.0.1", "localhost", "::1"],
        description="The only hosts webhooks may be sent to (JSON list); https is required "
        "except for loopback hosts.",
    )
    webhook_secret_grace_seconds: float = Field(
        default=86_400.0,
        ge=0,
        description="After a secret rotation, how long the previous secret keeps signing too.",
    )
    change_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="How far back a subscription's pull feed and replay reach; settled "
        "webhooks older than this are deleted.",
    )
    quality_flush_seconds: float = Field(
        default=5.0, description="How often live data-quality counters are written to the database."
    )

    eid_issuer: str = Field(
        default="urn:vn:declare-once:mock-eid",
        description="The `iss` that citizen eID tokens must carry.",
    )
    eid_audience: str = Field(
        default="declare-once-hub", description="The `aud` that citizen eID tokens must carry."
    )
    eid_public_key_pem: str | None = Field(
        default=None,
        description="PEM Ed25519 public key of the national eID issuer. Unset: the hub's mock "
        "issuer (key in data_dir) signs and verifies demo tokens.",
    )

    @cached_property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
