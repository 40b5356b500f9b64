"""`declare-once citizen-token CITIZEN_ID` prints a token the hub accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.security.citizen import CitizenTokenVerifier
from tests.helpers.consents import CITIZEN

runner = CliRunner()


def test_citizen_token_prints_a_token_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    result = runner.invoke(cli, ["citizen-token", CITIZEN])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    principal = CitizenTokenVerifier(Settings()).verify(token)
    assert principal.citizen_id == CITIZEN


def test_citizen_token_refuses_a_malformed_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    result = runner.invoke(cli, ["citizen-token", "12345"])
    assert result.exit_code == 2
    assert not (tmp_path / "eid-issuer.pem").exists()
