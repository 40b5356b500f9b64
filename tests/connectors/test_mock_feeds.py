"""Each mock publishes a change feed in its own words: every accepted write and correction and
every change injected through ``POST /__changes`` appears once, in sequence, with the record's
kind, subject, reference and version; refusals, dry runs and replays add nothing. In process
(httpx.ASGITransport): these tests are about the mocks' data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from connectors.mocks.dataset import Dataset

TRANSFER = "/vbdlis/api/v1/bien-dong/chuyen-nhuong"
BIRTH = "/hotich/v1/khai-sinh"
LIFE_EVENT = "/api/v2/bien-dong-ho-tich"
Clients = dict[str, httpx.AsyncClient]
Entry = dict[str, Any]


def _days_ago(days: int) -> str:
    return f"{date.today() - timedelta(days=days):%d/%m/%Y}"


TODAY, BORN, DIED = _days_ago(0), _days_ago(14), _days_ago(3)


@dataclass(frozen=True)
class Feed:
    """How one system serves its feed."""

    path: str
    after: str
    size: str
    envelope: str
    last: str
    operation: str
    kind: str
    subject: str
    version: str
    fields: str
    effective: str
    sequence: str


FEEDS = {
    "population": Feed("/api/v2/nhat-ky-thay-doi", "sauSoThuTu", "soBanGhi", "duLieu",
                       "soThuTuCuoi", "loaiThayDoi", "loaiHoSo", "soDinhDanh", "phienBan",
                       "truongThayDoi", "ngayHieuLuc", "soThuTu"),
    "civil-status": Feed("/hotich/v1/bien-dong", "sauSoThuTu", "soLuong", "ketQua",
                         "soThuTuMoiNhat", "thaoTac", "loaiHoSo", "soDinhDanh", "phienBan",
                         "danhSachTruong", "ngayCoHieuLuc", "soThuTu"),
    "land": Feed("/vbdlis/api/v1/nhat-ky-bien-dong", "afterSeq", "limit", "data", "lastSeq",
                 "action", "objectType", "soDinhDanh", "version", "changedFields",
                 "effectiveDate", "seq"),
    "tax": Feed("/tct/api/v1/thay-doi", "afterSeqNo", "pageSize", "data", "lastSeqNo",
                "changeType", "objectType", "mst", "version", "changedFields", "effectiveDate",
                "seqNo"),
}  # fmt: skip


async def _changes(
    mocks: Clients, system: str, after: int = 0, size: int = 1000
) -> tuple[list[Entry], int]:
    """(the page of changes after ``after``, the last sequence the system holds)."""
    feed = FEEDS[system]
    answer = await mocks[system].get(feed.path, params={feed.after: after, feed.size: size})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body[feed.envelope], body[feed.last]


def _brief(system: str, entry: Entry) -> tuple[Any, ...]:
    """(operation, kind, subject, version) of an entry, in the system's codes."""
    feed = FEEDS[system]
    return entry[feed.operation], entry[feed.kind], entry[feed.subject], entry[feed.version]


async def _inject(controls: Clients, system: str, change: Any) -> httpx.Response:
    """``POST /__changes``, without the system's auth (a control endpoint)."""
    return await controls[system].post("/__changes", json=change)


async def _data(client: httpx.AsyncClient, path: str, envelope: str) -> Any:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()[envelope]


# -- writes ------------------------------------------------------------------------------------


async def _transfer_body(land: httpx.AsyncClient, seller: str, buyer: str) -> dict[str, Any]:
    held = f"/vbdlis/api/v1/chu-su-dung/{seller}/giay-chung-nhan"
    certificate = (await _data(land, held, "data"))[0]
    return {
        "maGiaoDich": "GD-0001",
        "maThua": certificate["thuaDat"]["maThua"],
        "soPhatHanh": certificate["soPhatHanh"],
        "benChuyenNhuong": {"soDinhDanh": seller},
        "benNhanChuyenNhuong": {"soDinhDanh": buyer},
        "ngayHopDong": _days_ago(30),
    }


