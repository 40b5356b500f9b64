"""Hostile dossier values: refused at the edge with a stable code, the filing unchanged, and
nothing reaches the database (PostgreSQL fails on a NUL in text)."""

from __future__ import annotations

import httpx
import pytest

from app.inputs import MAX_JSON_DEPTH
from tests.helpers.filings import Portal

MOTHER = "001190012345"


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b'"Nguy\\u0000n"', "invalid_characters"),
        (b'"a\\u001bb"', "invalid_characters"),
        (_nested(255), "too_deep"),
        (_nested(MAX_JSON_DEPTH), "too_deep"),
    ],
)
async def test_a_hostile_dossier_value_is_refused_and_the_filing_unchanged(
    portal: Portal, client: httpx.AsyncClient, value: bytes, code: str
) -> None:
    filing = await portal.open("birth-registration", MOTHER)
    before = await portal.get(filing["id"])
    body = b'{"dossier": {"birth_declaration": {"child_full_name": ' + value + b"}}}"
    answer = await client.patch(
        f"/v1/filings/{filing['id']}",
        headers={**portal.headers, "content-type": "application/json"},
        content=body,
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert await portal.get(filing["id"]) == before


async def test_a_control_character_in_a_dossier_key_is_refused(
    portal: Portal, client: httpx.AsyncClient
) -> None:
    filing = await portal.open("birth-registration", MOTHER)
    answer = await client.patch(
        f"/v1/filings/{filing['id']}",
        headers={**portal.headers, "content-type": "application/json"},
        content=b'{"dossier": {"birth_declaration\\u0000": {}}}',
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_characters")


async def test_a_dossier_in_another_media_type_gets_415(
    portal: Portal, client: httpx.AsyncClient
) -> None:
    filing = await portal.open("birth-registration", MOTHER)
    answer = await client.patch(
        f"/v1/filings/{filing['id']}",
        headers={**portal.headers, "content-type": "text/plain"},
        content=b'{"dossier": {}}',
    )
    assert (answer.status_code, answer.json()["code"]) == (415, "unsupported_media_type")
