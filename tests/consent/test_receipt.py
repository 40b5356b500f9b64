"""The consent receipt verifies with the published key, using nothing but `cryptography`."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI

from tests.helpers.consents import CITIZEN, Consumer, record


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def fetch_receipt(
    client: httpx.AsyncClient, consumer: Consumer, consent_id: str
) -> dict[str, Any]:
    answer = await client.get(f"/v1/consents/{consent_id}/receipt", headers=consumer.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_the_receipt_signature_verifies_with_the_published_key(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    body = await fetch_receipt(client, consumer, consent["id"])

    jwks = (await client.get("/v1/consents/receipt-keys")).json()
    header_b64, payload_b64, signature_b64 = body["jws"].split(".")
    header = json.loads(b64url_decode(header_b64))
    assert header["alg"] == "EdDSA"
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    # Raises InvalidSignature if the receipt or its header were altered.
    public_key.verify(b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
    assert json.loads(b64url_decode(payload_b64)) == body["receipt"]

    tampered = dict(body["receipt"], jurisdiction="XX")
    forged_payload = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=")
    with pytest.raises(InvalidSignature):
        public_key.verify(b64url_decode(signature_b64), header_b64.encode() + b"." + forged_payload)


async def test_the_receipt_carries_the_kantara_fields_and_no_citizen_id(
    app: FastAPI, client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    body = await fetch_receipt(client, consumer, consent["id"])
    receipt = body["receipt"]
    for key in (
        "version",
        "jurisdiction",
        "consentTimestamp",
        "collectionMethod",
        "consentReceiptID",
        "publicKey",
        "language",
        "piiPrincipalId",
        "piiControllers",
        "policyUrl",
        "services",
        "sensitive",
        "spiCat",
    ):
        assert key in receipt, key
    assert receipt["jurisdiction"] == "VN"
    assert receipt["consentReceiptID"] == consent["receipt_id"]
    assert receipt["publicKey"] == body["kid"]
    assert receipt["piiPrincipalId"] == app.state.hub.audit.subject_hmac(CITIZEN)
    assert CITIZEN not in json.dumps(receipt)
    assert CITIZEN not in body["jws"]
    controllers = [c["piiController"] for c in receipt["piiControllers"]]
    assert controllers == ["Declare-Once Hub operator", "Commune People's Committee, Ba Dinh"]
    assert all(c.get("contact") for c in receipt["piiControllers"])
    (purpose,) = receipt["services"][0]["purposes"]
    assert receipt["services"][0]["service"] == "birth-registration"
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["piiCategory"] == ["Person.full_name", "Person.date_of_birth"]
    assert purpose["primaryPurpose"] is True
    assert "termination" in purpose and "thirdPartyDisclosure" in purpose
    assert "thirdPartyName" in purpose
    assert receipt["sensitive"] is False and receipt["spiCat"] == []
    assert await fetch_receipt(client, consumer, consent["id"]) == body


async def test_a_receipt_over_a_sensitive_field_is_flagged_sensitive(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(
        client, consumer, scope=[{"record_type": "Person", "fields": ["full_name", "ethnicity"]}]
    )
    receipt = (await fetch_receipt(client, consumer, consent["id"]))["receipt"]
    assert receipt["sensitive"] is True
    assert receipt["spiCat"] == ["person.ethnicity"]


async def test_a_revoked_consent_keeps_its_receipt(
    client: httpx.AsyncClient, consumer: Consumer
) -> None:
    consent = await record(client, consumer)
    before = await fetch_receipt(client, consumer, consent["id"])
    await client.post(
        f"/v1/consents/{consent['id']}/revoke", json={"reason": "x"}, headers=consumer.headers
    )
    assert await fetch_receipt(client, consumer, consent["id"]) == before