async def test_a_transfer_updates_the_parcel_and_replaces_the_certificate_in_the_land_feed(
    mocks: Clients, dataset: Dataset
) -> None:
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(mocks["land"], seller, buyer)

    answer = await mocks["land"].post(TRANSFER, json=body)

    new_number = answer.json()["data"]["soPhatHanhMoi"]
    changes, last = await _changes(mocks, "land")
    assert last == 3 and [c["seq"] for c in changes] == [1, 2, 3]
    parcel, cancelled, issued = changes
    assert _brief("land", parcel) == ("UPDATE", "THUA_DAT", buyer, 2)
    assert parcel["maThua"] == body["maThua"] and parcel["soDinhDanhTruoc"] == seller
    assert parcel["changedFields"] == ["chuSuDung.soDinhDanh", "chuSuDung.hoTen"]
    assert _brief("land", cancelled) == ("DELETE", "GIAY_CHUNG_NHAN", seller, 2)
    assert cancelled["soPhatHanh"] == body["soPhatHanh"] and "changedFields" not in cancelled
    assert _brief("land", issued) == ("CREATE", "GIAY_CHUNG_NHAN", buyer, 1)
    assert issued["soPhatHanh"] == new_number
    bought = await _data(mocks["land"], f"/vbdlis/api/v1/chu-su-dung/{buyer}/thua-dat", "data")
    assert parcel["maHoSo"] in [p["maHoSo"] for p in bought]
    assert issued["effectiveDate"] == TODAY and len(issued["registeredAt"]) == 14


async def test_a_duplicate_a_dry_run_and_a_refused_write_add_nothing(
    mocks: Clients, dataset: Dataset
) -> None:
    seller, buyer = dataset.demo_citizens(2)
    land = mocks["land"]
    body = await _transfer_body(land, seller, buyer)

    await land.post(TRANSFER, params={"dryRun": "true"}, json=body)
    assert (await _changes(mocks, "land"))[1] == 0
    await land.post(TRANSFER, json=body)
    replayed = await land.post(TRANSFER, json=body)
    refused = await land.post(TRANSFER, json={**body, "maGiaoDich": "GD-2"})  # already cancelled

    assert replayed.headers["idempotent-replayed"] == "true" and refused.status_code == 409
    assert (await _changes(mocks, "land"))[1] == 3


async def test_a_birth_is_an_insert_in_civil_status_then_in_the_population_database(
    mocks: Clients, dataset: Dataset
) -> None:
    civil, population = mocks["civil-status"], mocks["population"]
    father = dataset.person_by_id(dataset.demo_citizens(1)[0])
    assert father is not None and father.spouse is not None
    mother = dataset.citizen_id(father.spouse)
    birth = {
        "nguoiDuocKhaiSinh": {"hoTen": "Nguyễn Minh An", "ngaySinh": BORN, "gioiTinh": "Nam"},
        "cha": {"soDinhDanh": father.citizen_id}, "me": {"soDinhDanh": mother},
        "noiDangKy": {"maTinh": "01"}, "ngayDangKy": TODAY,
    }  # fmt: skip

    registered = await civil.post(BIRTH, json=birth, headers={"Idempotency-Key": "KS-1"})
    await civil.post(BIRTH, json=birth, headers={"Idempotency-Key": "KS-1"})
    await civil.post(BIRTH, params={"kiemTra": "true"}, json=birth)

    record = registered.json()["ketQua"]
    child = record["nguoiDuocKhaiSinh"]["soDinhDanh"]
    (entry,), last = await _changes(mocks, "civil-status")
    assert last == 1
    assert _brief("civil-status", entry) == ("THEM_MOI", "KHAI_SINH", child, 1)
    assert entry["maHoSo"] == record["maHoSo"] and entry["ngayCoHieuLuc"] == TODAY

    event = {"loaiBienDong": "KHAI_SINH", "soDinhDanh": child, "hoVaTen": "Nguyễn Minh An",
             "ngaySinh": BORN, "gioiTinh": "1", "cha": {"soDinhDanh": father.citizen_id},
             "me": {"soDinhDanh": mother}, "noiDangKyKhaiSinh": {"maTinh": "01"}}  # fmt: skip
    await population.post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "1"})

    changes, _ = await _changes(mocks, "population")
    briefs = [_brief("population", c)[:2] for c in changes]
    assert briefs == [("THEM", "CONG_DAN"), ("SUA", "HO_KHAU"), ("THEM", "CU_TRU")]
    person, household, residence = changes
    assert person["soDinhDanh"] == child and person["ngayHieuLuc"] == BORN
    read = await _data(population, f"/api/v2/cong-dan/{child}", "duLieu")
    assert person["maHoSo"] == read["maHoSo"] and household["soHoKhau"] == read["soHoKhau"]
    assert household["truongThayDoi"] == ["thanhVien"] and residence["soDinhDanh"] == child


