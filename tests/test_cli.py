"""The `declare-once` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from dictionary import load_dictionary

runner = CliRunner()


def test_dictionary_check_prints_a_summary_and_passes_on_the_national_content() -> None:
    result = runner.invoke(cli, ["dictionary", "check"])
    assert result.exit_code == 0, result.output
    assert "Person" in result.output and "LandParcel" in result.output
    assert "no problems" in result.output


def test_dictionary_check_fails_on_a_broken_dictionary(tmp_path: Path) -> None:
    (tmp_path / "elements").mkdir()
    (tmp_path / "elements" / "x.yaml").write_text(
        "namespace: x\nelements:\n  - id: x.thing\n    type: code\n    codelist: nowhere\n"
        "    sensitivity: public\n",
        encoding="utf-8",
    )
    result = runner.invoke(cli, ["dictionary", "check", "--path", str(tmp_path)])
    assert result.exit_code == 1


def test_validate_a_file_prints_a_summary_and_fails_on_invalid_records(tmp_path: Path) -> None:
    person = load_dictionary().record_type("Person").latest().examples.valid[0]
    lines = [orjson.dumps(person)] * 5 + [orjson.dumps({**person, "sex": "X"}), b"{broken"]
    good = tmp_path / "good.ndjson"
    good.write_bytes(b"\n".join(lines[:5]) + b"\n")
    mixed = tmp_path / "mixed.ndjson"
    mixed.write_bytes(b"\n".join(lines) + b"\n")
    ok = runner.invoke(cli, ["validate", "Person", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "5" in ok.output
    bad = runner.invoke(cli, ["validate", "Person", str(mixed)])
    assert bad.exit_code == 1
    assert "code_not_in_list" in bad.output and "malformed_json" in bad.output
    unknown = runner.invoke(cli, ["validate", "Unicorn", str(good)])
    assert unknown.exit_code == 2


def test_clients_create_prints_the_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    migrate.upgrade(url)
    created = runner.invoke(
        cli, ["clients", "create", "--name", "tax-office", "--role", "consumer", "--agency", "Tax"]
    )
    assert created.exit_code == 0, created.output
    assert "doh_" in created.output
    again = runner.invoke(cli, ["clients", "create", "--name", "tax-office", "--role", "consumer"])
    assert again.exit_code == 1
    assert "client_exists" in again.output
    bad_role = runner.invoke(cli, ["clients", "create", "--name", "x", "--role", "wizard"])
    assert bad_role.exit_code == 2


def test_serve_demo_refuses_a_host_that_is_not_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    for host in ("0.0.0.0", "::", "192.0.2.10", "hub.example.gov.vn"):
        result = runner.invoke(cli, ["serve", "--demo", "--host", host, "--port", "18998"])
        assert result.exit_code == 2, (host, result.output)
        assert "--demo serves on loopback only" in result.output, host
    assert not (tmp_path / "data").exists()


def test_the_command_line_writes_owner_only_files(tmp_path: Path) -> None:
    env = {
        "PATH": "",
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        "HUB_DATA_DIR": str(tmp_path / "data"),
    }
    # Under the most permissive usual umask, as a shell would start it.
    program = "import os; os.umask(0o022); from app.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", program, "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert oct((tmp_path / "hub.db").stat().st_mode & 0o777) == oct(0o600)
