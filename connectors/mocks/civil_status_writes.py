"""Writes to the civil-status mock: registering a birth, a marriage or a death.

================================================  =========================================
POST /hotich/v1/khai-sinh[?kiemTra=true]          register a birth; issues the child's ID
POST /hotich/v1/ket-hon[?kiemTra=true]            register a marriage
POST /hotich/v1/khai-tu[?kiemTra=true]            register a death
POST /hotich/v1/yeu-cau-dinh-chinh[?kiemTra=true]  decide a correction (cải chính hộ tịch)
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

A correction (``yeu-cau-dinh-chinh``, the rules common to all mocks in ``corrections.py``)::

    {"soDinhDanh": "<the person>", "maHoSo": "KS-..." (optional),
     "truong": "nguoiDuocKhaiSinh.hoTen" | "nguoiDuocKhaiSinh.ngaySinh" | ...,
     "giaTriHienTai": ..., "giaTriDeNghi": ..., "lyDo": "..."}

The record is the person's birth registration (``KS-``, as ``GET /khai-sinh/{id}`` serves it),
the one ``maHoSo`` names or, without it, the only one a person has. Their marriage (``KH-``),
death (``KT-``) and marital-status (``XN-``) records are found too, by ``maHoSo`` or, without
it, by a field only that kind has (``chong``, ``ngayChet``, ``tinhTrangHonNhan``...), but are
corrected only at the commune (``TU_CHOI``). Correctable online: ``nguoiDuocKhaiSinh.hoTen``, accepted when only
diacritics, case or spacing change (a clerical slip; a new name is a change of civil status,
``TU_CHOI``); ``nguoiDuocKhaiSinh.ngaySinh`` (dd/mm/yyyy), accepted in the same year (the year
is in the citizen ID) and not after the registration date, else ``TU_CHOI``. Identity keys
(``soDangKy``, any ``soDinhDanh``) and every other field: ``TU_CHOI``. Answer: 201
``{"trangThai": "THANH_CONG", "ketQua": {"ketQua": "CHAP_NHAN"|"TU_CHOI", "maHoSo", "truong",
"giaTriCu", "giaTriMoi" | "lyDoTuChoi"}}``; a dry run 200 ``"trangThai": "HOP_LE"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connectors.mocks.corrections import (
    CorrectionBook,
    Found,
    correction_endpoint,
    date_rule,
    name_rule,
    root_of,
    spelling_fix_only,
)
from connectors.mocks.dataset import Dataset, Marriage, Person, _years_after
from connectors.mocks.feeds import ChangeFeed
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
    text,
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
    feed: ChangeFeed | None = None

    def announce_status(
        self, index: int, effective: date, stamp: datetime, gone: bool = False
    ) -> None:
        """A marital-status certificate changed (or, ``gone``, no longer served: its holder died)."""
        if self.feed is None or self.dataset.marital_status_certificate_date(index) is None:
            return
        record = reference("XN", self.dataset.seed, 4, index)
        subject = self.dataset.citizen_id(index)
        if gone:
            self.feed.record("delete", "marital-status", subject, record, effective, at=stamp)
        else:
            self.feed.record(
                "update", "marital-status", subject, record, effective, ["tinhTrangHonNhan"],
                at=stamp,
            )  # fmt: skip

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
            stamp = now()
            record["thoiGianCapNhat"] = stamp.isoformat()
            register.births[child_id] = Birth(
                child_id, name, born, sex, province, None if father is None else father.index,
                mother.index, number, registered, record,
            )  # fmt: skip
            if register.feed is not None:
                register.feed.record(
                    "insert", "birth", child_id, record["maHoSo"], registered, at=stamp
                )
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
            stamp = now()
            register.marriages.append(marriage)
            register.status[husband.index] = register.status[wife.index] = "MARRIED"
            for spouse in (husband, wife):
                if register.feed is not None:
                    register.feed.record(
                        "insert", "marriage", spouse.citizen_id, record["maHoSo"], registered,
                        at=stamp,
                    )  # fmt: skip
                register.announce_status(spouse.index, registered, stamp)
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
            stamp = now()
            record["thoiGianCapNhat"] = stamp.isoformat()
            register.deaths[person.index] = Death(died, record)
            register.status.pop(person.index, None)
            if register.feed is not None:
                register.feed.record(
                    "insert", "death", person.citizen_id, record["maHoSo"], died, at=stamp
                )
            register.announce_status(person.index, died, stamp, gone=True)
            if person.spouse is not None and not register.is_deceased(
                dataset.person(person.spouse)
            ):
                register.status[person.spouse] = "WIDOWED"
                register.announce_status(person.spouse, died, stamp)
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


def _same_year_before_registration(
    current: Any, claimed: Any, record: Mapping[str, Any]
) -> str | None:
    if current is None or claimed.year != current.year:
        return (
            "Năm sinh đề nghị khác năm sinh trong hồ sơ và trong số định danh; "
            "cần hồ sơ cải chính hộ tịch nộp trực tiếp"
        )
    registered = datetime.strptime(str(record.get("ngayDangKy")), "%d/%m/%Y").date()
    if claimed > registered:
        return "Ngày sinh đề nghị sau ngày đăng ký khai sinh"
    return None


KIND_LABELS = {
    "KH": "đăng ký kết hôn",
    "KT": "đăng ký khai tử",
    "XN": "giấy xác nhận tình trạng hôn nhân",
}
# Fields only a marriage, death or marital-status record has: the record a request without
# ``maHoSo`` is about.
KIND_OF_ROOT = {
    "chong": "KH", "vo": "KH", "nguoiChet": "KT", "ngayChet": "KT", "noiChet": "KT",
    "nguoiDuocXacNhan": "XN", "soGiayXacNhan": "XN", "tinhTrangHonNhan": "XN", "ngayCap": "XN",
    "noiCap": "XN", "coGiaTriDen": "XN", "mucDichSuDung": "XN",
}  # fmt: skip
BIRTH_RULES = {
    "nguoiDuocKhaiSinh.hoTen": name_rule(spelling_fix_only),
    "nguoiDuocKhaiSinh.ngaySinh": date_rule(_same_year_before_registration),
}


def civil_correction_endpoint(
    register: CivilRegister,
    book: CorrectionBook,
    birth_view: Callable[[str], dict[str, Any] | None],
    created: Render,
) -> WriteEndpoint:
    """``birth_view`` renders a birth registration as ``GET /khai-sinh/{id}`` does."""
    dataset = register.dataset
    seed = dataset.seed

    def other_records(person: Person) -> dict[str, str]:
        """The person's records other than the birth: reference -> kind (``KH``, ``KT``, ``XN``)."""
        index = person.index
        found = {}
        if dataset.marital_status_certificate_date(index) is not None:
            found[reference("XN", seed, 4, index)] = "XN"
        for marriage in dataset.marriages_of(index) + register.marriages_of(index):
            found[reference("KH", seed, 2, marriage.husband)] = "KH"
        if person.date_of_death is not None:
            found[reference("KT", seed, 3, index)] = "KT"
        if index in register.deaths:
            found[register.deaths[index].body["maHoSo"]] = "KT"
        return found

    def locate(call: Call, body: dict[str, Any]) -> Found:
        citizen = citizen_id(body, "soDinhDanh")
        wanted = text(body, "maHoSo", required=False)
        birth = birth_view(citizen)
        if birth is None:
            raise Refused(404, f"Không có dữ liệu hộ tịch của số định danh {citizen}")
        kind = None if wanted is not None else KIND_OF_ROOT.get(root_of(body))
        if kind is None and wanted in (None, birth["maHoSo"]):
            return Found(citizen, birth["maHoSo"], birth, BIRTH_RULES)
        person = dataset.person_by_id(citizen)
        others = {} if person is None else other_records(person)
        if wanted is None:
            wanted = next((ref for ref, k in others.items() if k == kind), None)
        if wanted not in others:
            raise Refused(404, f"Không tìm thấy hồ sơ {wanted or kind} của số định danh {citizen}")
        refusal = f"Hồ sơ {KIND_LABELS[others[wanted]]} không cải chính trực tuyến"
        return Found(citizen, wanted, {}, {}, refusal)

    def announce(found: Found, path: str, body: dict[str, Any]) -> None:
        if register.feed is not None:
            register.feed.record(
                "update", "birth", found.key, found.reference, now().date(), [path]
            )

    return correction_endpoint(
        template="/hotich/v1/yeu-cau-dinh-chinh",
        key=KeyFrom(header="Idempotency-Key"),
        dry_run_param="kiemTra",
        locate=locate,
        book=book,
        in_person="UBND cấp xã nơi đã đăng ký hộ tịch",
        answer=created,
        dry_run_answer=lambda preview: Reply(
            200, {"trangThai": "HOP_LE", "ketQua": preview, "ghiChu": "Chưa ghi vào sổ"}
        ),
        announce=announce,
    )