async def test_a_death_updates_the_person_and_removes_the_residence(
    mocks: Clients, dataset: Dataset
) -> None:
    citizen = dataset.demo_citizens(1)[0]
    event = {"loaiBienDong": "KHAI_TU", "soDinhDanh": citizen, "ngayMat": DIED}

    await mocks["population"].post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "KT"})

    changes, _ = await _changes(mocks, "population")
    person = next(c for c in changes if c["loaiHoSo"] == "CONG_DAN")
    assert _brief("population", person) == ("SUA", "CONG_DAN", citizen, 2)
    assert person["truongThayDoi"][:2] == ["daQuaDoi", "ngayMat"]
    assert person["ngayHieuLuc"] == DIED
    residence = next(c for c in changes if c["loaiHoSo"] == "CU_TRU")
    assert _brief("population", residence) == ("XOA", "CU_TRU", citizen, 2)
    assert "truongThayDoi" not in residence


async def test_a_marriage_updates_both_spouses(mocks: Clients, dataset: Dataset) -> None:
    singles = [
        p.citizen_id
        for p in dataset.iter_persons(0, 2000)
        if p.marital_status == "SINGLE" and not p.is_deceased and p.date_of_birth.year < 1990
    ]
    husband = next(c for c in singles if dataset.person_by_id(c).sex == "M")  # type: ignore[union-attr]
    wife = next(c for c in singles if dataset.person_by_id(c).sex == "F")  # type: ignore[union-attr]
    event = {"loaiBienDong": "KET_HON", "chong": {"soDinhDanh": husband},
             "vo": {"soDinhDanh": wife}, "ngayDangKy": TODAY}  # fmt: skip

    answer = await mocks["population"].post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "K"})

    assert answer.status_code == 200, answer.text
    changes, _ = await _changes(mocks, "population")
    assert [(c["soDinhDanh"], c["truongThayDoi"]) for c in changes] == [
        (husband, ["tinhTrangHonNhan"]),
        (wife, ["tinhTrangHonNhan"]),
    ]


async def test_a_finalisation_updates_the_years_obligation(
    mocks: Clients, dataset: Dataset
) -> None:
    code = dataset.demo_citizens(1)[0]
    year = date.today().year - 1
    body = {"requestId": "QT-1", "kyTinhThue": year, "ngayNop": TODAY,
            "soThuePhaiNop": 12_000_000, "soThueDaNop": 10_000_000}  # fmt: skip

    await mocks["tax"].post(f"/tct/api/v1/nnt/{code}/quyet-toan", json=body)

    (entry,), last = await _changes(mocks, "tax")
    assert last == 1 and entry["changeType"] in ("I", "U")
    assert (entry["objectType"], entry["mst"], entry["kyTinhThue"]) == ("NVT", code, year)
    assert entry["effectiveDate"] == TODAY
    years = await _data(mocks["tax"], f"/tct/api/v1/nnt/{code}/nghia-vu-thue", "data")
    assert entry["maHoSo"] == next(y["maHoSo"] for y in years if y["kyTinhThue"] == year)


