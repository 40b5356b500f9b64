"""Driving the filings API like a portal does, and checking what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.security import service as security_service
from tests.helpers.clients import ApiCredentials
from tests.helpers.consents import approval_token

# Which record types each mock system serves, for the connectors the tests register.
SYSTEM_RECORD_TYPES: dict[str, list[str]] = {
    "population": ["Person", "Residence", "Household"],
    "civil-status": [
        "BirthRegistration",
        "MarriageRegistration",
        "DeathRegistration",
        "MaritalStatusCertificate",
        "MedicalBirthCertificate",
    ],
    "land": ["LandParcel", "LandUseRightCertificate"],
    "tax": ["Taxpayer", "TaxObligationStatus"],
}


@dataclass
class Portal:
    """A consumer agency's portal, speaking to the hub over HTTP."""

    http: httpx.AsyncClient
    consumer: ApiCredentials
    settings: Settings
    officer: str = "officer-7"

    consumer_agency: str = "Ba Dinh commune public service centre"

    @property
    def headers(self) -> dict[str, str]:
        return {**self.consumer.headers, "X-User-Id": self.officer}

    async def procedure(self, code: str) -> dict[str, Any]:
        answer = await self.http.get(f"/v1/procedures/{code}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def open(
        self, procedure: str, applicant_id: str, on_behalf_of: str | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"procedure": procedure, "applicant_id": applicant_id}
        if on_behalf_of is not None:
            body["on_behalf_of"] = on_behalf_of
        answer = await self.http.post("/v1/filings", json=body, headers=self.headers)
        assert answer.status_code == 201, answer.text
        opened: dict[str, Any] = answer.json()
        return opened

    async def get(self, filing_id: str) -> dict[str, Any]:
        answer = await self.http.get(f"/v1/filings/{filing_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def patch(self, filing_id: str, dossier: dict[str, Any]) -> httpx.Response:
        return await self.http.patch(
            f"/v1/filings/{filing_id}", json={"dossier": dossier}, headers=self.headers
        )

    async def fill(self, filing_id: str, dossier: dict[str, Any]) -> dict[str, Any]:
        answer = await self.patch(filing_id, dossier)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def prefill(self, filing_id: str) -> dict[str, Any]:
        answer = await self.http.post(f"/v1/filings/{filing_id}/prefill", headers=self.headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def submit(
        self, filing_id: str, *, confirm: bool = True, key: str | None = None
    ) -> httpx.Response:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.http.post(
            f"/v1/filings/{filing_id}/submit", json={"confirm": confirm}, headers=headers
        )

    async def decide(
        self,
        filing_id: str,
        decision: str = "approved",
        result: dict[str, Any] | None = None,
        reason: str = "The dossier is complete and correct.",
    ) -> httpx.Response:
        body: dict[str, Any] = {"decision": decision, "reason": reason}
        if result is not None:
            body["result"] = result
        return await self.http.post(
            f"/v1/filings/{filing_id}/decision", json=body, headers=self.headers
        )

    async def consent(
        self, subject: str, purpose: str, record_type: str, fields: list[str]
    ) -> dict[str, Any]:
        """Record the subject's consent, with their signed approval: ACTIVE at once."""
        now = datetime.now(UTC)
        consent: dict[str, Any] = {
            "subject": subject,
            "purpose": purpose,
            "scope": [{"record_type": record_type, "fields": fields}],
            "validity": {
                "start": (now - timedelta(minutes=1)).isoformat(),
                "expiry": (now + timedelta(days=30)).isoformat(),
            },
            "fetch_type": "ONE_TIME",
            "capture": {
                "channel": "counter",
                "captured_at": (now - timedelta(minutes=1)).isoformat(),
            },
        }
        consent["citizen_approval"] = approval_token(
            self.settings, self.consumer.client_id, consent
        )
        answer = await self.http.post("/v1/consents", json=consent, headers=self.headers)
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        assert body["status"] == "ACTIVE", body
        return body


async def grant_procedures(app: FastAPI, client_id: str, procedures: list[str]) -> None:
    """Set the client's procedure grants, as an admin would."""
    async with app.state.hub.sessionmaker.begin() as session:
        await security_service.replace_procedure_grants(
            session, app.state.hub.dictionary, client_id, procedures
        )


def plan_of(filing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["component"]: entry for entry in filing["plan"]}


def assert_provenance(procedure: dict[str, Any], filing: dict[str, Any]) -> int:
    """Every value in the dossier is either typed by the applicant, or carries complete
    provenance from the component's owning system (or an earlier filing), or is derived from
    another value (whose provenance it carries when that is state data); returns how many
    pre-filled fields were checked."""
    components = {c["id"]: c for c in procedure["components"]}
    checked = 0
    for component_id, values in filing["dossier"].items():
        component = components[component_id]
        for name, value in values.items():
            path = f"/{component_id}/{name}"
            assert value is not None, path
            if path in filing["typed_fields"]:
                assert path not in filing["provenance"], path
                continue
            origin = filing["provenance"][path]
            if origin.get("derived_from"):
                checked += _check_derived(filing, path, origin, _constants(component, name))
                continue
            assert component["kind"] == "state", path
            assert name in component["fields"], f"{path} is not a field the procedure needs"
            assert origin["verified"] is True, path
            assert origin["retrieved_at"], path
            assert "last_updated" in origin, path
            assert origin["source_reference"], path
            if origin["from_filing"]:
                assert origin["source_system"] == "hub", path
                assert origin["source_reference"] == f"filing/{origin['from_filing']}"
            else:
                assert origin["source_system"] == component["owner_system"], path
            basis = component["basis"]
            assert origin["basis"]["kind"] == basis["kind"], path
            if basis["kind"] == "legal":
                assert origin["basis"]["reference"] == basis["citation"], path
            assert path in filing["locked_fields"], path
            checked += 1
    counts = filing["declare_once"]
    assert counts["fields_prefilled"] == checked
    return checked


def _constants(component: dict[str, Any], name: str) -> list[Any]:
    """The constants a field may be derived as (a relationship a record establishes)."""
    fields = [f for f in component["fields"] if isinstance(f, dict) and f["name"] == name]
    derivations = fields[0].get("derived_from") or [] if fields else []
    return [d["value"] for d in derivations if d.get("value") is not None]


def _check_derived(
    filing: dict[str, Any], path: str, origin: dict[str, Any], constants: list[Any]
) -> int:
    """A derived value is its source's, or a constant the record it names establishes: 1 when
    that is state data (it counts as pre-filled)."""
    owner, name = origin["derived_from"].split(".")
    if owner == "applicant":
        assert name == "citizen_id"
        assert filing["dossier"][path.split("/")[1]][path.split("/")[2]] == filing["applicant_id"]
        assert origin["source_system"] == "applicant" and origin["verified"] is False, path
        return 0
    source = f"/{owner}/{name}"
    component_id, field_name = path.strip("/").split("/")
    value = filing["dossier"][component_id][field_name]
    if value in constants:
        assert filing["dossier"][owner][name] is not None, path
    else:
        assert value == filing["dossier"][owner][name], path
    pulled = filing["provenance"].get(source)
    if pulled is None:
        assert origin["source_system"] == "applicant", path
        return 0
    assert origin == {**pulled, "derived_from": origin["derived_from"]}, path
    assert (path in filing["locked_fields"]) == bool(pulled["verified"]), path
    return 1
