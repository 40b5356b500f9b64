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
GET /api/v2/nhat-ky-thay-doi?sauSoThuTu=&soBanGhi=
                                           the change feed (connectors/mocks/feeds.py)
=========================================  ====================================

What the POST endpoints record is served by the GET endpoints too (a death in the list as
well); a person born since the dataset was generated also carries ``cha`` and ``me`` and is
listed after the others. An accepted correction shows wherever the person is served.

The change feed: ``GET /api/v2/nhat-ky-thay-doi?sauSoThuTu=<n>&soBanGhi=<k>`` (k 1..1000,
default 100) answers the changes after sequence n, oldest first::

    {"maKetQua": "00", "thongBao": "Thành công", "soThuTuCuoi": <last sequence held>,
     "duLieu": [{"soThuTu": 7, "loaiThayDoi": "THEM" | "SUA" | "XOA",
                 "loaiHoSo": "CONG_DAN" | "CU_TRU" | "HO_KHAU", "soDinhDanh": "<citizen ID>",
                 "maHoSo": "DC-... | CT-... | HK-...", "soHoKhau": "<household number>" (HO_KHAU),
                 "phienBan": 2, "thoiGianGhiNhan": "dd/mm/yyyy HH:MM:SS",
                 "ngayHieuLuc": "dd/mm/yyyy", "truongThayDoi": ["hoVaTen"] (SUA only)}]}

A household change names the household's head (``soDinhDanh``) and its number; every member
reads the same record at ``.../{id}/ho-khau``. What each write puts in it: a residence change,
the residence (``THEM`` or ``SUA`` with the paths that changed), the households left and joined
(``SUA`` ``thanhVien``; a new household ``THEM``) and the person (``SUA`` ``soHoKhau``); a birth,
the child (``THEM``, effective the date of birth), their residence and household; a marriage,
both spouses (``SUA`` ``tinhTrangHonNhan``); a death, the person (``SUA`` ``daQuaDoi``,
``ngayMat``, ``soHoKhau``; effective the date of death), the residence (``XOA``) and household;
an accepted correction, the person (``SUA`` the field).

``POST /__changes`` (no auth) injects changes of a person (``kind`` ``person``):
``{"kind": "person", "subject": "<citizen ID>", "operation": "update", "fields": {...}}`` with
``hoVaTen``, ``ngaySinh``, ``gioiTinh``, ``tinhTrangHonNhan`` (values as the reads serve them)
and a death (``"daQuaDoi": true, "ngayMat": "dd/mm/yyyy"``, recorded as ``bien-dong-ho-tich``
records one); or ``"operation": "delete"`` (the person, their residence and household reads
answer 404 and the list leaves them out).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from connectors.mocks.corrections import CorrectionBook, code_rule
from connectors.mocks.dataset import UNIT_SIZE, Dataset, Household, Person
from connectors.mocks.feeds import (
    ChangeControl,
    ChangeFeed,
    FeedStyle,
    Injection,
    in_format,
    unsupported,
)
from connectors.mocks.formats import dmy, reference
from connectors.mocks.population_writes import (
    PERSON_RULES,
    Newborn,
    PopulationRegister,
    population_correction_endpoint,
    population_endpoints,
)
from connectors.mocks.server import BadRequest, Call, NotFound, Reply, Route, SystemSpec
from connectors.mocks.writes import WriteState, now

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


FEED = FeedStyle(
    path="/api/v2/nhat-ky-thay-doi",
    after_param="sauSoThuTu",
    size_param="soBanGhi",
    keys={"sequence": "soThuTu", "operation": "loaiThayDoi", "kind": "loaiHoSo",
          "subject": "soDinhDanh", "reference": "maHoSo", "version": "phienBan",
          "registered_at": "thoiGianGhiNhan", "effective_on": "ngayHieuLuc",
          "fields": "truongThayDoi"},
    operations={"insert": "THEM", "update": "SUA", "delete": "XOA"},
    kinds={"person": "CONG_DAN", "residence": "CU_TRU", "household": "HO_KHAU"},
    timestamp=TIMESTAMP,
    answer=lambda page, last: _ok(page, soThuTuCuoi=last),
)  # fmt: skip
MARITAL_CODES = {code: status for status, code in MARITAL_STATUS.items()}
INJECTABLE = {**PERSON_RULES, "tinhTrangHonNhan": code_rule(frozenset(MARITAL_CODES))}


def build_spec(dataset: Dataset) -> SystemSpec:
    provinces = dataset.provinces
    seed = dataset.seed
    feed = ChangeFeed(FEED)
    register = PopulationRegister(dataset, feed=feed)
    book = CorrectionBook()
    writes = WriteState(overlays=[register.clear, book.clear, feed.clear])

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
        find_index(call.params["soDinhDanh"])  # 404 for an unknown or deleted person
        return _ok(current_person_body(call.params["soDinhDanh"]))

    def list_persons(call: Call) -> Reply:
        size = call.int_param("soBanGhi", 50, 1, 500)
        total = dataset.size + len(register.born) - len(register.deleted)
        pages = max(1, -(-total // size))
        page = call.int_param("trang", 1, 1, 10**9)
        start = (page - 1) * size
        gone = register.deleted
        if not register.updated:  # nothing recorded: the generated records as they are
            items = [corrected(person_body(p)) for p in dataset.iter_persons(start, start + size)
                     if not gone or p.citizen_id not in gone]  # fmt: skip
        else:
            ids = [p.citizen_id for p in dataset.iter_persons(start, start + size)]
            ids += list(register.born)[max(0, start - dataset.size) :][: size - len(ids)]
            items = [current_person_body(i) for i in ids if i not in gone]
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

    endpoints = population_endpoints(register, _ok, RELATIONSHIP)
    life_events = endpoints[1]
    writers = (
        *endpoints,
        population_correction_endpoint(register, book, current_person_body, _ok),
    )

    def inject(change: Injection) -> None:
        """Apply one change of ``POST /__changes`` (see the module docstring)."""
        if change.kind != "person" or change.operation == "insert":
            raise unsupported(change)
        index = find_index(change.subject)
        stamp = now()
        effective = change.effective or stamp.date()
        if change.operation == "delete":
            register.deleted.add(change.subject)
            register.announce("delete", "person", index, effective, stamp=stamp)
            return
        values = dict(change.fields)
        died, dead = values.pop("ngayMat", None), values.pop("daQuaDoi", None)
        if dead not in (None, True) or (dead is True and died is None):
            raise BadRequest("a death is daQuaDoi true with ngayMat (dd/mm/yyyy)")
        death = None
        if died is not None:  # recorded as bien-dong-ho-tich records a death
            event = {"loaiBienDong": "KHAI_TU", "soDinhDanh": change.subject, "ngayMat": died}
            death = life_events.plan(Call({}, {}), event)
        for path, rendered in in_format(change, values, INJECTABLE):
            if path == "tinhTrangHonNhan":  # the register's own state, not a corrected value
                register.marital[index] = MARITAL_CODES[rendered]
                register.updated[index] = stamp
            else:
                book.record(change.subject, path, rendered, stamp)
        if values:
            register.announce("update", "person", index, effective, list(values), stamp)
        if death is not None:
            death.apply()

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
            feed.route(),
        ),
        writes=writes,
        changes=ChangeControl(feed, inject),
    )