async def test_an_accepted_correction_is_an_update_and_a_refused_one_adds_nothing(
    mocks: Clients, dataset: Dataset
) -> None:
    code = dataset.demo_citizens(1)[0]
    tax = mocks["tax"]
    name = (await _data(tax, f"/tct/api/v1/nnt/{code}", "data"))["tenNNT"]
    path = f"/tct/api/v1/nnt/{code}/yeu-cau-dieu-chinh"

    refused = await tax.post(
        path, json={"requestId": "R-1", "truong": "tenNNT", "giaTriDeNghi": "Trần Thị Khác"}
    )
    accepted = await tax.post(
        path, json={"requestId": "R-2", "truong": "tenNNT", "giaTriDeNghi": name.upper()}
    )

    assert refused.json()["data"]["ketQua"] == "TU_CHOI"
    assert accepted.json()["data"]["ketQua"] == "CHAP_NHAN"
    (entry,), _ = await _changes(mocks, "tax")
    assert _brief("tax", entry) == ("U", "NNT", code, 2)
    assert entry["changedFields"] == ["tenNNT"]
    assert entry["maHoSo"] == accepted.json()["data"]["maHoSo"]


async def test_a_corrected_area_updates_the_parcel_and_its_certificate(
    mocks: Clients, dataset: Dataset
) -> None:
    owner = dataset.demo_citizens(1)[0]
    land = mocks["land"]
    parcel = (await _data(land, f"/vbdlis/api/v1/chu-su-dung/{owner}/thua-dat", "data"))[0]
    area = float(parcel["dienTich"].replace(",", "."))
    claimed = f"{area * 1.05:.1f}".replace(".", ",")
    body = {"maGiaoDich": "DC-1", "soDinhDanh": owner, "maHoSo": parcel["maHoSo"],
            "truong": "dienTich", "giaTriDeNghi": claimed}  # fmt: skip

    answer = await land.post("/vbdlis/api/v1/yeu-cau-dinh-chinh", json=body)

    assert answer.json()["data"]["ketQua"] == "CHAP_NHAN"
    changes, last = await _changes(mocks, "land")
    assert [(c["objectType"], c["changedFields"]) for c in changes] == [
        ("THUA_DAT", ["dienTich"]),
        ("GIAY_CHUNG_NHAN", ["thuaDat.dienTich"]),
    ]
    assert {c["maThua"] for c in changes} == {parcel["maThua"]} and last == 2
    assert changes[0]["maHoSo"] == parcel["maHoSo"]


# -- injected changes --------------------------------------------------------------------------


