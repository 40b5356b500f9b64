"""Writes to the civil-status mock: registering a birth, a marriage or a death.

================================================  =========================================
POST /hotich/v1/khai-sinh[?kiemTra=true]          register a birth; issues the child's ID
POST /hotich/v1/ket-hon[?kiemTra=true]            register a marriage
POST /hotich/v1/khai-tu[?kiemTra=true]            register a death
================================================  =========================================

Idempotency key: the header ``Idempotency-Key``. Success is 201 with ``trangThai``
``THANH_CONG`` and the registration under ``ketQua`` (the same body the GET endpoints then
serve). Errors use the register's envelope: ``HT-422`` for an invalid body, ``HT-409`` for a
registration the register already holds or forbids (a person married twice, a death
registered twice, a child registered twice), both final. Bodies::

    khai-sinh: {"nguoiDuocKhaiSinh": {"hoTen", "ngaySinh", "gioiTinh": "Nam"|"Nữ"},
                "me": {"soDinhDanh"}, "cha": {"soDinhDanh"} (optional),
                "noiDangKy": {"maTinh"}, "ngayDangKy"}
    ket-hon:   {"chong": {"soDinhDanh"}, "vo": {"soDinhDanh"}, "noiDangKy": {"maTinh"},
                "ngayDangKy"}
    khai-tu:   {"nguoiChet": {"soDinhDanh"}, "ngayChet", "noiDangKy": {"maTinh"}, "ngayDangKy"}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.mocks.dataset import Dataset, Marriage, Person, _years_after
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, Refused, Reply
from connectors.mocks.settings import MAX_PERSONS
from connectors.mocks.writes import (
    KeyFrom,
    Plan,
    WriteEndpoint,
    citizen_id,
    day,
    now,
    obj,
    province,
    required_text,
)

SEX_OF = {"Nam": "M", "Nữ": "F"}
Render = Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True, slots=True)
class Birth:
    """A birth registered through the write endpoint: the child is nobody in the dataset."""

    citizen_id: str
    full_name: str
    date_of_birth: date
    sex: str
    province: str  # code in force
    father: int | None
    mother: int
    number: str
    registered_on: date
    body: dict[str, Any]  # as the register serves it


@dataclass(frozen=True, slots=True)
class Death:
    date_of_death: date
    body: dict[str, Any]


@dataclass(slots=True)
class CivilRegister:
    """Births, marriages and deaths registered since the dataset was generated."""

    dataset: Dataset
    births: dict[str, Birth] = field(default_factory=dict)  # by the child's citizen ID
    marriages: list[Marriage] = field(default_factory=list)
    deaths: dict[int, Death] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)  # marital status since changed

    def clear(self) -> None:
        self.births.clear()
        self.marriages.clear()
        self.deaths.clear()
        self.status.clear()

    def marital_status(self, person: Person) -> str:
        return self.status.get(person.index, person.marital_status)

    def is_deceased(self, person: Person) -> bool:
        return person.is_deceased or person.index in self.deaths

    def marriages_of(self, index: int) -> list[Marriage]:
        return [m for m in self.marriages if index in (m.husband, m.wife)]


def _person(dataset: Dataset, party: dict[str, Any], role: str) -> Person:
    found = dataset.person_by_id(citizen_id(party, "soDinhDanh"))
    if found is None:
        raise Refused(422, f"Không có dữ liệu hộ tịch của {role} {party['soDinhDanh']}")
    return found


def _registration(dataset: Dataset, body: dict[str, Any], event: date) -> tuple[str, date]:
    registered = day(body, "ngayDangKy")
    if registered < event or registered > now().date():
        raise Refused(422, "Ngày đăng ký phải sau ngày sự kiện và không sau hôm nay")
    return province(obj(body, "noiDangKy"), dataset.provinces.labels), registered


def _new_citizen_id(dataset: Dataset, index: int, place: str, born: date, sex: str) -> str:
    # The layout of Circular 59/2021/TT-BCA, as the dataset writes it (see dataset.py).
    century = (born.year // 100 - 19) * 2 + (1 if sex == "F" else 0)
    return f"0{place}{century}{born.year % 100:02d}{dataset.serial_of(index):06d}"


def civil_endpoints(
    register: CivilRegister,
    party: Callable[[int], dict[str, Any]],
    marriage_body: Callable[[Marriage], dict[str, Any]],
    created: Render,
) -> tuple[WriteEndpoint, ...]:
    """The three write endpoints; ``party`` and ``marriage_body`` render as the reads do."""
    dataset = register.dataset
    seed = dataset.seed

    def plan_birth(call: Call, body: dict[str, Any]) -> Plan:
        child = obj(body, "nguoiDuocKhaiSinh")
        name = required_text(child, "hoTen")
        born = day(child, "ngaySinh")
        sex = SEX_OF.get(str(child.get("gioiTinh")))
        if sex is None:
            raise Refused(422, "Trường gioiTinh phải là Nam hoặc Nữ")
        mother = _person(dataset, obj(body, "me"), "người mẹ")
        father = _person(dataset, obj(body, "cha"), "người cha") if "cha" in body else None
        if mother.sex != "F" or (father is not None and father.sex != "M"):
            raise Refused(422, "Giới tính của cha hoặc mẹ không phù hợp")
        if mother.date_of_birth >= born or (father and father.date_of_birth >= born):
            raise Refused(422, "Ngày sinh của con phải sau ngày sinh của cha mẹ")
        province, registered = _registration(dataset, body, born)
        for earlier in register.births.values():
            if (earlier.mother, earlier.full_name, earlier.date_of_birth) == (
                mother.index, name, born,
            ):  # fmt: skip
                raise Refused(409, f"Trẻ đã được đăng ký khai sinh ({earlier.number})")
        index = dataset.size + len(register.births)
        if index >= MAX_PERSONS:
            raise Refused(409, "Đã hết số định danh dành cho mô phỏng")
        child_id = _new_citizen_id(dataset, index, province, born, sex)
        number = f"{len(register.births) + 1}/{registered.year}/KS"
        record: dict[str, Any] = {
            "soDangKy": number,
            "ngayDangKy": dmy(registered),
            "noiDangKy": {"maTinh": province, "tenTinh": dataset.provinces.labels[province]},
            "nguoiDuocKhaiSinh": {
                "soDinhDanh": child_id, "hoTen": name, "ngaySinh": dmy(born),
                "gioiTinh": child["gioiTinh"], "noiSinh": {"maTinh": province},
            },
            "me": party(mother.index),
            "maHoSo": reference("KS", seed, 11, index),
        }  # fmt: skip
        if father is not None:
            record["cha"] = party(father.index)

        def apply() -> Reply:
            record["thoiGianCapNhat"] = now().isoformat()
            register.births[child_id] = Birth(
                child_id, name, born, sex, province, None if father is None else father.index,
                mother.index, number, registered, record,
            )  # fmt: skip
            return created(record)

        return Plan(record, apply)

    def plan_marriage(call: Call, body: dict[str, Any]) -> Plan:
        husband = _person(dataset, obj(body, "chong"), "người chồng")
        wife = _person(dataset, obj(body, "vo"), "người vợ")
        province, registered = _registration(dataset, body, date.min)
        if husband.sex != "M" or wife.sex != "F":
            raise Refused(422, "Giới tính của chồng hoặc vợ không phù hợp")
        if _years_after(husband.date_of_birth, 20) > registered or (
            _years_after(wife.date_of_birth, 18) > registered
        ):
            raise Refused(422, "Chưa đủ tuổi kết hôn (nam 20, nữ 18)")
        for spouse in (husband, wife):
            if register.is_deceased(spouse):
                raise Refused(409, f"Công dân {spouse.citizen_id} đã chết")
            if register.marital_status(spouse) == "MARRIED":
                raise Refused(409, f"Công dân {spouse.citizen_id} đang có vợ hoặc chồng")
        number = f"{len(register.marriages) + 1}/{registered.year}/KH"
        marriage = Marriage(number, registered, province, husband.index, wife.index)
        record = marriage_body(marriage)

        def apply() -> Reply:
            register.marriages.append(marriage)
            register.status[husband.index] = register.status[wife.index] = "MARRIED"
            return created(record)

        return Plan(record, apply)

    def plan_death(call: Call, body: dict[str, Any]) -> Plan:
        person = _person(dataset, obj(body, "nguoiChet"), "người chết")
        died = day(body, "ngayChet")
        if died < person.date_of_birth:
            raise Refused(422, "Ngày chết phải sau ngày sinh")
        province, registered = _registration(dataset, body, died)
        if register.is_deceased(person):
            raise Refused(409, f"Công dân {person.citizen_id} đã được đăng ký khai tử")
        record: dict[str, Any] = {
            "soDangKy": f"{len(register.deaths) + 1}/{registered.year}/KT",
            "ngayDangKy": dmy(registered),
            "noiDangKy": {"maTinh": province},
            "nguoiChet": party(person.index),
            "ngayChet": dmy(died),
            "noiChet": {"maTinh": province},
            "maHoSo": reference("KT", seed, 13, person.index),
        }

        def apply() -> Reply:
            record["thoiGianCapNhat"] = now().isoformat()
            register.deaths[person.index] = Death(died, record)
            register.status.pop(person.index, None)
            if person.spouse is not None and not register.is_deceased(
                dataset.person(person.spouse)
            ):
                register.status[person.spouse] = "WIDOWED"
            return created(record)

        return Plan(record, apply)

    def endpoint(template: str, plan: Callable[[Call, dict[str, Any]], Plan]) -> WriteEndpoint:
        return WriteEndpoint(
            method="POST",
            template=template,
            key=KeyFrom(header="Idempotency-Key"),
            dry_run_param="kiemTra",
            plan=plan,
            dry_run_reply=lambda preview: Reply(
                200, {"trangThai": "HOP_LE", "ketQua": preview, "ghiChu": "Chưa ghi vào sổ"}
            ),
        )

    return (
        endpoint("/hotich/v1/khai-sinh", plan_birth),
        endpoint("/hotich/v1/ket-hon", plan_marriage),
        endpoint("/hotich/v1/khai-tu", plan_death),
    )
