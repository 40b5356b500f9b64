"""`make run`: the four mocks mounted in process, their connectors registered at start (also
after a restart), the demo consumer granted its purposes, citizens present everywhere."""

from __future__ import annotations

import json

import httpx

from app.config import Settings
from app.main import create_app

PULLS = {
    "identity-check": ["Person", "Residence"],
    "birth-registration": ["BirthRegistration", "MarriageRegistration"],
    "land-transfer": ["LandParcel", "LandUseRightCertificate", "Taxpayer", "TaxObligationStatus"],
}


async def test_make_run_serves_pulls_out_of_the_box(settings: Settings) -> None:
    demo = settings.model_copy(update={"demo": True})
    for start in range(2):
        app = create_app(demo)
        async with app.router.lifespan_context(app):
            document = json.loads((demo.data_dir / "demo-credentials.json").read_text())
            assert {"base_url", "clients", "citizens", "purposes", "sources"} <= set(document)
            assert set(document["clients"]) == {"admin", "consumer", "integrator", "auditor"}
            purposes = {p["purpose"]: p for p in document["purposes"]}
            assert set(PULLS) <= set(purposes)
            assert all(p["legal_basis"] and p["record_types"] for p in purposes.values())
            citizen = document["citizens"][0]
            assert citizen["token"].count(".") == 2
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
                integrator = {
                    "Authorization": f"Bearer {document['clients']['integrator']['api_key']}"
                }
                connectors = (await http.get("/v1/connectors", headers=integrator)).json()
                assert sorted(c["name"] for c in connectors) == [
                    "civil-status",
                    "land",
                    "population",
                    "tax",
                ]
                assert all(c["enabled"] and c["revision"] == 1 for c in connectors), start
                consumer = document["clients"]["consumer"]["api_key"]
                for purpose, record_types in PULLS.items():
                    headers = {
                        "Authorization": f"Bearer {consumer}",
                        "X-User-Id": "demo-officer",
                        "X-Purpose": purpose,
                    }
                    for record_type in record_types:
                        answer = await http.get(
                            f"/v1/records/{record_type}/{citizen['citizen_id']}", headers=headers
                        )
                        assert answer.status_code == 200, (record_type, answer.text)
                        body = answer.json()
                        assert body.get("record") or body.get("records"), record_type
