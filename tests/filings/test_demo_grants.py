"""`make run`: the demo consumer is granted every shipped procedure, so the README's filing
tour works out of the box, and an admin sees those grants on the client."""

from __future__ import annotations

import json

import httpx

from app.config import Settings
from app.main import create_app


async def test_the_demo_consumer_may_open_a_filing_of_every_shipped_procedure(
    settings: Settings,
) -> None:
    demo = settings.model_copy(update={"demo": True})
    app = create_app(demo)
    async with app.router.lifespan_context(app):
        document = json.loads((demo.data_dir / "demo-credentials.json").read_text())
        consumer = document["clients"]["consumer"]
        admin = {"Authorization": f"Bearer {document['clients']['admin']['api_key']}"}
        headers = {"Authorization": f"Bearer {consumer['api_key']}", "X-User-Id": "officer-1"}
        applicant = document["citizens"][0]["citizen_id"]
        shipped = sorted(app.state.hub.dictionary.procedures)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            shown = await http.get(f"/v1/clients/{consumer['client_id']}", headers=admin)
            assert shown.json()["procedures"] == shipped
            for procedure in shipped:
                opened = await http.post(
                    "/v1/filings",
                    json={"procedure": procedure, "applicant_id": applicant},
                    headers=headers,
                )
                assert opened.status_code == 201, (procedure, opened.text)
