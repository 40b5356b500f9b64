"""The API contract as integrators generate clients from it (``/openapi.json``).

Every operation has a short unique id and a named success model; every error it can send is
documented as a Problem (never FastAPI's ``HTTPValidationError``); every integer parameter
is bounded; and ``openapi-python-client`` generates a typed client from the live schema.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from tests.helpers.clients import MakeClient

VENV_BIN = Path(sys.executable).parent
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
PROBLEM_REF = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as the app serves it (no database is needed to build it)."""
    folder = tmp_path_factory.mktemp("schema")
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{folder}/hub.db"))
    return app.openapi()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_id_is_short_unique_and_snake_case(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _label, operation in operations(schema)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-z0-9_]{2,40}", operation_id), operation_id
        assert "_v1_" not in operation_id and not operation_id.endswith(("_get", "_post"))
    assert {"pull_record", "submit_filing", "list_clients", "record_consent"} <= set(ids)


def _named(schema: dict[str, Any]) -> bool:
    if "$ref" in schema:
        return True
    if "anyOf" in schema:
        return all(_named(variant) for variant in schema["anyOf"])
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def test_every_json_success_has_a_named_model(schema: dict[str, Any]) -> None:
    unnamed = []
    for label, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, content in response.get("content", {}).items():
                if media_type == "application/json" and not _named(content.get("schema", {})):
                    unnamed.append(f"{label} {status}")
                if not media_type.endswith("json"):
                    assert content.get("schema") == {"type": "string"}, (label, media_type)
    assert not unnamed


def test_model_names_are_unique_and_plain(schema: dict[str, Any]) -> None:
    names = set(schema["components"]["schemas"])
    # pydantic qualifies a clashing name with its module (app__exchange__schemas__...).
    assert not [name for name in names if "__" in name]
    assert {"FilingOut", "PullOut", "ConsentOut", "Problem"} <= names
    assert not names & {"HTTPValidationError", "ValidationError"}


def test_every_error_is_a_problem_and_authenticated_routes_document_401_and_403(
    schema: dict[str, Any],
) -> None:
    for label, operation in operations(schema):
        responses = operation["responses"]
        assert "400" in responses, label
        if operation.get("security"):
            assert {"401", "403"} <= set(responses), label
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in responses, label
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            content = response["content"]
            if label == "GET /readyz" and status == "503":
                continue  # not ready: the same body as ready, with the failing check
            assert list(content) == ["application/problem+json"], (label, status)
            assert content["application/problem+json"]["schema"] == {"$ref": PROBLEM_REF}


def test_the_filings_and_citizen_routes_document_401_and_403(schema: dict[str, Any]) -> None:
    for path in ("/v1/filings", "/v1/me/filings", "/v1/me/corrections", "/v1/stats/declare-once"):
        for operation in schema["paths"][path].values():
            assert {"401", "403"} <= set(operation["responses"]), path


def test_every_integer_parameter_is_bounded_to_64_bits(schema: dict[str, Any]) -> None:
    found = 0
    for label, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            variants = parameter["schema"].get("anyOf", [parameter["schema"]])
            for variant in variants:
                if variant.get("type") != "integer":
                    continue
                found += 1
                assert variant.get("minimum", INT64_MIN - 1) >= INT64_MIN, (label, parameter)
                assert variant.get("maximum", INT64_MAX + 1) <= INT64_MAX, (label, parameter)
    assert found >= 3


async def test_an_integer_beyond_64_bits_is_a_validation_problem_not_a_server_error(
    client: httpx.AsyncClient, make_api_client: MakeClient
) -> None:
    auditor = await make_api_client("auditor")
    for url in (
        f"/v1/audit/events/{2**63}/proof",
        f"/v1/audit/verify?from={2**63}",
        f"/v1/audit/verify?to={2**64}",
        "/v1/audit/events/-1/proof",
    ):
        answer = await client.get(url, headers=auditor.headers)
        assert answer.status_code == 422, (url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "request_invalid"


def test_a_generated_client_is_typed(schema: dict[str, Any], tmp_path: Path) -> None:
    """openapi-python-client: no warning but the NDJSON body it cannot model, and the pull,
    the filing and the consent functions return models."""
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(schema))
    output = tmp_path / "hub_client"
    generated = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(output),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin"},
        check=False,
    )
    log = generated.stdout + generated.stderr
    assert generated.returncode == 0, log
    assert "Unable to" not in log and "Could not" not in log, log
    warnings = re.findall(r"^WARNING.*\n\s*(.*)$", log, re.MULTILINE)
    assert warnings == ["Unsupported content type application/x-ndjson"], log

    sys.path.insert(0, str(tmp_path))
    try:
        returns = {
            name: str(
                inspect.signature(importlib.import_module(f"hub_client.api.{name}").sync)
            ).rsplit(" -> ", 1)[-1]
            for name in ("exchange.pull_record", "filings.submit_filing", "consents.get_consent")
        }
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m.split(".")[0] == "hub_client"]:
            del sys.modules[module]
    assert "models.pull_out.PullOut" in returns["exchange.pull_record"]
    assert "models.filing_out.FilingOut" in returns["filings.submit_filing"]
    assert "models.consent_out.ConsentOut" in returns["consents.get_consent"]