async def test_an_injected_name_change_is_served_by_the_reads_and_appears_in_the_feed(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    citizen = dataset.demo_citizens(1)[0]
    change = {"kind": "person", "subject": citizen, "operation": "update",
              "fields": {"hoVaTen": "Nguyễn Văn Bình"}}  # fmt: skip

    injected = await _inject(controls, "population", change)
    again = await _inject(controls, "population", change)

    assert injected.status_code == 200 and injected.json()["last"] == 1
    assert again.json()["last"] == 2
    person = await _data(mocks["population"], f"/api/v2/cong-dan/{citizen}", "duLieu")
    assert person["hoVaTen"] == "Nguyễn Văn Bình"
    changes, _ = await _changes(mocks, "population")
    assert [_brief("population", c) for c in changes] == [
        ("SUA", "CONG_DAN", citizen, 2),
        ("SUA", "CONG_DAN", citizen, 3),
    ]
    assert changes[0]["truongThayDoi"] == ["hoVaTen"] and changes[0]["maHoSo"] == person["maHoSo"]


async def test_an_injected_death_in_civil_status_leaves_the_population_database_saying_alive(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    citizen = dataset.demo_citizens(1)[0]
    change = {"kind": "death", "subject": citizen, "operation": "insert",
              "fields": {"ngayChet": DIED}}  # fmt: skip

    assert (await _inject(controls, "civil-status", change)).status_code == 200

    death = await _data(mocks["civil-status"], f"/hotich/v1/khai-tu/{citizen}", "ketQua")
    assert death["ngayChet"] == DIED
    changes, _ = await _changes(mocks, "civil-status")
    assert _brief("civil-status", changes[0]) == ("THEM_MOI", "KHAI_TU", citizen, 1)
    assert changes[0]["ngayCoHieuLuc"] == DIED and changes[0]["maHoSo"] == death["maHoSo"]
    person = await _data(mocks["population"], f"/api/v2/cong-dan/{citizen}", "duLieu")
    assert person["daQuaDoi"] is False


async def test_an_injected_death_in_the_population_database_is_served_and_listed(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    citizen = dataset.demo_citizens(1)[0]
    change = {"kind": "person", "subject": citizen, "operation": "update",
              "fields": {"daQuaDoi": True, "ngayMat": DIED}}  # fmt: skip

    assert (await _inject(controls, "population", change)).status_code == 200

    person = await _data(mocks["population"], f"/api/v2/cong-dan/{citizen}", "duLieu")
    assert person["daQuaDoi"] is True and person["ngayMat"] == DIED
    changes, _ = await _changes(mocks, "population")
    death = next(c for c in changes if c["loaiHoSo"] == "CONG_DAN")
    assert death["truongThayDoi"][:2] == ["daQuaDoi", "ngayMat"] and death["ngayHieuLuc"] == DIED
    twice = await _inject(controls, "population", change)
    assert twice.status_code == 409 and twice.json()["applied"] == 0


async def test_an_injected_delete_makes_the_person_absent(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    citizen = dataset.citizen_id(3)
    population = mocks["population"]
    change = {"kind": "person", "subject": citizen, "operation": "delete"}

    assert (await _inject(controls, "population", change)).status_code == 200

    assert (await population.get(f"/api/v2/cong-dan/{citizen}")).status_code == 404
    listed = await _data(population, "/api/v2/cong-dan?trang=1&soBanGhi=10", "duLieu")
    assert citizen not in [p["soDinhDanh"] for p in listed] and len(listed) == 9
    (entry,), _ = await _changes(mocks, "population")
    assert _brief("population", entry) == ("XOA", "CONG_DAN", citizen, 2)
    assert "truongThayDoi" not in entry
    assert (await _inject(controls, "population", change)).status_code == 404


async def test_an_injected_owner_name_shows_on_the_certificates_and_in_the_land_feed(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    owner = dataset.demo_citizens(1)[0]
    change = {"kind": "certificate", "subject": owner, "operation": "update",
              "fields": {"chuSuDung.hoTen": "Lê Thị Hoa"}}  # fmt: skip

    assert (await _inject(controls, "land", change)).status_code == 200

    path = f"/vbdlis/api/v1/chu-su-dung/{owner}/giay-chung-nhan"
    certificates = await _data(mocks["land"], path, "data")
    assert {c["chuSuDung"]["hoTen"] for c in certificates} == {"Lê Thị Hoa"}
    changes, _ = await _changes(mocks, "land")
    updated = {c["soPhatHanh"] for c in changes if c["objectType"] == "GIAY_CHUNG_NHAN"}
    assert updated == {c["soPhatHanh"] for c in certificates}
    assert all(_brief("land", c)[::2] == ("UPDATE", owner) for c in changes)
    assert {tuple(c["changedFields"]) for c in changes} == {("chuSuDung.hoTen",)}


async def test_an_injected_taxpayer_name_is_served_and_appears_in_the_tax_feed(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    code = dataset.demo_citizens(1)[0]
    change = {"kind": "taxpayer", "subject": code, "operation": "update",
              "fields": {"tenNNT": "Phạm Văn Long"}}  # fmt: skip

    assert (await _inject(controls, "tax", change)).status_code == 200

    taxpayer = await _data(mocks["tax"], f"/tct/api/v1/nnt/{code}", "data")
    assert taxpayer["tenNNT"] == "Phạm Văn Long"
    (entry,), _ = await _changes(mocks, "tax")
    assert _brief("tax", entry) == ("U", "NNT", code, 2) and entry["changedFields"] == ["tenNNT"]


async def test_many_changes_go_in_one_call_and_are_read_a_page_at_a_time(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    subjects = [dataset.citizen_id(i) for i in range(600)]
    changes = [{"kind": "person", "subject": s, "operation": "update",
                "fields": {"hoVaTen": "Nguyễn Văn Bình"}} for s in subjects]  # fmt: skip

    injected = await _inject(controls, "population", changes)

    assert injected.status_code == 200, injected.text
    assert injected.json()["applied"] == 600 and injected.json()["sequences"] == [1, 600]
    first, last = await _changes(mocks, "population", after=0, size=250)
    assert last == 600 and [c["soThuTu"] for c in first] == list(range(1, 251))
    tail, _ = await _changes(mocks, "population", after=590, size=250)
    assert [c["soDinhDanh"] for c in tail] == subjects[590:]
    assert (await _changes(mocks, "population", after=600))[0] == []
    too_big = await mocks["population"].get(FEEDS["population"].path, params={"soBanGhi": 1001})
    assert too_big.status_code == 400 and too_big.json()["maLoi"] == "E400"


async def test_a_bulk_injection_stops_at_the_first_refused_change(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    good = {"kind": "taxpayer", "subject": dataset.demo_citizens(1)[0], "operation": "update",
            "fields": {"tenNNT": "Phạm Văn Long"}}  # fmt: skip
    unknown = {**good, "subject": "999999999999"}

    answer = await _inject(controls, "tax", {"changes": [good, unknown, good]})

    assert answer.status_code == 404
    assert (answer.json()["index"], answer.json()["applied"]) == (1, 1)
    assert (await _changes(mocks, "tax"))[1] == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        [],
        {"kind": "spaceship", "subject": "1", "operation": "update", "fields": {"x": 1}},
        {"kind": "person", "subject": "001", "operation": "upsert"},
        {"kind": "person", "subject": "001", "operation": "update"},
        {"kind": "person", "subject": "001", "operation": "delete", "fields": {"hoVaTen": "A"}},
        {"kind": "person", "subject": "001", "operation": "update", "fields": {"x": 1}, "y": 2},
    ],
)
async def test_a_malformed_control_request_is_a_plain_400(
    mocks: Clients, controls: Clients, dataset: Dataset, body: Any
) -> None:
    bare = controls["population"]
    if isinstance(body, str):
        answer = await bare.post("/__changes", content=body)
    else:
        answer = await bare.post("/__changes", json=body)

    assert answer.status_code == 400 and set(answer.json()) == {"error"}
    assert (await _changes(mocks, "population"))[1] == 0


async def test_forgetting_the_writes_clears_the_feed_and_restarts_its_sequence(
    mocks: Clients, controls: Clients, dataset: Dataset
) -> None:
    code = dataset.demo_citizens(1)[0]
    change = {"kind": "taxpayer", "subject": code, "operation": "update",
              "fields": {"tenNNT": "Phạm Văn Long"}}  # fmt: skip
    await _inject(controls, "tax", [change, change])

    forgotten = await mocks["tax"].delete("/__writes")

    assert forgotten.status_code == 200
    assert await _changes(mocks, "tax") == ([], 0)
    taxpayer = await _data(mocks["tax"], f"/tct/api/v1/nnt/{code}", "data")
    assert taxpayer["tenNNT"] != "Phạm Văn Long"
    await _inject(controls, "tax", change)
    (entry,), last = await _changes(mocks, "tax")
    assert (entry["seqNo"], entry["version"], last) == (1, 2, 1)
