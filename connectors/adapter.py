"""What the hub knows about one kind of national source system: the record types it
serves, its shipped mappings and its default connection settings. No Python per field:
the mappings are data under ``connectors/mappings/``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from connectors.base import (
    ApiKeyAuth,
    BreakerPolicy,
    ConnectorConfig,
    OAuth2ClientCredentials,
    RetryPolicy,
    Timeouts,
)

MAPPINGS_PATH = Path(__file__).parent / "mappings"
_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class SystemAdapter:
    system: str  # population | civil_status | land | tax
    title: str
    record_types: tuple[str, ...]
    auth_kind: Literal["api_key", "oauth2"]
    timeouts: Timeouts = field(default_factory=Timeouts)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    max_concurrency: int = 32

    @property
    def mock_name(self) -> str:
        """The system's name among the mocks and on the command line (``civil-status``)."""
        return self.system.replace("_", "-")

    def mapping_files(self, directory: Path | None = None) -> list[Path]:
        """``<system>.<RecordType>.yaml`` (``civil-status.`` is accepted too), sorted."""
        folder = directory or MAPPINGS_PATH
        if not folder.is_dir():
            return []
        prefixes = {f"{self.system}.", f"{self.mock_name}."}
        return sorted(
            path
            for path in folder.iterdir()
            if path.suffix in _SUFFIXES and any(path.name.startswith(p) for p in prefixes)
        )

    def load_mappings(self, directory: Path | None = None) -> list[dict[str, Any]]:
        """The shipped mapping specs, as dicts ready for ``compile_mapping``."""
        specs = []
        for path in self.mapping_files(directory):
            text = path.read_text(encoding="utf-8")
            spec = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            if not isinstance(spec, dict):
                raise ValueError(f"{path}: a mapping file holds one mapping object")
            specs.append(spec)
        return specs

    def config(
        self,
        base_url: str,
        auth: ApiKeyAuth | OAuth2ClientCredentials | dict[str, Any] | None = None,
        **overrides: Any,
    ) -> ConnectorConfig:
        """A connector config with this system's defaults; ``overrides`` win."""
        values: dict[str, Any] = {
            "system": self.system,
            "base_url": base_url,
            "auth": auth,
            "timeouts": self.timeouts,
            "retries": self.retries,
            "breaker": self.breaker,
            "max_concurrency": self.max_concurrency,
        }
        values.update(overrides)
        return ConnectorConfig.model_validate(values)
