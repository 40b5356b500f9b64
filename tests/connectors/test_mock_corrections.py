"""The four mocks decide a citizen's correction request at once, each in its own manners: an
accepted value is what every read serves from then on, a refusal says why and changes nothing,
and the write machinery (idempotency key, dry run, counters, ``DELETE /__writes``) holds as
for the other writes. In process (httpx.ASGITransport): these tests are about the mocks' data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from connectors.mocks.dataset import UNIT_SIZE, Dataset
from connectors.mocks.land import encode_cursor

Clients = dict[str, httpx.AsyncClient]
Record = dict[str, Any]


async def _data(client: httpx.AsyncClient, path: str, envelope: str) -> Any:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()[envelope]


def _dmy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _other_day_same_year(day: date) -> date:
    return day.replace(day=1) if day.day != 1 else day.replace(day=2)


# -- each system's manners ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """How one system takes a correction, and a correction it accepts, one it refuses, one it
    cannot read, for its demo subject."""

    system: str
    template: str  # as /__stats counts it
    path: Callable[[str], str]  # subject -> the correction endpoint
    key_header: str | None  # else the key travels in the body field ``key_field``
    key_field: str | None
    subject_in_body: bool
    dry_run: str
    envelope: str
    success: int
    error_code: Callable[[Record], str]
    subject: Callable[[Dataset], str]
    read: Callable[[httpx.AsyncClient, Dataset, str], Awaitable[Record]]  # the record, by ID
    listed: Callable[[httpx.AsyncClient, Dataset, str, str], Awaitable[Record]]  # in a page
    accepted: tuple[str, Callable[[Dataset, str, Record], Any]]  # (field, claimed value)
    refused: tuple[str, Callable[[Dataset, str, Record], Any]]
    invalid: tuple[str, Any]
    identity: str
    invalid_code: str

    async def send(
        self,
        client: httpx.AsyncClient,
        subject: str,
        record: Record,
        field: str,
        value: Any,
        key: str = "K-1",
        dry_run: bool = False,
        **extra: Any,
    ) -> httpx.Response:
        body: Record = {"maHoSo": record["maHoSo"], "truong": field, "giaTriDeNghi": value,
                        "lyDo": "Hồ sơ ghi sai", **extra}  # fmt: skip
        if self.subject_in_body:
            body["soDinhDanh"] = subject
        headers = {}
        if self.key_header is not None:
            headers[self.key_header] = key
        else:
            assert self.key_field is not None
            body[self.key_field] = key
        params = {self.dry_run: "true"} if dry_run else {}
        return await client.post(self.path(subject), json=body, headers=headers, params=params)

    def decision(self, answer: httpx.Response) -> Record:
        assert answer.status_code == self.success, answer.text
        decided: Record = answer.json()[self.envelope]
        return decided


def _value(record: Record, path: str) -> Any:
    for name in path.split("."):
        record = record[name]
    return record


# population


async def _person(client: httpx.AsyncClient, dataset: Dataset, subject: str) -> Record:
    record: Record = await _data(client, f"/api/v2/cong-dan/{subject}", "duLieu")
    return record


async def _person_listed(
    client: httpx.AsyncClient, dataset: Dataset, subject: str, reference: str
) -> Record:
    index = dataset.index_of(subject)
    assert index is not None
    page = await _data(client, f"/api/v2/cong-dan?trang={index + 1}&soBanGhi=1", "duLieu")
    assert page[0]["maHoSo"] == reference
    return dict(page[0])


def _three_years_earlier(dataset: Dataset, subject: str, record: Record) -> str:
    person = dataset.person_by_id(subject)
    assert person is not None
    return _dmy(person.date_of_birth.replace(year=person.date_of_birth.year - 3, day=1))


POPULATION = Case(
    system="population",
    template="/api/v2/cong-dan/{soDinhDanh}/yeu-cau-dinh-chinh",
    path=lambda subject: f"/api/v2/cong-dan/{subject}/yeu-cau-dinh-chinh",
    key_header="X-Ma-Giao-Dich", key_field=None, subject_in_body=False,
    dry_run="chiKiemTra", envelope="duLieu", success=200,
    error_code=lambda body: body["maLoi"],
    subject=lambda dataset: dataset.demo_citizens(1)[0],
    read=_person, listed=_person_listed,
    accepted=("hoVaTen", lambda dataset, subject, record: "Nguyễn Thị Đính Chính"),
    refused=("ngaySinh", _three_years_earlier),
    invalid=("ngaySinh", "31/02/2001"),
    identity="soDinhDanh", invalid_code="E422",
)  # fmt: skip


# civil status


def _misspelt_in_civil_status(dataset: Dataset) -> str:
    """A person whose birth registration dropped the diacritics of one word of the name."""
    for subject in dataset.conflict_subjects(0, 2_000):
        conflict = dataset.conflict(dataset.index_of(subject) or 0)
        if conflict is not None and conflict.kind == "full_name":
            return subject
    raise AssertionError("no misspelt name among the first 2,000 persons")


async def _birth(client: httpx.AsyncClient, dataset: Dataset, subject: str) -> Record:
    record: Record = await _data(client, f"/hotich/v1/khai-sinh/{subject}", "ketQua")
    return record


async def _birth_listed(
    client: httpx.AsyncClient, dataset: Dataset, subject: str, reference: str
) -> Record:
    index = dataset.index_of(subject)
    page = await _data(client, f"/hotich/v1/khai-sinh?batDau={index}&soLuong=1", "ketQua")
    assert page[0]["maHoSo"] == reference
    return dict(page[0])


def _population_name(dataset: Dataset, subject: str, record: Record) -> str:
    person = dataset.person_by_id(subject)
    assert person is not None
    return person.full_name


CIVIL_STATUS = Case(
    system="civil-status",
    template="/hotich/v1/yeu-cau-dinh-chinh",
    path=lambda subject: "/hotich/v1/yeu-cau-dinh-chinh",
    key_header="Idempotency-Key", key_field=None, subject_in_body=True,
    dry_run="kiemTra", envelope="ketQua", success=201,
    error_code=lambda body: body["loi"]["ma"],
    subject=_misspelt_in_civil_status,
    read=_birth, listed=_birth_listed,
    accepted=("nguoiDuocKhaiSinh.hoTen", _population_name),
    refused=("nguoiDuocKhaiSinh.hoTen", lambda dataset, subject, record: "Trần Thị Khác Hẳn"),
    invalid=("nguoiDuocKhaiSinh.ngaySinh", "2001-02-03"),
    identity="nguoiDuocKhaiSinh.soDinhDanh", invalid_code="HT-422",
)  # fmt: skip


# land


async def _parcel(client: httpx.AsyncClient, dataset: Dataset, subject: str) -> Record:
    parcels = await _data(client, f"/vbdlis/api/v1/chu-su-dung/{subject}/thua-dat", "data")
    return dict(parcels[0])


async def _parcel_listed(
    client: httpx.AsyncClient, dataset: Dataset, subject: str, reference: str
) -> Record:
    cursor = encode_cursor(dataset.index_of(subject) or 0)
    page = await _data(client, f"/vbdlis/api/v1/thua-dat?cursor={cursor}&limit=5", "data")
    return dict(next(p for p in page if p["maHoSo"] == reference))


def _area_times(factor: float) -> Callable[[Dataset, str, Record], str]:
    def claimed(dataset: Dataset, subject: str, record: Record) -> str:
        area = float(record["dienTich"].replace(",", "."))
        return f"{area * factor:.1f}".replace(".", ",")

    return claimed


LAND = Case(
    system="land",
    template="/vbdlis/api/v1/yeu-cau-dinh-chinh",
    path=lambda subject: "/vbdlis/api/v1/yeu-cau-dinh-chinh",
    key_header=None, key_field="maGiaoDich", subject_in_body=True,
    dry_run="dryRun", envelope="data", success=200,
    error_code=lambda body: str(body["code"]),
    subject=lambda dataset: dataset.demo_citizens(1)[0],
    read=_parcel, listed=_parcel_listed,
    accepted=("dienTich", _area_times(1.05)),
    refused=("dienTich", _area_times(1.5)),
    invalid=("dienTich", "128.2"),
    identity="maThua", invalid_code="422",
)  # fmt: skip


# tax


async def _taxpayer(client: httpx.AsyncClient, dataset: Dataset, subject: str) -> Record:
    record: Record = await _data(client, f"/tct/api/v1/nnt/{subject}", "data")
    return record


async def _taxpayer_listed(
    client: httpx.AsyncClient, dataset: Dataset, subject: str, reference: str
) -> Record:
    index = dataset.index_of(subject) or 0
    ordinal = index // UNIT_SIZE * 3 + Dataset.TAXPAYER_SLOTS.index(index % UNIT_SIZE)
    page = await _data(client, f"/tct/api/v1/nnt?pageNo={ordinal + 1}&pageSize=1", "data")
    assert page[0]["maHoSo"] == reference
    return dict(page[0])


def _birthday(shift_years: int) -> Callable[[Dataset, str, Record], str]:
    def claimed(dataset: Dataset, subject: str, record: Record) -> str:
        person = dataset.person_by_id(subject)
        assert person is not None
        day = _other_day_same_year(person.date_of_birth)
        return _dmy(day.replace(year=day.year + shift_years))

    return claimed


TAX = Case(
    system="tax",
    template="/tct/api/v1/nnt/{mst}/yeu-cau-dieu-chinh",
    path=lambda subject: f"/tct/api/v1/nnt/{subject}/yeu-cau-dieu-chinh",
    key_header=None, key_field="requestId", subject_in_body=False,
    dry_run="validateOnly", envelope="data", success=200,
    error_code=lambda body: body["errorCode"],
    subject=lambda dataset: dataset.demo_citizens(1)[0],
    read=_taxpayer, listed=_taxpayer_listed,
    accepted=("ngaySinh", _birthday(0)),
    refused=("ngaySinh", _birthday(-1)),
    invalid=("ngaySinh", "1990-01-01"),
    identity="mst", invalid_code="TCT422",
)  # fmt: skip

CASES = pytest.mark.parametrize(
    "case", [POPULATION, CIVIL_STATUS, LAND, TAX], ids=lambda case: case.system
)


async def _counts(client: httpx.AsyncClient, template: str) -> dict[str, int]:
    counts: dict[str, int] = (await client.get("/__stats")).json()["writes"][template]
    return counts


# -- every system ---------------------------------------------------------------------------------


@CASES
async def test_an_accepted_correction_is_what_the_record_and_its_list_serve(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, claimed = case.accepted
    value = claimed(dataset, subject, record)

    answer = await case.send(client, subject, record, field, value,
                             giaTriHienTai=_value(record, field))  # fmt: skip

    assert case.decision(answer) == {
        "ketQua": "CHAP_NHAN", "maHoSo": record["maHoSo"], "truong": field,
        "giaTriCu": _value(record, field), "giaTriMoi": value,
    }  # fmt: skip
    assert _value(await case.read(client, dataset, subject), field) == value
    listed = await case.listed(client, dataset, subject, record["maHoSo"])
    assert _value(listed, field) == value


@CASES
async def test_a_refused_correction_says_why_and_changes_nothing(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, claimed = case.refused

    answer = await case.send(client, subject, record, field, claimed(dataset, subject, record))
    identity = await case.send(client, subject, record, case.identity, "012345678901", key="K-2")

    decided = case.decision(answer)
    assert decided["ketQua"] == "TU_CHOI" and decided["lyDoTuChoi"]
    assert "giaTriMoi" not in decided
    refused = case.decision(identity)
    assert refused["ketQua"] == "TU_CHOI" and "trực tiếp" in refused["lyDoTuChoi"]
    assert await case.read(client, dataset, subject) == record
    assert (await _counts(client, case.template))["applied"] == 2  # a decision, remembered


@CASES
async def test_the_same_correction_delivered_twice_is_decided_once(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, claimed = case.accepted
    value = claimed(dataset, subject, record)

    first = await case.send(client, subject, record, field, value)
    again = await case.send(client, subject, record, field, value)
    reused = await case.send(client, subject, record, field, value, lyDo="khác")

    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert reused.status_code == 409
    counts = await _counts(client, case.template)
    assert (counts["applied"], counts["duplicates"], counts["rejected"]) == (1, 1, 1)


@CASES
async def test_a_dry_run_decides_and_applies_nothing(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, claimed = case.accepted
    value = claimed(dataset, subject, record)

    checked = await case.send(client, subject, record, field, value, dry_run=True)

    assert checked.status_code == 200 and checked.json()[case.envelope]["ketQua"] == "CHAP_NHAN"
    assert await case.read(client, dataset, subject) == record
    applied = await case.send(client, subject, record, field, value)  # the key was not kept
    assert case.decision(applied)["ketQua"] == "CHAP_NHAN"
    counts = await _counts(client, case.template)
    assert (counts["dry_runs"], counts["applied"]) == (1, 1)


@CASES
async def test_a_value_not_in_the_systems_format_is_a_final_422(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, value = case.invalid

    answer = await case.send(client, subject, record, field, value)
    unknown = await case.send(client, subject, record, "khongCo", "x", key="K-2")
    missing = await case.send(client, subject, {"maHoSo": "XX-0000000000"}, field, value, key="K-3")

    assert answer.status_code == 422 and case.error_code(answer.json()) == case.invalid_code
    assert unknown.status_code == 422
    assert missing.status_code == 404
    assert await case.read(client, dataset, subject) == record
    assert (await _counts(client, case.template))["rejected"] == 3


@CASES
async def test_forgetting_the_writes_forgets_the_corrections(
    case: Case, mocks: Clients, dataset: Dataset
) -> None:
    client, subject = mocks[case.system], case.subject(dataset)
    record = await case.read(client, dataset, subject)
    field, claimed = case.accepted
    await case.send(client, subject, record, field, claimed(dataset, subject, record))

    forgotten = (await client.delete("/__writes")).json()

    assert forgotten == {"system": case.system, "forgotten": 1}
    assert await case.read(client, dataset, subject) == record
    listed = await case.listed(client, dataset, subject, record["maHoSo"])
    assert _value(listed, field) == _value(record, field)


# -- what one system does of its own ------------------------------------------------------------


async def test_a_corrected_area_shows_on_the_parcel_and_on_its_certificate(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    owner = dataset.demo_citizens(1)[0]
    certificates = await _data(land, f"/vbdlis/api/v1/chu-su-dung/{owner}/giay-chung-nhan", "data")
    certificate = certificates[0]
    area = float(certificate["thuaDat"]["dienTich"].replace(",", "."))
    claimed = f"{area * 0.95:.1f}".replace(".", ",")
    body = {"maGiaoDich": "GD-1", "soDinhDanh": owner, "maHoSo": certificate["maHoSo"],
            "truong": "thuaDat.dienTich", "giaTriDeNghi": claimed}  # fmt: skip

    answer = await land.post("/vbdlis/api/v1/yeu-cau-dinh-chinh", json=body)
    ambiguous = await land.post(
        "/vbdlis/api/v1/yeu-cau-dinh-chinh",
        json={**body, "maGiaoDich": "GD-2", "maHoSo": None, "truong": "dienTich"},
    )  # fmt: skip

    assert answer.json()["data"]["ketQua"] == "CHAP_NHAN"
    parcels = await _data(land, f"/vbdlis/api/v1/chu-su-dung/{owner}/thua-dat", "data")
    parcel = next(p for p in parcels if p["maThua"] == certificate["thuaDat"]["maThua"])
    assert parcel["dienTich"] == claimed
    shown = await _data(land, f"/vbdlis/api/v1/giay-chung-nhan/{certificate['soPhatHanh']}", "data")
    assert shown["thuaDat"]["dienTich"] == claimed
    assert shown["ngayCapNhat"] > certificate["ngayCapNhat"]  # the register's last change
    assert len(parcels) > 1 and ambiguous.status_code == 422  # several parcels: maHoSo needed


async def test_an_unknown_land_use_purpose_is_invalid_and_a_known_one_is_accepted(
    mocks: Clients, dataset: Dataset
) -> None:
    land = mocks["land"]
    owner = dataset.demo_citizens(1)[0]
    parcel = await _parcel(land, dataset, owner)
    body = {"soDinhDanh": owner, "maHoSo": parcel["maHoSo"], "truong": "mucDichSuDung"}

    unknown = await land.post("/vbdlis/api/v1/yeu-cau-dinh-chinh",
                              json={**body, "maGiaoDich": "1", "giaTriDeNghi": "XYZ"})  # fmt: skip
    known = await land.post("/vbdlis/api/v1/yeu-cau-dinh-chinh",
                            json={**body, "maGiaoDich": "2", "giaTriDeNghi": "TMD"})  # fmt: skip

    assert unknown.status_code == 422 and unknown.json()["data"] is None
    assert known.json()["data"]["giaTriMoi"] == "TMD"
    assert (await _parcel(land, dataset, owner))["mucDichSuDung"] == "TMD"


async def test_a_corrected_name_shows_where_the_household_lists_the_person(
    mocks: Clients, dataset: Dataset
) -> None:
    population = mocks["population"]
    subject = dataset.demo_citizens(1)[0]
    path = f"/api/v2/cong-dan/{subject}/yeu-cau-dinh-chinh"
    body = {"truong": "hoVaTen", "giaTriDeNghi": "  Nguyễn   Thị Đính Chính "}

    answer = await population.post(path, json=body, headers={"X-Ma-Giao-Dich": "DC-1"})

    assert answer.json()["duLieu"]["giaTriMoi"] == "Nguyễn Thị Đính Chính"
    household = await _data(population, f"/api/v2/cong-dan/{subject}/ho-khau", "duLieu")
    member = next(m for m in household["thanhVien"] if m["soDinhDanh"] == subject)
    assert member["hoVaTen"] == "Nguyễn Thị Đính Chính"


async def test_a_correction_made_against_a_stale_value_is_refused(
    mocks: Clients, dataset: Dataset
) -> None:
    civil = mocks["civil-status"]
    subject = _misspelt_in_civil_status(dataset)
    record = await _birth(civil, dataset, subject)

    answer = await CIVIL_STATUS.send(
        civil, subject, record, "nguoiDuocKhaiSinh.hoTen",
        _population_name(dataset, subject, record), giaTriHienTai="Tên Đã Cũ",
    )  # fmt: skip

    decided = CIVIL_STATUS.decision(answer)
    assert decided["ketQua"] == "TU_CHOI" and "không khớp" in decided["lyDoTuChoi"]
    assert await _birth(civil, dataset, subject) == record


async def test_a_registered_death_is_listed_after_the_generated_ones(
    mocks: Clients, dataset: Dataset
) -> None:
    civil = mocks["civil-status"]
    citizen = dataset.demo_citizens(1)[0]
    today = _dmy(date.today())
    body = {"nguoiChet": {"soDinhDanh": citizen}, "ngayChet": today,
            "noiDangKy": {"maTinh": "01"}, "ngayDangKy": today}  # fmt: skip
    registered = await civil.post("/hotich/v1/khai-tu", json=body, headers={"Idempotency-Key": "1"})
    generated = len(dataset.deceased(0, dataset.size))

    page = await _data(civil, f"/hotich/v1/khai-tu?batDau={generated - 1}&soLuong=5", "ketQua")

    assert registered.status_code == 201
    assert [d["nguoiChet"]["soDinhDanh"] for d in page][1:] == [citizen]


@pytest.mark.parametrize(
    ("system", "path", "field"),
    [
        ("population", "/api/v2/cong-dan/{}/yeu-cau-dinh-chinh", "loaiCuTru"),
        ("population", "/api/v2/cong-dan/{}/yeu-cau-dinh-chinh", "diaChi.chiTiet"),
        ("civil-status", "/hotich/v1/yeu-cau-dinh-chinh", "tinhTrangHonNhan"),
        ("civil-status", "/hotich/v1/yeu-cau-dinh-chinh", "chong.hoTen"),
        ("tax", "/tct/api/v1/nnt/{}/yeu-cau-dieu-chinh", "soTienConNo"),
    ],
)
async def test_a_field_of_a_record_kept_off_line_is_refused_with_where_to_apply(
    system: str, path: str, field: str, mocks: Clients, dataset: Dataset
) -> None:
    """Without maHoSo, the field says which of the subject's records is meant."""
    subject = dataset.demo_citizens(1)[0]
    body = {"soDinhDanh": subject, "truong": field, "giaTriDeNghi": "1", "requestId": "R-1"}

    answer = await mocks[system].post(
        path.format(subject), json=body,
        headers={"X-Ma-Giao-Dich": "R-1", "Idempotency-Key": "R-1"},
    )  # fmt: skip

    decided = next(v for v in answer.json().values() if isinstance(v, dict))
    assert decided["ketQua"] == "TU_CHOI" and "trực tiếp" in decided["lyDoTuChoi"]
    assert decided["maHoSo"][:2] in ("CT", "XN", "KH", "NV")
