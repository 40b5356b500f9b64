"""Closing the loop, against the four mocks as processes: an approved filing's result and a
forwarded correction reach the system that holds the data, through the outbox, and the
hub's next answers reflect what that system now holds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.deliveries.models import Delivery
from tests.filings.test_end_to_end import people_of, run_scenario, scenarios
from tests.helpers.clients import ApiCredentials
from tests.helpers.filings import Portal, plan_of
from tests.helpers.sources import audit_events


async def deliver(app: FastAPI, rounds: int = 10) -> int:
    """Run this hub's sender until nothing is due (bounded); the deliveries settled."""
    outbox = app.state.hub.outbox
    settled = 0
    for _ in range(rounds):
        claimed = await outbox.run_once()
        if not claimed:
            break
        settled += claimed
    return settled


async def make_due(app: FastAPI) -> None:
    """Skip the backoff: every pending delivery is due now."""
    from app.timestamps import utcnow

    async with app.state.hub.sessionmaker.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.status == "pending").values(next_attempt_at=utcnow())
        )


def writes(mock_servers: Any, system: str, endpoint: str) -> dict[str, int]:
    counters: dict[str, int] = mock_servers.stats(system)["writes"][endpoint]
    return counters


def mock_get(mock_servers: Any, system: str, path: str) -> httpx.Response:
    return httpx.get(
        mock_servers.url(system) + path, headers=mock_servers.headers(system), timeout=10
    )


TRANSFER = "/vbdlis/api/v1/bien-dong/chuyen-nhuong"


