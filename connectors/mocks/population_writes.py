"""Writes to the population mock: permanent-residence changes and life events.

==================================================  =======================================
POST /api/v2/cong-dan/{soDinhDanh}/thuong-tru       register a permanent residence
POST /api/v2/bien-dong-ho-tich                      record a birth, marriage or death that
                                                    civil status has registered
POST /api/v2/cong-dan/{soDinhDanh}/yeu-cau-dinh-chinh  decide a correction of the person
==================================================  =======================================

Idempotency key: the header ``X-Ma-Giao-Dich``; dry run: ``?chiKiemTra=true``. Success is
200 with ``maKetQua`` ``"00"``; errors use ``{"maLoi": "E422", "thongBao": ...}`` (invalid,
final) or ``E409`` (the database already holds it, or forbids it: final). Bodies::

    thuong-tru: {"diaChi": {"chiTiet", "maTinh"}, "ngayDangKy",
                 "soHoKhau" + "quanHeVoiChuHo" (join a household) or neither (a new one,
                 the person its head)}
    bien-dong-ho-tich: {"loaiBienDong": "KHAI_SINH", "soDinhDanh", "hoVaTen", "ngaySinh",
                        "gioiTinh": "1"|"2", "me": {"soDinhDanh"}, "cha": {"soDinhDanh"}?,
                        "noiDangKyKhaiSinh": {"maTinh"}}
                     | {"loaiBienDong": "KET_HON", "chong": {...}, "vo": {...}, "ngayDangKy"}
                     | {"loaiBienDong": "KHAI_TU", "soDinhDanh", "ngayMat"}

A recorded birth creates the person with both parents linked (``cha``, ``me``) and puts the
child in the mother's household (the father's when she has none).

A correction (``yeu-cau-dinh-chinh``, the rules common to all mocks in ``corrections.py``)::

    {"maHoSo": "DC-..." (optional), "truong": "hoVaTen" | "ngaySinh" | "gioiTinh" | ...,
     "giaTriHienTai": ..., "giaTriDeNghi": ..., "lyDo": "..."}

The record is the person in the path (``maHoSo`` ``DC-...``, as ``GET /cong-dan/{id}`` serves
it); the person's residence (``CT-``) or household (``HK-``) record is found too (by
``maHoSo`` or, without it, by a field only they have: ``loaiCuTru``, ``diaChi``,
``thanhVien``...) but changes only by registering a residence (``TU_CHOI``). Correctable online: ``hoVaTen`` (letters and
spaces, 2 to 100 characters) accepted; ``ngaySinh`` (dd/mm/yyyy, not after today) accepted
when at most 366 days from the recorded date, else ``TU_CHOI``; ``gioiTinh`` ("1" | "2")
accepted. ``soDinhDanh`` and every other field: ``TU_CHOI``, apply at the police office of
residence. Answer: 200 ``{"maKetQua": "00", "thongBao": "Thành công", "duLieu":
{"ketQua": "CHAP_NHAN"|"TU_CHOI", "maHoSo", "truong", "giaTriCu", "giaTriMoi" |
"lyDoTuChoi"}}``; dry run ``maKetQua`` "01". A corrected name also shows where others list the
person (household members, a child's ``cha``/``me``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from connectors.mocks.corrections import (
    CorrectionBook,
    Found,
    code_rule,
    correction_endpoint,
    date_rule,
    name_rule,
    root_of,
)
from connectors.mocks.dataset import UNIT_SIZE, Dataset, Household, Residence
from connectors.mocks.feeds import ChangeFeed, Operation
from connectors.mocks.formats import reference
from connectors.mocks.server import Call, Refused, Reply
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

_NEW_HOUSEHOLD_UNIT = 90_000_000  # household numbers above any the dataset issues
CHILD_OF = {"HEAD": "CHILD", "SPOUSE": "CHILD", "CHILD": "GRANDCHILD",
            "CHILD_IN_LAW": "GRANDCHILD", "PARENT": "SIBLING"}  # fmt: skip
# A residence's attributes and where ``GET .../cu-tru`` serves them: an update names these.
RESIDENCE_PATHS = (
    ("residence_type", "loaiCuTru"), ("address_line", "diaChi.chiTiet"),
    ("province_code", "diaChi.maTinh"), ("registered_on", "ngayDangKy"),
    ("expires_on", "ngayHetHan"), ("household_id", "soHoKhau"),
    ("relationship_to_head", "quanHeVoiChuHo"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Newborn:
    index: int  # this database's own, past the dataset's
    citizen_id: str
    full_name: str
    date_of_birth: date
    sex: str  # M | F
    province: str
    father: str | None
    mother: str


@dataclass(slots=True)
class PopulationRegister:
    """What the population database has recorded since the dataset was generated."""

    dataset: Dataset
    born: dict[str, Newborn] = field(default_factory=dict)  # by citizen ID
    marital: dict[int, str] = field(default_factory=dict)  # person -> marital status
    deaths: dict[int, date] = field(default_factory=dict)
    residences: dict[int, Residence | None] = field(default_factory=dict)
    households: dict[str, Household] = field(default_factory=dict)  # changed or new
    updated: dict[int | str, datetime] = field(default_factory=dict)  # person or household
    deleted: set[str] = field(default_factory=set)  # citizen IDs deleted (POST /__changes)
    feed: ChangeFeed | None = None

    def clear(self) -> None:
        for table in (self.born, self.marital, self.deaths, self.residences, self.households):
            table.clear()
        self.updated.clear()
        self.deleted.clear()

    def index_of(self, citizen: str) -> int | None:
        """The person's index; None for an unknown or deleted citizen ID."""
        if citizen in self.deleted:
            return None
        if citizen in self.born:
            return self.born[citizen].index
        return self.dataset.index_of(citizen)

    def identity(self, index: int) -> tuple[str, str]:
        if index >= self.dataset.size:
            child = next(b for b in self.born.values() if b.index == index)
            return child.citizen_id, child.full_name
        person = self.dataset.person(index)
        return person.citizen_id, person.full_name

    def is_deceased(self, index: int) -> bool:
        return index in self.deaths or (
            index < self.dataset.size and self.dataset.person(index).is_deceased
        )

    def residence(self, index: int) -> Residence | None:
        if index in self.residences:
            return self.residences[index]
        return None if index >= self.dataset.size else self.dataset.residence(index)

    def household(self, household_id: str) -> Household | None:
        changed = self.households.get(household_id)
        return changed if changed is not None else self.dataset.household_by_id(household_id)

    def household_of(self, index: int) -> Household | None:
        residence = self.residence(index)
        if residence is None or residence.household_id is None:
            return None
        household = self.household(residence.household_id)
        return household if household and index in dict(household.members) else None

    def announce(
        self,
        operation: Operation,
        kind: str,
        index: int,
        effective: date,
        changed: tuple[str, ...] | list[str] = (),
        stamp: datetime | None = None,
    ) -> None:
        """Put a change of the person at ``index`` (their person or residence record) in the feed."""
        if self.feed is None:
            return
        prefix, part = ("DC", 1) if kind == "person" else ("CT", 2)
        record = reference(prefix, self.dataset.seed, part, index)
        self.feed.record(
            operation, kind, self.identity(index)[0], record, effective, changed, at=stamp
        )

    def _announce_household(
        self,
        operation: Operation,
        household: Household,
        changed: list[str],
        stamp: datetime,
        effective: date,
    ) -> None:
        if self.feed is None:
            return
        record = reference("HK", self.dataset.seed, 3, household.head // UNIT_SIZE)
        self.feed.record(
            operation, "household", self.identity(household.head)[0], record, effective,
            changed, at=stamp, extra={"soHoKhau": household.household_id},
        )  # fmt: skip

    def move(
        self,
        index: int,
        residence: Residence | None,
        stamp: datetime,
        effective: date | None = None,
        *,
        new_household: bool = False,
    ) -> list[str]:
        """Take the person out of their household and into ``residence``'s (if any); put the
        residence and household changes in the feed. Answers the person's fields that changed
        (``soHoKhau`` when the household did)."""
        before = self.residence(index)
        when = effective or stamp.date()
        left = self.household_of(index)
        if left is not None:
            members = tuple(m for m in left.members if m[0] != index)
            head = left.head if left.head != index or not members else members[0][0]
            after = replace(left, members=members, head=head)
            self.households[left.household_id] = after
            self.updated[left.household_id] = stamp
            changed = ["thanhVien"] if head == left.head else ["chuHo", "thanhVien"]
            self._announce_household("update", after, changed, stamp, when)
        if residence is not None and residence.household_id is not None:
            joined = self.household(residence.household_id)
            assert joined is not None and residence.relationship_to_head is not None
            members = (*joined.members, (index, residence.relationship_to_head))
            self.households[joined.household_id] = replace(joined, members=members)
            self.updated[joined.household_id] = stamp
            self._announce_household(
                "insert" if new_household else "update",
                self.households[joined.household_id],
                ["thanhVien"],
                stamp,
                when,
            )
        self.residences[index] = residence
        self.updated[index] = stamp
        if residence is None and before is not None:
            self.announce("delete", "residence", index, when, stamp=stamp)
        elif residence is not None and before is None:
            self.announce("insert", "residence", index, when, stamp=stamp)
        elif residence is not None and before is not None:
            changed_paths = [
                path
                for name, path in RESIDENCE_PATHS
                if getattr(before, name) != getattr(residence, name)
            ]
            self.announce("update", "residence", index, when, changed_paths, stamp)
        old_household = None if before is None else before.household_id
        new_id = None if residence is None else residence.household_id
        return ["soHoKhau"] if old_household != new_id else []


def population_endpoints(
    register: PopulationRegister, ok: Callable[[Any], Reply], relationships: dict[str, str]
) -> tuple[WriteEndpoint, ...]:
    """``relationships`` maps the dictionary's relationship codes to the database's."""
    dataset = register.dataset
    code_of = {v: k for k, v in relationships.items()}
    labels = dataset.provinces.labels

    def person(party: dict[str, Any], name: str = "soDinhDanh") -> int:
        index = register.index_of(citizen_id(party, name))
        if index is None:
            raise Refused(422, f"Không tìm thấy công dân có số định danh {party[name]}")
        if register.is_deceased(index):
            raise Refused(409, f"Công dân {party[name]} đã chết")
        return index

    def plan_residence(call: Call, body: dict[str, Any]) -> Plan:
        index = person({"soDinhDanh": call.params["soDinhDanh"]})
        address = obj(body, "diaChi")
        line, code = required_text(address, "chiTiet"), province(address, labels)
        registered = day(body, "ngayDangKy")
        household_id = body.get("soHoKhau")
        if household_id is None:
            household_id = f"{code}{_NEW_HOUSEHOLD_UNIT + len(register.households):08d}"
            relationship = "HEAD"
            new = Household(household_id, index, line, code, ())
        else:
            joined = register.household(str(household_id))
            if joined is None:
                raise Refused(422, f"Không tìm thấy hộ gia đình {household_id}")
            if index in dict(joined.members):
                raise Refused(409, f"Công dân đã thuộc hộ gia đình {household_id}")
            relationship = code_of.get(str(body.get("quanHeVoiChuHo")), "")
            if not relationship or relationship == "HEAD":
                raise Refused(422, "Trường quanHeVoiChuHo không hợp lệ")
            line, code, new = joined.address_line, joined.province_code, None
        residence = Residence(register.identity(index)[0], "PERMANENT", line, code, registered,
                              None, household_id, relationship)  # fmt: skip
        preview = {"soDinhDanh": residence.citizen_id, "soHoKhau": household_id,
                   "diaChi": {"chiTiet": line, "maTinh": code}, "loaiCuTru": "TT"}  # fmt: skip

        def apply() -> Reply:
            stamp = now()
            if new is not None:
                register.households[household_id] = new
            changed = register.move(index, residence, stamp, registered, new_household=bool(new))
            if changed:
                register.announce("update", "person", index, registered, changed, stamp)
            return ok(preview)

        return Plan(preview, apply)

    def plan_birth(body: dict[str, Any]) -> Plan:
        child_id = citizen_id(body, "soDinhDanh")
        if register.index_of(child_id) is not None:
            raise Refused(409, f"Công dân {child_id} đã có trong cơ sở dữ liệu")
        name, born = required_text(body, "hoVaTen"), day(body, "ngaySinh")
        sex = {"1": "M", "2": "F"}.get(str(body.get("gioiTinh")))
        if sex is None:
            raise Refused(422, "Trường gioiTinh phải là 1 hoặc 2")
        mother = person(obj(body, "me"))
        father = person(obj(body, "cha")) if "cha" in body else None
        where = province(obj(body, "noiDangKyKhaiSinh"), labels)
        home = register.household_of(mother) or (
            None if father is None else register.household_of(father)
        )
        child = Newborn(
            dataset.size + len(register.born), child_id, name, born, sex, where,
            None if father is None else register.identity(father)[0],
            register.identity(mother)[0],
        )  # fmt: skip
        preview = {"loaiBienDong": "KHAI_SINH", "soDinhDanh": child_id,
                   "soHoKhau": None if home is None else home.household_id}  # fmt: skip

        def apply() -> Reply:
            stamp = now()
            register.born[child_id] = child
            register.announce("insert", "person", child.index, born, stamp=stamp)
            residence = None
            if home is not None:
                parent = dict(home.members).get(mother) or dict(home.members).get(father or -1)
                relationship = CHILD_OF.get(parent or "", "OTHER_RELATIVE")
                residence = Residence(child_id, "PERMANENT", home.address_line,
                                      home.province_code, born, None, home.household_id,
                                      relationship)  # fmt: skip
            register.move(child.index, residence, stamp, born)
            return ok(preview)

        return Plan(preview, apply)

    def plan_marriage(body: dict[str, Any]) -> Plan:
        husband, wife = person(obj(body, "chong")), person(obj(body, "vo"))
        registered = day(body, "ngayDangKy")
        for spouse in (husband, wife):
            if register.marital.get(spouse) == "MARRIED" or (
                spouse < dataset.size
                and spouse not in register.marital
                and dataset.person(spouse).marital_status == "MARRIED"
            ):
                raise Refused(409, f"Công dân {register.identity(spouse)[0]} đang có vợ hoặc chồng")
        preview = {"loaiBienDong": "KET_HON", "chong": register.identity(husband)[0],
                   "vo": register.identity(wife)[0]}  # fmt: skip

        def apply() -> Reply:
            stamp = now()
            for spouse in (husband, wife):
                register.marital[spouse] = "MARRIED"
                register.updated[spouse] = stamp
                register.announce(
                    "update", "person", spouse, registered, ["tinhTrangHonNhan"], stamp
                )
            return ok(preview)

        return Plan(preview, apply)

    def plan_death(body: dict[str, Any]) -> Plan:
        index = person(body)
        died = day(body, "ngayMat")
        preview = {"loaiBienDong": "KHAI_TU", "soDinhDanh": body["soDinhDanh"],
                   "ngayMat": body["ngayMat"]}  # fmt: skip

        def apply() -> Reply:
            stamp = now()
            register.deaths[index] = died
            changed = register.move(index, None, stamp, died)
            register.announce(
                "update", "person", index, died, ["daQuaDoi", "ngayMat", *changed], stamp
            )
            return ok(preview)

        return Plan(preview, apply)

    planners = {"KHAI_SINH": plan_birth, "KET_HON": plan_marriage, "KHAI_TU": plan_death}

    def plan_event(call: Call, body: dict[str, Any]) -> Plan:
        planner = planners.get(str(body.get("loaiBienDong")))
        if planner is None:
            raise Refused(422, f"loaiBienDong phải là một trong {', '.join(planners)}")
        return planner(body)

    def endpoint(template: str, plan: Callable[[Call, dict[str, Any]], Plan]) -> WriteEndpoint:
        return WriteEndpoint(
            method="POST",
            template=template,
            key=KeyFrom(header="X-Ma-Giao-Dich"),
            dry_run_param="chiKiemTra",
            plan=plan,
            dry_run_reply=lambda preview: Reply(
                200, {"maKetQua": "01", "thongBao": "Hợp lệ, chưa ghi", "duLieu": preview}
            ),
        )

    return (
        endpoint("/api/v2/cong-dan/{soDinhDanh}/thuong-tru", plan_residence),
        endpoint("/api/v2/bien-dong-ho-tich", plan_event),
    )


def _within_a_year(current: Any, claimed: Any, record: Mapping[str, Any]) -> str | None:
    if current is not None and abs((claimed - current).days) <= 366:
        return None
    return (
        "Ngày sinh đề nghị lệch quá một năm so với hồ sơ; cần bản chính giấy khai sinh, "
        "đối chiếu tại cơ quan công an"
    )


# Fields only the residence and household records have (``GET .../cu-tru``, ``.../ho-khau``).
RESIDENCE_ROOTS = frozenset(
    {"loaiCuTru", "diaChi", "ngayDangKy", "ngayHetHan", "quanHeVoiChuHo", "chuHo", "thanhVien"}
)
PERSON_RULES = {
    "hoVaTen": name_rule(),
    "ngaySinh": date_rule(_within_a_year),
    "gioiTinh": code_rule(frozenset({"1", "2"})),
}


def population_correction_endpoint(
    register: PopulationRegister,
    book: CorrectionBook,
    person_view: Callable[[str], dict[str, Any]],
    ok: Callable[[Any], Reply],
) -> WriteEndpoint:
    """``person_view`` renders a person as ``GET /cong-dan/{id}`` does (corrections included)."""
    seed = register.dataset.seed

    def locate(call: Call, body: dict[str, Any]) -> Found:
        citizen = call.params["soDinhDanh"]
        index = register.index_of(citizen)
        if index is None:
            raise Refused(404, f"Không tìm thấy công dân có số định danh {citizen}")
        wanted = text(body, "maHoSo", required=False)
        own, residence = reference("DC", seed, 1, index), reference("CT", seed, 2, index)
        if wanted is None and root_of(body) in RESIDENCE_ROOTS:
            wanted = residence
        if wanted is None or wanted == own:
            return Found(citizen, own, person_view(citizen), PERSON_RULES)
        household = register.household_of(index)
        residence_refs = {residence}
        if household is not None:
            residence_refs.add(reference("HK", seed, 3, household.head // UNIT_SIZE))
        if wanted in residence_refs:
            refusal = "Thông tin cư trú, hộ khẩu chỉ thay đổi qua thủ tục đăng ký cư trú"
            return Found(citizen, wanted, {}, {}, refusal)
        raise Refused(404, f"Không tìm thấy hồ sơ {wanted} của công dân {citizen}")

    def announce(found: Found, path: str, body: dict[str, Any]) -> None:
        if register.feed is not None:
            register.feed.record(
                "update", "person", found.key, found.reference, now().date(), [path]
            )

    return correction_endpoint(
        template="/api/v2/cong-dan/{soDinhDanh}/yeu-cau-dinh-chinh",
        key=KeyFrom(header="X-Ma-Giao-Dich"),
        dry_run_param="chiKiemTra",
        locate=locate,
        book=book,
        in_person="cơ quan công an nơi cư trú",
        answer=ok,
        dry_run_answer=lambda preview: Reply(
            200, {"maKetQua": "01", "thongBao": "Hợp lệ, chưa ghi", "duLieu": preview}
        ),
        announce=announce,
    )
