"""Property-based API test: schemathesis over every operation, as every kind of caller.

Every operation of ``/openapi.json`` is called with generated data (inside and outside its
schema) as an admin, a consumer, an integrator and an auditor (API keys), as a citizen (eID
token) and with no credentials, against the real app and database. Every answer must pass
every schemathesis check: no server error, a documented status code and content type, a
body that conforms to the declared schema, schema-invalid data refused, and schema-valid
data accepted, or refused only for who is calling, what exists, or a rule of the domain that
no schema states, with that rule's own code (see ``positive_data_acceptance_but_domain_rules``).

The example count is modest (``EXAMPLES`` per operation, role and mode) so that the whole
run stays within about a minute; failures are collected over all operations and reported
together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import CheckContext
from schemathesis.generation.modes import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.config import Settings
from app.db import create_engine, create_sessionmaker
from app.main import create_app
from app.security import service as security_service
from app.security.citizen import issue_citizen_token
from app.security.roles import Role
from dictionary import load_dictionary

# A deterministic, modest run in `make test`; HUB_FUZZ_EXAMPLES=50 HUB_FUZZ_RANDOM=1 explores.
EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "4"))
DERANDOMIZE = os.environ.get("HUB_FUZZ_RANDOM") != "1"
CITIZEN_ID = "001090000001"


@dataclass(frozen=True)
class Failure:
    operation: str
    role: str
    mode: str
    message: str

    def __str__(self) -> str:
        return f"{self.operation} as {self.role} ({self.mode}): {self.message}"


async def _create_keys(settings: Settings) -> dict[str, str]:
    """One API key per role, written straight through the security service."""
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    dictionary = load_dictionary(settings.dictionary_path)
    keys = {}
    try:
        for role in Role:
            async with sessionmaker.begin() as session:
                client, _key, plaintext = await security_service.create_client(
                    session,
                    name=f"fuzz-{role.value}-{uuid.uuid4().hex[:6]}",
                    agency="Fuzzing agency",
                    roles=[role],
                )
                if role is Role.consumer:
                    # Granted every procedure, so filings are explored past the grant check.
                    await security_service.replace_procedure_grants(
                        session, dictionary, client.id, list(dictionary.procedures)
                    )
            keys[role.value] = plaintext
    finally:
        await engine.dispose()
    return keys


@pytest.fixture
def credentials(settings: Settings) -> dict[str, dict[str, str]]:
    keys = asyncio.run(_create_keys(settings))
    callers = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
    callers["citizen"] = {"Authorization": f"Bearer {issue_citizen_token(settings, CITIZEN_ID)}"}
    callers["anonymous"] = {}
    return callers


@pytest.fixture
def hub_schema(settings: Settings) -> Iterator[schemathesis.schemas.BaseSchema]:
    """The live schema of the real app; schemathesis runs its lifespan in its own loop."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings))
    try:
        yield schema
    finally:
        shutdown_lifespans()


def _describe(error: BaseException) -> str:
    """The check that failed and the request that made it fail, on a few lines."""
    lines = [line for line in str(error).splitlines() if line.strip()]
    wanted = [
        line
        for line in lines
        if line.startswith(("- ", "[", "    curl", "curl")) or "status" in line.lower()
    ]
    return " | ".join((wanted or lines or [type(error).__name__])[:6])


# The edge refuses control characters (400 `invalid_characters`, docs/contracts.md): in a
# URL or header any of them, in a JSON string value all but tab, line feed and carriage
# return. A schema cannot say so of free-form values (a dossier is any JSON), so data meant
# to be valid is cleaned of them; data meant to be invalid keeps them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_URL = re.compile(r"[\x00-\x1f\x7f]|%[01][0-9a-fA-F]|%7[fF]")
_CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL_IN_VALUE.sub("", value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_CONTROL.sub("", str(key)): _clean(item) for key, item in value.items()}
    return value


