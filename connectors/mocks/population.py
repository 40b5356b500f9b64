"""Mock of the national population database (Cơ sở dữ liệu quốc gia về dân cư, C06).

Auth: a static API key in ``X-API-Key``. Errors: ``{"maLoi": "E404", "thongBao": "..."}``.
Lists page with ``trang`` (from 1) and ``soBanGhi`` and report ``tongSo``.

=========================================  ====================================
GET /api/v2/cong-dan?trang=&soBanGhi=      persons, a page at a time
GET /api/v2/cong-dan/{soDinhDanh}          one person
GET /api/v2/cong-dan/{soDinhDanh}/cu-tru   the person's residence
GET /api/v2/cong-dan/{soDinhDanh}/ho-khau  the person's household
GET /api/v2/ho-khau/{soHoKhau}             a household by its number
POST /api/v2/cong-dan/{soDinhDanh}/thuong-tru, POST /api/v2/bien-dong-ho-tich,
POST /api/v2/cong-dan/{soDinhDanh}/yeu-cau-dinh-chinh
                                           writes and corrections (population_writes.py)
=========================================  ====================================

What the POST endpoints record is served by the GET endpoints too (a death in the list as
well); a person born since the dataset was generated also carries ``cha`` and ``me`` and is
listed after the others. An accepted correction shows wherever the person is served.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connectors.mocks.corrections import CorrectionBook
from connectors.mocks.dataset import UNIT_SIZE, Dataset, Household, Person
from connectors.mocks.formats import dmy, reference
from connectors.mocks.population_writes import (
    Newborn,
    PopulationRegister,
    population_correction_endpoint,
    population_endpoints,
)
from connectors.mocks.server import Call, NotFound, Reply, Route, SystemSpec
from connectors.mocks.writes import WriteState

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
    register = PopulationRegister(dataset)
    book = CorrectionBook()
    writes = WriteState(overlays=[register.clear, book.clear])

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

    def identity(index: int) -> tuple[str, str]:
        """Citizen ID and name, as corrected."""
        number, name = register.identity(index)
        return number, book.value(number, "hoVaTen", name)

    def corrected(body: dict[str, Any]) -> dict[str, Any]:
        return book.patch(body["soDinhDanh"], body, stamp=("ngayCapNhat", TIMESTAMP))

    def party(citizen_id: str | None) -> dict[str, str] | None:
        index = None if citizen_id is None else register.index_of(citizen_id)
        if index is None:
            return None
        number, name = identity(index)
        return {"soDinhDanh": number, "hoVaTen": name}

    def newborn_body(child: Newborn) -> dict[str, Any]:
        mother = dataset.person_by_id(child.mother)
        body: dict[str, Any] = {
            "soDinhDanh": child.citizen_id, "hoVaTen": child.full_name,
            "ngaySinh": dmy(child.date_of_birth), "gioiTinh": SEX[child.sex], "quocTich": "VN",
            "daQuaDoi": False, "danToc": None if mother is None else mother.ethnicity,
            "noiDangKyKhaiSinh": {"maTinh": child.province,
                                  "tenTinh": provinces.labels[child.province]},
            "tinhTrangHonNhan": MARITAL_STATUS["SINGLE"],
            "cha": party(child.father), "me": party(child.mother),
            "maHoSo": reference("DC", seed, 1, child.index),
        }  # fmt: skip
        return {k: v for k, v in body.items() if v is not None}

    def current_person_body(citizen_id: str) -> dict[str, Any]:
        """The person as the database now holds them: generated, then what was recorded."""
        child = register.born.get(citizen_id)
        body = newborn_body(child) if child is not None else person_body(find(citizen_id))
        index = register.index_of(citizen_id)
        assert index is not None
        if index not in register.updated:
            return corrected(body)
        body = dict(body)
        if index in register.marital:
            body["tinhTrangHonNhan"] = MARITAL_STATUS[register.marital[index]]
        if index in register.deaths:
            body["daQuaDoi"], body["ngayMat"] = True, dmy(register.deaths[index])
        residence = register.residence(index)
        body.pop("soHoKhau", None)
        if residence is not None and residence.household_id is not None:
            body["soHoKhau"] = residence.household_id
        body["ngayCapNhat"] = register.updated[index].strftime(TIMESTAMP)
        return corrected(body)

    def member(index: int, relationship: str) -> dict[str, str]:
        number, name = identity(index)
        return {"soDinhDanh": number, "hoVaTen": name, "quanHeVoiChuHo": RELATIONSHIP[relationship]}

    def household_body(household: Household) -> dict[str, Any]:
        head_id, head_name = identity(household.head)
        unit = household.head // UNIT_SIZE
        updated = register.updated.get(household.household_id) or dataset.last_updated(
            household.head, SYSTEM, dataset.person(household.head).date_of_birth
        )
        return {
            "soHoKhau": household.household_id,
            "chuHo": {"soDinhDanh": head_id, "hoVaTen": head_name},
            "diaChi": {"chiTiet": household.address_line, "maTinh": household.province_code},
            "thanhVien": [member(index, relationship) for index, relationship in household.members],
            "maHoSo": reference("HK", seed, 3, unit),
            "ngayCapNhat": updated.strftime(TIMESTAMP),
        }

    def find(citizen_id: str) -> Person:
        person = dataset.person_by_id(citizen_id)
        if person is None:
            raise NotFound(f"Không tìm thấy công dân có số định danh {citizen_id}")
        return person

    def get_person(call: Call) -> Reply:
        return _ok(current_person_body(call.params["soDinhDanh"]))

    def list_persons(call: Call) -> Reply:
        size = call.int_param("soBanGhi", 50, 1, 500)
        total = dataset.size + len(register.born)
        pages = max(1, -(-total // size))
        page = call.int_param("trang", 1, 1, 10**9)
        start = (page - 1) * size
        if not register.updated:  # nothing recorded: the generated records as they are
            items = [corrected(person_body(p)) for p in dataset.iter_persons(start, start + size)]
        else:
            ids = [p.citizen_id for p in dataset.iter_persons(start, start + size)]
            ids += list(register.born)[max(0, start - dataset.size) :][: size - len(ids)]
            items = [current_person_body(i) for i in ids]
        return _ok(items, trang=page, soBanGhi=size, tongSo=total, tongSoTrang=pages)

    def find_index(citizen_id: str) -> int:
        index = register.index_of(citizen_id)
        if index is None:
            raise NotFound(f"Không tìm thấy công dân có số định danh {citizen_id}")
        return index

    def get_residence(call: Call) -> Reply:
        index = find_index(call.params["soDinhDanh"])
        residence = register.residence(index)
        if residence is None:
            raise NotFound(f"Công dân {call.params['soDinhDanh']} không còn đăng ký cư trú")
        body: dict[str, Any] = {
            "soDinhDanh": residence.citizen_id,
            "loaiCuTru": RESIDENCE_TYPE[residence.residence_type],
            "diaChi": {"chiTiet": residence.address_line, "maTinh": residence.province_code},
            "ngayDangKy": dmy(residence.registered_on),
        }
        if residence.expires_on is not None:
            body["ngayHetHan"] = dmy(residence.expires_on)
        changed = register.updated.get(index)
        if residence.household_id is not None and (
            changed is not None or not dataset.missing_optional(index, SYSTEM)
        ):
            body["soHoKhau"] = residence.household_id
            if residence.relationship_to_head is not None:
                body["quanHeVoiChuHo"] = RELATIONSHIP[residence.relationship_to_head]
        body["maHoSo"] = reference("CT", seed, 2, index)
        if changed is None:
            changed = dataset.last_updated(index, SYSTEM, residence.registered_on)
        body["ngayCapNhat"] = changed.strftime(TIMESTAMP)
        return _ok(body)

    def get_household_of(call: Call) -> Reply:
        index = find_index(call.params["soDinhDanh"])
        household = register.household_of(index)
        if household is None:
            raise NotFound(f"Công dân {call.params['soDinhDanh']} không thuộc hộ gia đình nào")
        return _ok(household_body(household))

    def get_household(call: Call) -> Reply:
        household = register.household(call.params["soHoKhau"])
        if household is None:
            raise NotFound(f"Không tìm thấy hộ gia đình {call.params['soHoKhau']}")
        return _ok(household_body(household))

    writers = (
        *population_endpoints(register, _ok, RELATIONSHIP),
        population_correction_endpoint(register, book, current_person_body, _ok),
    )
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
            *(writer.route(writes) for writer in writers),
        ),
        writes=writes,
    )
