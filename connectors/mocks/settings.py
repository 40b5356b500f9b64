"""Settings of the mock source systems: the synthetic dataset and the credentials."""

from __future__ import annotations

from dataclasses import dataclass

MAX_PERSONS = 1_000_000  # the citizen ID serial has six digits; the dataset embeds the index in it


@dataclass(frozen=True, slots=True)
class MockSettings:
    """Everything that makes two mock deployments serve the same data.

    The dataset is a pure function of ``seed`` and ``persons`` (and the defect rates), so a
    test process and a mock server process built with equal settings agree on every record.
    """

    seed: int = 57
    persons: int = 10_000
    conflict_rate: float = 0.01
    missing_optional_rate: float = 0.05
    stale_rate: float = 0.05
    api_key: str = "mock-api-key-khong-dung-that"
    oauth_client_id: str = "declare-once-hub"
    oauth_client_secret: str = "mock-client-secret"
    token_ttl_seconds: int = 300

    def __post_init__(self) -> None:
        if not 1 <= self.persons <= MAX_PERSONS:
            raise ValueError(f"persons must be between 1 and {MAX_PERSONS:,}")
        for name in ("conflict_rate", "missing_optional_rate", "stale_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {rate}")
        if self.token_ttl_seconds < 0:
            raise ValueError("token_ttl_seconds must not be negative")
