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
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    data_dir: Path = Field(default=Path(".hub"), description="Keys, demo credentials and archives.")
    dictionary_path: Path | None = Field(
        default=None, description="Dictionary content folder; the shipped national content if unset."
    )
    log_level: str = "info"
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

    @cached_property
    def base_url(self) -> str:
        return self.public_base_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