def without_control_characters(case: schemathesis.Case) -> None:
    for container in ("path_parameters", "query", "headers"):
        values = getattr(case, container)
        if values:
            setattr(
                case,
                container,
                {
                    key: _CONTROL_IN_URL.sub("", value) if isinstance(value, str) else value
                    for key, value in values.items()
                },
            )
    if isinstance(case.body, dict | list | str):
        case.body = _clean(case.body)
    if case.path_parameters:
        # An empty, `.` or `..` segment is gone once the client normalises the URL.
        case.path_parameters = {
            key: "0" if value in ("", ".", "..") else value
            for key, value in case.path_parameters.items()
        }
    if isinstance(case.body, dict) and "base_url" in case.body:
        # A connector's source is probed when it is registered: never leave this machine.
        case.body["base_url"] = "http://127.0.0.1:9"


def can_be_invalid(definition: dict[str, Any]) -> bool:
    """Whether schema-invalid data exists for an operation (a free string path is any text)."""
    if "requestBody" in definition:
        return True
    for parameter in definition.get("parameters", []):
        if parameter["in"] != "path" and parameter.get("required"):
            return True
        constraints = {k: v for k, v in parameter["schema"].items() if k != "title"}
        if constraints not in ({"type": "string"}, {"type": "string", "minLength": 1}):
            return True
    return False


# Refusals that say the request itself does not match the API's schema or the edge's rules.
# Schema-valid data may be refused for a rule a schema cannot express (a citizen ID's check
# digit, a field the dictionary does not know, an unknown procedure) with that rule's own
# code, never with one of these.
SCHEMA_LEVEL_CODES = {
    "request_invalid",
    "bad_request",
    "malformed_json",
    "malformed_request",
    "invalid_characters",
    "too_deep",
    "unsupported_media_type",
    "payload_too_large",
}
# Who is calling, not what is asked: a caller refused with one of these stops being fuzzed.
CALLER_REFUSALS = {"unauthenticated", "invalid_api_key", "invalid_citizen_token"}
CALLER_REFUSALS |= {"wrong_principal", "role_required"}


def problem_code(response: Any) -> str | None:
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        return None
    return code if isinstance(code, str) else None


def refused_by_a_domain_rule(response: Any) -> bool:
    """A refusal with a rule's own code, or by a model's validator (a rule across fields,
    such as a timeout's total at least its connect time, that no schema states)."""
    code = problem_code(response)
    if code not in SCHEMA_LEVEL_CODES:
        return True
    if code != "request_invalid":
        return False
    errors = response.json().get("errors") or [{}]
    return all(error.get("code") == "request.value_error" for error in errors)


def positive_data_acceptance_but_domain_rules(
    ctx: CheckContext, response: Any, case: schemathesis.Case
) -> bool | None:
    """schemathesis's positive_data_acceptance, but for a refusal by a rule of the domain."""
    if response.status_code in (400, 422) and refused_by_a_domain_rule(response):
        return None
    return positive_data_acceptance(ctx, response, case)


class CallerRefused(Exception):
    """The caller may not call the operation: more examples would test nothing new."""


def fuzz(strategy: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    """Run ``EXAMPLES`` generated calls; raise on the first that fails a check."""

    @given(case=strategy)
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        if mode is GenerationMode.POSITIVE:
            without_control_characters(case)
        response = case.call_and_validate(
            headers=headers,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_acceptance_but_domain_rules],
        )
        if response.status_code in (401, 403) and problem_code(response) in CALLER_REFUSALS:
            raise CallerRefused

    with contextlib.suppress(CallerRefused):
        call()


def test_every_operation_passes_every_check_for_every_caller(
    hub_schema: schemathesis.schemas.BaseSchema, credentials: dict[str, dict[str, str]]
) -> None:
    failures: list[Failure] = []
    operations = [result.ok() for result in hub_schema.get_all_operations()]
    assert len(operations) > 60
    for operation in operations:
        definition = hub_schema.raw_schema["paths"][operation.path][operation.method.lower()]
        modes = [GenerationMode.POSITIVE]
        if can_be_invalid(definition):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)
            for role, headers in credentials.items():
                try:
                    fuzz(strategy, mode, headers)
                except (Exception, BaseExceptionGroup) as error:
                    failures.append(Failure(operation.label, role, mode.value, _describe(error)))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(map(str, failures))
