"""The mocks accept writes as the real registers would: each in its own format, applied once
per idempotency key, with dry runs, final refusals, retryable faults, and reads that show the
new state at once. In process (httpx.ASGITransport): these tests are about the mocks' data."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from connectors.mocks.dataset import Dataset

TRANSFER = "/vbdlis/api/v1/bien-dong/chuyen-nhuong"
BIRTH = "/hotich/v1/khai-sinh"
LIFE_EVENT = "/api/v2/bien-dong-ho-tich"
Clients = dict[str, httpx.AsyncClient]


def _days_ago(days: int) -> str:
    """A date as the registers write it (dd/mm/yyyy); they refuse dates after today."""
    return f"{date.today() - timedelta(days=days):%d/%m/%Y}"


TODAY, BORN, DIED = _days_ago(0), _days_ago(14), _days_ago(3)


async def _data(client: httpx.AsyncClient, path: str, envelope: str) -> Any:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()[envelope]


async def _write_counts(client: httpx.AsyncClient, template: str) -> dict[str, int]:
    counts: dict[str, int] = (await client.get("/__stats")).json()["writes"][template]
    return counts


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


# -- land -------------------------------------------------------------------------------------


async def test_a_registered_transfer_moves_the_parcel_and_replaces_the_certificate(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(land, seller, buyer)

    answer = await land.post(TRANSFER, json=body)

    assert answer.status_code == 200 and answer.json()["code"] == 0
    new_number = answer.json()["data"]["soPhatHanhMoi"]
    seller_parcels = await _data(land, f"/vbdlis/api/v1/chu-su-dung/{seller}/thua-dat", "data")
    assert body["maThua"] not in [p["maThua"] for p in seller_parcels]
    buyer_certs = await _data(land, f"/vbdlis/api/v1/chu-su-dung/{buyer}/giay-chung-nhan", "data")
    bought = next(c for c in buyer_certs if c["thuaDat"]["maThua"] == body["maThua"])
    assert bought["soPhatHanh"] == new_number
    assert bought["chuSuDung"]["soDinhDanh"] == buyer
    old = await _data(land, f"/vbdlis/api/v1/giay-chung-nhan/{body['soPhatHanh']}", "data")
    assert old["trangThai"] == "DA_HUY" and old["chuSuDung"]["soDinhDanh"] == seller
    new = await _data(land, f"/vbdlis/api/v1/giay-chung-nhan/{new_number}", "data")
    assert new["trangThai"] == "CON_HIEU_LUC"


async def test_the_same_transfer_delivered_twice_is_applied_once(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(land, seller, buyer)

    first = await land.post(TRANSFER, json=body)
    again = await land.post(TRANSFER, json=body)

    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    counts = await _write_counts(land, TRANSFER)
    assert counts == {"received": 2, "applied": 1, "duplicates": 1, "rejected": 0, "dry_runs": 0}
    reused = await land.post(TRANSFER, json={**body, "ngayHopDong": _days_ago(31)})
    assert reused.status_code == 409 and reused.json()["code"] == 409


async def test_a_dry_run_validates_and_applies_nothing(mocks: Clients, dataset: Dataset) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(land, seller, buyer)

    checked = await land.post(TRANSFER, params={"dryRun": "true"}, json=body)
    refused = await land.post(TRANSFER, params={"dryRun": "true"}, json={**body, "maThua": "x"})

    assert checked.status_code == 200 and checked.json()["data"]["maThua"] == body["maThua"]
    assert refused.status_code == 409
    still = await _data(land, f"/vbdlis/api/v1/giay-chung-nhan/{body['soPhatHanh']}", "data")
    assert still["trangThai"] == "CON_HIEU_LUC"
    assert (await land.post(TRANSFER, json=body)).status_code == 200  # the key was not kept
    assert (await _write_counts(land, TRANSFER))["dry_runs"] == 1


async def test_transferring_a_parcel_the_seller_does_not_hold_is_a_final_conflict(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(land, seller, buyer)
    assert (await land.post(TRANSFER, json=body)).status_code == 200

    twice = await land.post(TRANSFER, json={**body, "maGiaoDich": "GD-0002"})
    invalid = await land.post(TRANSFER, json={**body, "maGiaoDich": "GD-3", "ngayHopDong": "x"})
    keyless = await land.post(TRANSFER, json={k: v for k, v in body.items() if k != "maGiaoDich"})

    assert twice.status_code == 409 and "không thuộc" in twice.json()["message"]
    assert invalid.status_code == 422 and invalid.json() == {
        "code": 422, "message": invalid.json()["message"], "data": None}  # fmt: skip
    assert keyless.status_code == 400
    assert (await _write_counts(land, TRANSFER))["applied"] == 1


async def test_injected_faults_fail_writes_before_they_apply(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    body = await _transfer_body(land, seller, buyer)
    await land.put("/__faults", json={"error_rate": 1.0})

    failed = await land.post(TRANSFER, json=body)
    await land.delete("/__faults")
    retried = await land.post(TRANSFER, json=body)

    assert failed.status_code in (500, 502, 503)
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers
    assert (await _write_counts(land, TRANSFER))["applied"] == 1


async def test_forgetting_the_writes_restores_the_generated_data(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    seller, buyer = dataset.demo_citizens(2)
    path = f"/vbdlis/api/v1/chu-su-dung/{seller}/thua-dat"
    before = await _data(land, path, "data")
    await land.post(TRANSFER, json=await _transfer_body(land, seller, buyer))

    forgotten = (await land.delete("/__writes")).json()

    assert forgotten == {"system": "land", "forgotten": 1}
    assert await _data(land, path, "data") == before


# -- civil status and population ---------------------------------------------------------------


def _birth(father: str, mother: str) -> dict[str, Any]:
    return {
        "nguoiDuocKhaiSinh": {"hoTen": "Nguyễn Minh An", "ngaySinh": BORN, "gioiTinh": "Nam"},
        "cha": {"soDinhDanh": father},
        "me": {"soDinhDanh": mother},
        "noiDangKy": {"maTinh": "01"},
        "ngayDangKy": TODAY,
    }  # fmt: skip


async def test_a_registered_birth_reaches_civil_status_then_the_population_database(
    mocks: Clients, dataset: Dataset
) -> None:
    civil, population = mocks["civil-status"], mocks["population"]
    father = dataset.person_by_id(dataset.demo_citizens(1)[0])
    assert father is not None and father.sex == "M" and father.spouse is not None
    mother = dataset.citizen_id(father.spouse)
    key = {"Idempotency-Key": "KS-1"}

    registered = await civil.post(BIRTH, json=_birth(father.citizen_id, mother), headers=key)
    replayed = await civil.post(BIRTH, json=_birth(father.citizen_id, mother), headers=key)

    assert registered.status_code == 201 and replayed.json() == registered.json()
    child = registered.json()["ketQua"]["nguoiDuocKhaiSinh"]["soDinhDanh"]
    record = await _data(civil, f"/hotich/v1/khai-sinh/{child}", "ketQua")
    assert record["cha"]["soDinhDanh"] == father.citizen_id
    assert (await population.get(f"/api/v2/cong-dan/{child}")).status_code == 404

    event = {"loaiBienDong": "KHAI_SINH", "soDinhDanh": child, "hoVaTen": "Nguyễn Minh An",
             "ngaySinh": BORN, "gioiTinh": "1", "cha": {"soDinhDanh": father.citizen_id},
             "me": {"soDinhDanh": mother}, "noiDangKyKhaiSinh": {"maTinh": "01"}}  # fmt: skip
    recorded = await population.post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "1"})

    assert recorded.status_code == 200 and recorded.json()["maKetQua"] == "00"
    person = await _data(population, f"/api/v2/cong-dan/{child}", "duLieu")
    assert (person["cha"]["soDinhDanh"], person["me"]["soDinhDanh"]) == (father.citizen_id, mother)
    household = await _data(population, f"/api/v2/cong-dan/{mother}/ho-khau", "duLieu")
    assert {"soDinhDanh": child, "hoVaTen": "Nguyễn Minh An", "quanHeVoiChuHo": "03"} in (
        household["thanhVien"]
    )
    assert person["soHoKhau"] == household["soHoKhau"]
    counts = await _write_counts(civil, BIRTH)
    assert (counts["applied"], counts["duplicates"]) == (1, 1)


async def test_a_second_registration_of_the_same_child_is_refused(
    mocks: Clients, dataset: Dataset
) -> None:
    civil = mocks["civil-status"]
    father = dataset.person_by_id(dataset.demo_citizens(1)[0])
    assert father is not None and father.spouse is not None
    body = _birth(father.citizen_id, dataset.citizen_id(father.spouse))
    assert (await civil.post(BIRTH, json=body, headers={"Idempotency-Key": "a"})).status_code == 201

    again = await civil.post(BIRTH, json=body, headers={"Idempotency-Key": "b"})
    swapped = await civil.post(
        BIRTH, json=_birth(dataset.citizen_id(father.spouse), father.citizen_id),
        headers={"Idempotency-Key": "c"},
    )  # fmt: skip

    assert again.status_code == 409 and again.json()["loi"]["ma"] == "HT-409"
    assert swapped.status_code == 422 and swapped.json()["trangThai"] == "LOI"


async def test_a_death_is_registered_once_and_shown_by_both_registers(
    mocks: Clients, dataset: Dataset
) -> None:
    civil, population = mocks["civil-status"], mocks["population"]
    citizen = dataset.demo_citizens(1)[0]
    body = {"nguoiChet": {"soDinhDanh": citizen}, "ngayChet": DIED,
            "noiDangKy": {"maTinh": "01"}, "ngayDangKy": TODAY}  # fmt: skip

    assert (await civil.post("/hotich/v1/khai-tu", json=body,
                             headers={"Idempotency-Key": "KT-1"})).status_code == 201  # fmt: skip
    twice = await civil.post("/hotich/v1/khai-tu", json=body, headers={"Idempotency-Key": "KT-2"})
    event = {"loaiBienDong": "KHAI_TU", "soDinhDanh": citizen, "ngayMat": DIED}
    await population.post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "KT-1"})

    assert twice.status_code == 409
    death = await _data(civil, f"/hotich/v1/khai-tu/{citizen}", "ketQua")
    assert death["ngayChet"] == DIED
    person = await _data(population, f"/api/v2/cong-dan/{citizen}", "duLieu")
    assert person["daQuaDoi"] is True and person["ngayMat"] == DIED
    assert (await population.get(f"/api/v2/cong-dan/{citizen}/cu-tru")).status_code == 404


async def test_a_permanent_residence_change_moves_the_person_between_households(
    mocks: Clients, dataset: Dataset
) -> None:
    population = mocks["population"]
    mover, host = dataset.demo_citizens(3)[0], dataset.demo_citizens(3)[2]
    before = await _data(population, f"/api/v2/cong-dan/{mover}/ho-khau", "duLieu")
    target = await _data(population, f"/api/v2/cong-dan/{host}/ho-khau", "duLieu")
    body = {
        "diaChi": {"chiTiet": "ignored when joining", "maTinh": "01"},
        "soHoKhau": target["soHoKhau"],
        "quanHeVoiChuHo": "10",
        "ngayDangKy": TODAY,
    }
    path = f"/api/v2/cong-dan/{mover}/thuong-tru"  # fmt: skip

    dry = await population.post(path, params={"chiKiemTra": "true"}, json=body)
    moved = await population.post(path, json=body, headers={"X-Ma-Giao-Dich": "TT-1"})

    assert dry.status_code == 200 and dry.json()["maKetQua"] == "01"
    assert moved.status_code == 200
    residence = await _data(population, f"/api/v2/cong-dan/{mover}/cu-tru", "duLieu")
    assert residence["soHoKhau"] == target["soHoKhau"]
    assert residence["diaChi"]["chiTiet"] == target["diaChi"]["chiTiet"]
    old = await _data(population, f"/api/v2/ho-khau/{before['soHoKhau']}", "duLieu")
    assert mover not in [m["soDinhDanh"] for m in old["thanhVien"]]
    again = await population.post(path, json=body, headers={"X-Ma-Giao-Dich": "TT-2"})
    assert again.status_code == 409 and again.json()["maLoi"] == "E409"


# -- tax --------------------------------------------------------------------------------------


async def test_a_finalisation_settles_the_tax_year_once(mocks: Clients, dataset: Dataset) -> None:
    tax = mocks["tax"]
    code = dataset.demo_citizens(1)[0]
    path = f"/tct/api/v1/nnt/{code}/quyet-toan"
    year = date.today().year - 1
    body = {"requestId": "QT-1", "kyTinhThue": year, "ngayNop": TODAY,
            "soThuePhaiNop": 12_000_000, "soThueDaNop": 10_000_000}  # fmt: skip

    invalid = await tax.post(path, json={**body, "soThueDaNop": -1})
    checked = await tax.post(path, params={"validateOnly": "true"}, json=body)
    recorded = await tax.post(path, json=body)
    replay = await tax.post(path, json=body)
    amended = await tax.post(path, json={**body, "requestId": "QT-2"})

    assert invalid.status_code == 422 and invalid.json()["errorCode"] == "TCT422"
    assert checked.status_code == 200 and checked.json()["data"]["soTienConNo"] == 2_000_000
    assert recorded.status_code == 200 and recorded.json()["errorCode"] == "00"
    assert replay.json() == recorded.json()
    assert amended.status_code == 409 and amended.json()["errorCode"] == "TCT409"
    years = await _data(tax, f"/tct/api/v1/nnt/{code}/nghia-vu-thue", "data")
    settled = next(y for y in years if y["kyTinhThue"] == year)
    assert (settled["trangThai"], settled["soTienConNo"]) == ("CON_NO", 2_000_000)
    assert settled["ngayNopToKhaiGanNhat"] == TODAY
    counts = await _write_counts(tax, "/tct/api/v1/nnt/{mst}/quyet-toan")
    assert counts == {"received": 5, "applied": 1, "duplicates": 1, "rejected": 2, "dry_runs": 1}


def _single_adults(dataset: Dataset) -> tuple[str, str]:
    """A single man of 20 or more and a single woman of 18 or more, both alive."""
    found: dict[str, str] = {}
    for person in dataset.iter_persons(0, 2_000):
        old_enough = (date.today() - person.date_of_birth).days > 21 * 366
        if person.marital_status == "SINGLE" and not person.is_deceased and old_enough:
            found.setdefault(person.sex, person.citizen_id)
    return found["M"], found["F"]


async def test_a_marriage_is_registered_once_per_person_and_reaches_both_registers(
    mocks: Clients, dataset: Dataset
) -> None:
    civil, population = mocks["civil-status"], mocks["population"]
    husband, wife = _single_adults(dataset)
    body = {"chong": {"soDinhDanh": husband}, "vo": {"soDinhDanh": wife},
            "noiDangKy": {"maTinh": "79"}, "ngayDangKy": TODAY}  # fmt: skip

    married = await civil.post("/hotich/v1/ket-hon", json=body, headers={"Idempotency-Key": "1"})
    bigamy = await civil.post("/hotich/v1/ket-hon", json=body, headers={"Idempotency-Key": "2"})
    event = {"loaiBienDong": "KET_HON", **body}
    await population.post(LIFE_EVENT, json=event, headers={"X-Ma-Giao-Dich": "KH-1"})

    assert married.status_code == 201 and bigamy.status_code == 409
    marriages = await _data(civil, f"/hotich/v1/cong-dan/{wife}/ket-hon", "ketQua")
    assert [m["chong"]["soDinhDanh"] for m in marriages] == [husband]
    person = await _data(population, f"/api/v2/cong-dan/{husband}", "duLieu")
    assert person["tinhTrangHonNhan"] == "2"