async def test_an_approved_land_transfer_moves_the_parcel_in_the_land_system(
    portal: Portal, sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    scenario = scenarios(people)["land-use-right-transfer"]
    approved = await run_scenario(portal, scenario)
    [pending] = approved["deliveries"]
    assert (pending["system"], pending["status"], pending["kind"]) == ("land", "pending", "result")
    # Until the land system confirms, the hub's copy is the buyer's certificate.
    assert approved["result"]["confirmed_at"] is None

    assert await deliver(app) == 1
    filing = await portal.get(approved["id"])
    [delivered] = filing["deliveries"]
    assert delivered["status"] == "delivered", delivered
    assert delivered["attempts"] == 1 and delivered["source_status"] == 200
    new_number = filing["result"]["record"]["certificate_number"]
    assert new_number.startswith("DE") and new_number != "DA1234567"  # the land system's own
    assert filing["result"]["confirmed_at"] is not None
    assert writes(sources, "land", TRANSFER)["applied"] == 1

    # The land system: the old certificate cancelled, the new one the buyer's.
    old = mock_get(sources, "land", f"/vbdlis/api/v1/giay-chung-nhan/{people.certificate}")
    assert old.json()["data"]["trangThai"] == "DA_HUY"
    held = mock_get(sources, "land", f"/vbdlis/api/v1/chu-su-dung/{people.groom}/giay-chung-nhan")
    assert new_number in [c["soPhatHanh"] for c in held.json()["data"]]

    # The seller's next land pull no longer returns the parcel.
    seller = await portal.open("land-use-right-transfer", people.land_owner)
    await portal.fill(
        seller["id"], {"transfer_declaration": {"transferee_citizen_id": people.bride}}
    )
    again = await portal.prefill(seller["id"])
    held_now = again["dossier"].get("land_certificate", {}).get("certificate_number")
    assert held_now != people.certificate
    assert plan_of(again)["land_certificate"]["status"] in ("failed", "prefilled")

    # The buyer's next filing pre-fills the new certificate, from the land system.
    buyer = await portal.open("land-use-right-transfer", people.groom)
    await portal.fill(
        buyer["id"],
        {
            "transfer_declaration": {"transferee_citizen_id": people.bride},
            "land_certificate": {"certificate_number": new_number},
        },
    )
    prefilled = await portal.prefill(buyer["id"])
    assert prefilled["dossier"]["land_certificate"]["certificate_number"] == new_number
    origin = prefilled["provenance"]["/land_certificate/certificate_number"]
    assert origin["source_system"] == "land"
    assert not origin.get("from_filing")

    attempts = [
        e for e in await audit_events(app, "delivery.attempt") if e.filing_id == approved["id"]
    ]
    assert [(e.outcome, e.details["result"], e.details["system"]) for e in attempts] == [
        ("ok", "delivered", "land")
    ]
    assert attempts[0].subject_hint and "certificate_number" in attempts[0].fields


async def test_a_registered_birth_reaches_civil_status_then_the_population_database(
    portal: Portal, sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    approved = await run_scenario(portal, scenarios(people)["birth-registration"])
    by_system = {d["system"]: d for d in approved["deliveries"]}
    assert sorted(by_system) == ["civil_status", "population"]
    assert by_system["population"]["after"] == by_system["civil_status"]["id"]

    assert await deliver(app) == 2  # civil status first, then the population database
    filing = await portal.get(approved["id"])
    assert {d["system"]: d["status"] for d in filing["deliveries"]} == {
        "civil_status": "delivered",
        "population": "delivered",
    }
    record = filing["result"]["record"]
    child = record["child_citizen_id"]  # the one civil status assigned
    assert filing["result"]["subject_id"] == child

    registered = mock_get(sources, "civil-status", f"/hotich/v1/khai-sinh/{child}").json()
    birth = registered["ketQua"]
    assert birth["me"]["soDinhDanh"] == people.woman
    assert birth["cha"]["soDinhDanh"] == people.man
    person = mock_get(sources, "population", f"/api/v2/cong-dan/{child}").json()["duLieu"]
    assert person["hoVaTen"] == "Huỳnh Minh An"
    assert person["cha"]["soDinhDanh"] == people.man
    assert person["me"]["soDinhDanh"] == people.woman
    # ...and in the household of the mother.
    household_id = person["soHoKhau"]
    household = mock_get(sources, "population", f"/api/v2/ho-khau/{household_id}").json()
    assert child in [m["soDinhDanh"] for m in household["duLieu"]["thanhVien"]]


async def test_the_owner_down_during_delivery_is_retried_until_it_answers(
    portal: Portal, sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    approved = await run_scenario(portal, scenarios(people)["land-use-right-transfer"])
    sources.set_faults("land", error_rate=1.0)
    await deliver(app)
    [waiting] = (await portal.get(approved["id"]))["deliveries"]
    assert waiting["status"] == "pending"
    assert waiting["error_code"] == "source_unavailable" and waiting["source_status"] == 503
    assert waiting["attempts"] == 1 and waiting["next_attempt_at"] is not None

    sources.set_faults("land")
    await make_due(app)
    await deliver(app)
    [delivered] = (await portal.get(approved["id"]))["deliveries"]
    assert delivered["status"] == "delivered" and delivered["attempts"] == 2
    assert writes(sources, "land", TRANSFER)["applied"] == 1
    events = [
        e.details["result"]
        for e in await audit_events(app, "delivery.attempt")
        if e.filing_id == approved["id"]
    ]
    assert events == ["pending", "delivered"]


async def test_a_refused_delivery_fails_with_the_owners_reason_and_an_admin_replays_it(
    portal: Portal,
    sources: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: ApiCredentials,
) -> None:
    people = people_of(sources)
    approved = await run_scenario(portal, scenarios(people)["land-use-right-transfer"])
    # The seller sells the parcel elsewhere first (straight at the land system).
    async with httpx.AsyncClient(timeout=10) as http:
        sold = await http.post(
            sources.url("land") + TRANSFER,
            headers=sources.headers("land"),
            json={
                "maGiaoDich": "elsewhere-1",
                "maThua": approved["result"]["record"]["parcel_id"],
                "soPhatHanh": people.certificate,
                "benChuyenNhuong": {"soDinhDanh": people.land_owner},
                "benNhanChuyenNhuong": {"soDinhDanh": people.requester},
                "ngayHopDong": "01/11/2026",
            },
        )
    assert sold.status_code == 200, sold.text
    await deliver(app)
    [failed] = (await portal.get(approved["id"]))["deliveries"]
    assert failed["status"] == "failed" and failed["attempts"] == 1  # final: not retried
    assert failed["error_code"] == "source_rejected" and failed["source_status"] == 409
    assert "không thuộc quyền sử dụng" in failed["reason"]  # the land system's own words

    listed = await client.get(
        "/v1/admin/deliveries", params={"status": "failed"}, headers=admin.headers
    )
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["items"]] == [failed["id"]]
    sources.reset()  # the land system forgets the other sale
    replayed = await client.post(
        f"/v1/admin/deliveries/{failed['id']}/replay", headers=admin.headers
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "pending" and replayed.json()["attempts"] == 0
    again = await client.post(f"/v1/admin/deliveries/{failed['id']}/replay", headers=admin.headers)
    assert again.status_code == 409
    assert again.json()["code"] == "delivery_not_replayable"
    await deliver(app)
    [delivered] = (await portal.get(approved["id"]))["deliveries"]
    assert delivered["status"] == "delivered"
    replays = await audit_events(app, "admin.delivery_replayed")
    assert [e.details["delivery_id"] for e in replays] == [failed["id"]]
    missing = await client.post(
        "/v1/admin/deliveries/00000000-0000-0000-0000-000000000000/replay", headers=admin.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"


@pytest.mark.parametrize(
    ("claimed", "decision"), [(1.05, "resolved"), (1.5, "rejected")], ids=["accepted", "rejected"]
)
async def test_a_forwarded_correction_is_answered_by_the_owner(
    claimed: float,
    decision: str,
    portal: Portal,
    sources: Any,
    app: FastAPI,
    client: httpx.AsyncClient,
    citizen_headers: Any,
) -> None:
    people = people_of(sources)
    scenario = scenarios(people)["land-use-right-transfer"]
    opened = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(opened["id"], scenario.before)
    prefilled = await portal.prefill(opened["id"])
    area = prefilled["dossier"]["land_certificate"]["area_m2"]
    wanted = round(area * claimed, 1)
    asked = await portal.http.post(
        f"/v1/filings/{opened['id']}/corrections",
        headers=portal.headers,
        json={"field": "/land_certificate/area_m2", "claimed_value": wanted, "note": "Đo lại"},
    )
    assert asked.status_code == 201, asked.text
    correction = asked.json()
    forwarded = await portal.http.patch(
        f"/v1/filings/{opened['id']}/corrections/{correction['id']}",
        headers=portal.headers,
        json={"status": "forwarded"},
    )
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["delivery"]["status"] == "pending"
    # The owner's answer settles it: the officer cannot.
    early = await portal.http.patch(
        f"/v1/filings/{opened['id']}/corrections/{correction['id']}",
        headers=portal.headers,
        json={"status": "resolved"},
    )
    assert early.status_code == 409
    assert early.json()["code"] == "illegal_correction_transition"

    assert await deliver(app) == 1
    mine = await client.get("/v1/me/corrections", headers=citizen_headers(scenario.applicant))
    [seen] = [c for c in mine.json() if c["id"] == correction["id"]]
    assert seen["status"] == decision
    assert seen["delivery"]["status"] == "delivered"
    answer = seen["owner_answer"]
    following = await portal.open(scenario.procedure, scenario.applicant)
    await portal.fill(following["id"], scenario.before)
    again = await portal.prefill(following["id"])
    now_held = again["dossier"]["land_certificate"]["area_m2"]
    disputing = await portal.get(opened["id"])
    held_there = disputing["dossier"]["land_certificate"]["area_m2"]
    if decision == "resolved":
        assert answer["decision"] == "accepted" and answer["value"] == wanted
        assert now_held == wanted  # the next pull returns the corrected value
        # ...and the filing that disputed it holds it now, its provenance saying so.
        assert held_there == wanted
        assert disputing["provenance"]["/land_certificate/area_m2"]["corrected_at"]
    else:
        assert answer["decision"] == "rejected"
        assert "đo đạc lại" in answer["reason"]
        assert now_held == area and held_there == area


async def test_the_probe_dry_runs_each_write_the_source_offers(
    sources: Any, client: httpx.AsyncClient, make_api_client: Any
) -> None:
    integrator = await make_api_client("integrator")
    listed = await client.get("/v1/connectors", headers=integrator.headers)
    writes_by_system = {
        c["system"]: sorted(
            (s["record_type"], s["status"]) for s in c["probe"]["steps"] if s["step"] == "write"
        )
        for c in listed.json()
    }
    assert writes_by_system == {
        "civil_status": [
            ("BirthRegistration", "ok"),
            ("DeathRegistration", "ok"),
            ("MarriageRegistration", "ok"),
        ],
        "land": [("LandUseRightCertificate", "ok")],
        "population": [
            ("BirthRegistration", "ok"),
            ("DeathRegistration", "ok"),
            ("MarriageRegistration", "ok"),
            ("Residence", "ok"),
        ],
        "tax": [("TaxObligationStatus", "ok")],
    }
    # A dry run applies nothing.
    for system in ("land", "civil-status", "population", "tax"):
        applied = [c["applied"] for c in sources.stats(system)["writes"].values()]
        assert sum(applied) == 0, system


async def test_an_answer_without_what_the_owner_assigned_is_not_taken_as_confirmed(
    portal: Portal, sources: Any, app: FastAPI
) -> None:
    people = people_of(sources)
    approved = await run_scenario(portal, scenarios(people)["land-use-right-transfer"])
    sources.set_faults("land", drift={"soPhatHanhMoi": "soPhatHanhCap"})
    await deliver(app)
    filing = await portal.get(approved["id"])
    [failed] = filing["deliveries"]
    assert (failed["status"], failed["error_code"]) == ("failed", "malformed_answer")
    assert "certificate_number" in failed["reason"]
    # The hub keeps its own copy as the source: it does not know the owner's number.
    assert filing["result"]["confirmed_at"] is None
    assert filing["result"]["record"]["certificate_number"] == "DA1234567"
