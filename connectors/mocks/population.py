"""Mock of the national population database (Cơ sở dữ liệu quốc gia về dân cư, C06).

Auth: a static API key in ``X-API-Key``. Errors: ``{"maLoi": "E404", "thongBao": "..."}``.
Lists page with ``trang`` (from 1) and ``soBanGhi`` and report ``tongSo``.

=========================================  ====================================
GET /api/v2/cong-dan?trang=&soBanGhi=      persons, a page at a time
GET /api/v2/cong-dan/{soDinhDanh}          one person
GET /api/v2/cong-dan/{soDinhDanh}/cu-tru   the person's residence
GET /api/v2/cong-dan/{soDinhDanh}/ho-khau  the person's household
GET /api/v2/ho-khau/{soHoKhau}             a household by its number
=========================================  ====================================
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connectors.mocks.dataset import UNIT_SIZE, Dataset, Household, Person
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, NotFound, Reply, Route, SystemSpec

TIMESTAMP = "%d/%m/%Y %H:%M:%S"
SEX = {"M": "1", "F": "2"}
MARITAL_STATUS = {"SINGLE": "1", "MARRIED": "2", "DIVORCED": "3", "WIDOWED": "4"}
RELATIONSHIP = {
    "HEAD": "01",
    "SPOUSE": "02",
    "CHILD": "03",
    "PARENT": "04",
    "PARENT_IN_LAW": "05",
    "SIBLING": "06",
    "GRANDCHILD": "07",
    "GRANDPARENT": "08",
    "CHILD_IN_LAW": "09",
    "OTHER_RELATIVE": "10",
    "NON_RELATIVE": "11",
}
RESIDENCE_TYPE = {"PERMANENT": "TT", "TEMPORARY": "TTR"}  # thường trú, tạm trú
SYSTEM = "population"


def _error(status: int, message: str) -> dict[str, Any]:
    return {"maLoi": f"E{status}", "thongBao": message}


def _ok(data: Any, **extra: Any) -> Reply:
    return Reply(200, {"maKetQua": "00", "thongBao": "Thành công", "duLieu": data, **extra})


def build_spec(dataset: Dataset) -> SystemSpec:
    provinces = dataset.provinces
    seed = dataset.seed

    def person_body(person: Person) -> dict[str, Any]:
        index = person.index
        body: dict[str, Any] = {
            "soDinhDanh": person.citizen_id,
            "hoVaTen": person.full_name,
            "ngaySinh": dmy(person.date_of_birth),
            "gioiTinh": SEX[person.sex],
            "quocTich": "VN",
            "daQuaDoi": person.is_deceased,
        }
        if not dataset.missing_optional(index, SYSTEM):
            body["danToc"] = person.ethnicity
            birth = provinces.current(person.birth_province)
            hometown = provinces.current(person.hometown_province)
            body["noiDangKyKhaiSinh"] = {"maTinh": birth, "tenTinh": provinces.labels[birth]}
            body["queQuan"] = {"maTinh": hometown, "tenTinh": provinces.labels[hometown]}
            body["tinhTrangHonNhan"] = MARITAL_STATUS[person.marital_status]
            residence = dataset.residence(index)
            if residence is not None and residence.household_id is not None:
                body["soHoKhau"] = residence.household_id
        if person.date_of_death is not None:
            body["ngayMat"] = dmy(person.date_of_death)
        changed = person.date_of_death or person.date_of_birth
        body["maHoSo"] = reference("DC", seed, 1, index)
        body["ngayCapNhat"] = dataset.last_updated(index, SYSTEM, changed).strftime(TIMESTAMP)
        return body

    # Records do not change, and the population mock is the benchmark's baseline: cache them.
    # Callers never mutate a body (drift builds a renamed copy).
    person_body = lru_cache(maxsize=16_384)(person_body)

    def household_body(household: Household) -> dict[str, Any]:
        head = dataset.person(household.head)
        unit = household.head // UNIT_SIZE
        return {
            "soHoKhau": household.household_id,
            "chuHo": {"soDinhDanh": head.citizen_id, "hoVaTen": head.full_name},
            "diaChi": {"chiTiet": household.address_line, "maTinh": household.province_code},
            "thanhVien": [
                {
                    "soDinhDanh": dataset.citizen_id(index),
                    "hoVaTen": dataset.person(index).full_name,
                    "quanHeVoiChuHo": RELATIONSHIP[relationship],
                }
                for index, relationship in household.members
            ],
            "maHoSo": reference("HK", seed, 3, unit),
            "ngayCapNhat": dataset.last_updated(household.head, SYSTEM, head.date_of_birth)
            .strftime(TIMESTAMP),
        }  # fmt: skip

    def find(citizen_id: str) -> Person:
        person = dataset.person_by_id(citizen_id)
        if person is None:
            raise NotFound(f"Không tìm thấy công dân có số định danh {citizen_id}")
        return person

    def get_person(call: Call) -> Reply:
        return _ok(person_body(find(call.params["soDinhDanh"])))

    def list_persons(call: Call) -> Reply:
        size = call.int_param("soBanGhi", 50, 1, 500)
        pages = max(1, -(-dataset.size // size))
        page = call.int_param("trang", 1, 1, 10**9)
        start = (page - 1) * size
        items = [person_body(p) for p in dataset.iter_persons(start, start + size)]
        return _ok(items, trang=page, soBanGhi=size, tongSo=dataset.size, tongSoTrang=pages)

    def get_residence(call: Call) -> Reply:
        person = find(call.params["soDinhDanh"])
        residence = dataset.residence(person.index)
        if residence is None:
            raise NotFound(f"Công dân {person.citizen_id} không còn đăng ký cư trú")
        body: dict[str, Any] = {
            "soDinhDanh": residence.citizen_id,
            "loaiCuTru": RESIDENCE_TYPE[residence.residence_type],
            "diaChi": {"chiTiet": residence.address_line, "maTinh": residence.province_code},
            "ngayDangKy": dmy(residence.registered_on),
        }
        if residence.expires_on is not None:
            body["ngayHetHan"] = dmy(residence.expires_on)
        if residence.household_id is not None and not dataset.missing_optional(
            person.index, SYSTEM
        ):
            body["soHoKhau"] = residence.household_id
            if residence.relationship_to_head is not None:
                body["quanHeVoiChuHo"] = RELATIONSHIP[residence.relationship_to_head]
        body["maHoSo"] = reference("CT", seed, 2, person.index)
        body["ngayCapNhat"] = dataset.last_updated(
            person.index, SYSTEM, residence.registered_on
        ).strftime(TIMESTAMP)
        return _ok(body)

    def get_household_of(call: Call) -> Reply:
        person = find(call.params["soDinhDanh"])
        household = dataset.household_of(person.index)
        if household is None or person.index not in dict(household.members):
            raise NotFound(f"Công dân {person.citizen_id} không thuộc hộ gia đình nào")
        return _ok(household_body(household))

    def get_household(call: Call) -> Reply:
        household = dataset.household_by_id(call.params["soHoKhau"])
        if household is None:
            raise NotFound(f"Không tìm thấy hộ gia đình {call.params['soHoKhau']}")
        return _ok(household_body(household))

    return SystemSpec(
        name="population",
        title="Cơ sở dữ liệu quốc gia về dân cư (mô phỏng)",
        auth="api_key",
        api_key_header="X-API-Key",
        error_body=_error,
        routes=(
            Route("GET", "/api/v2/cong-dan", list_persons),
            Route("GET", "/api/v2/cong-dan/{soDinhDanh}", get_person),
            Route("GET", "/api/v2/cong-dan/{soDinhDanh}/cu-tru", get_residence),
            Route("GET", "/api/v2/cong-dan/{soDinhDanh}/ho-khau", get_household_of),
            Route("GET", "/api/v2/ho-khau/{soHoKhau}", get_household),
        ),
    )
