"""The subscriptions' hub: its webhook sender is driven by the tests (``run_once``), and the
Standard Webhooks retry schedule is cut to nothing, so a retry is due at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        auth_cache_seconds=0.0,
        max_body_bytes=64 * 1024,
        delivery_sender=False,
        change_feeds=False,
        webhook_sender=False,
        webhook_retry_scale=0.0,
        webhook_timeout_seconds=2.0,
    )
