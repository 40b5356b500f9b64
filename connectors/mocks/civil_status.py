"""Mock of the electronic civil-status register (Cơ sở dữ liệu hộ tịch điện tử, Ministry of Justice).

Auth: OAuth2 client credentials at ``POST /oauth/token``; bearer tokens expire.
Errors: ``{"trangThai": "LOI", "loi": {"ma": "HT-404", "moTa": "..."}}``.
Lists page by offset: ``batDau`` (from 0) and ``soLuong``, reporting ``tongSoBanGhi``.

The register holds the names and dates of birth as they were written at registration, so for
a few persons they disagree with the population database (see ``Dataset.conflict``).

================================================  ========================================
GET /hotich/v1/khai-sinh?batDau=&soLuong=         birth registrations, by offset
GET /hotich/v1/khai-sinh/{soDinhDanh}             the birth registration of a person
GET /hotich/v1/ket-hon?batDau=&soLuong=           marriage registrations, by offset
GET /hotich/v1/cong-dan/{soDinhDanh}/ket-hon      the person's marriages (either spouse)
GET /hotich/v1/khai-tu?batDau=&soLuong=           death registrations, by offset (no total)
GET /hotich/v1/khai-tu/{soDinhDanh}               the death registration of a person
GET /hotich/v1/xac-nhan-hon-nhan/{soDinhDanh}     the person's marital-status certificate
GET /hotich/v1/giay-chung-sinh?soDinhDanhMe=      medical birth certificates held under the
                                                  mother's citizen ID (birth_certificates.py)
GET /hotich/v1/giay-chung-sinh?batDau=&soLuong=   all of them, by offset (no total)
POST /hotich/v1/khai-sinh, /ket-hon, /khai-tu     register one (civil_status_writes.py)
POST /hotich/v1/yeu-cau-dinh-chinh                decide a correction (civil_status_writes.py)
GET /hotich/v1/bien-dong?sauSoThuTu=&soLuong=     the change feed (connectors/mocks/feeds.py)
================================================  ========================================

Registrations accepted by the POST endpoints are served by the GET endpoints too, and at the
end of their lists (a registered death after the last generated one); so are accepted
corrections of a birth registration.

The change feed: ``GET /hotich/v1/bien-dong?sauSoThuTu=<n>&soLuong=<k>`` (k 1..1000, default
100) answers the changes after sequence n, oldest first::

    {"trangThai": "THANH_CONG", "soThuTuMoiNhat": <last sequence held>,
     "ketQua": [{"soThuTu": 3, "thaoTac": "THEM_MOI" | "CAP_NHAT" | "HUY_BO",
                 "loaiHoSo": "KHAI_SINH" | "KET_HON" | "KHAI_TU" | "XAC_NHAN_HON_NHAN",
                 "soDinhDanh": "<citizen ID>", "maHoSo": "KS-... | KH-... | KT-... | XN-...",
                 "phienBan": 1, "thoiDiemGhiNhan": "yyyy-mm-ddTHH:MM:SS",
                 "ngayCoHieuLuc": "dd/mm/yyyy", "danhSachTruong": [...] (CAP_NHAT only)}]}

What each write puts in it: a birth, ``THEM_MOI`` ``KHAI_SINH`` of the child (effective the
registration date); a marriage, ``THEM_MOI`` ``KET_HON`` for each spouse (one record, read by
either) and ``CAP_NHAT`` ``tinhTrangHonNhan`` of a spouse's marital-status certificate; a death,
``THEM_MOI`` ``KHAI_TU`` (effective the date of death), ``HUY_BO`` of the person's marital-status
certificate (no longer served) and ``CAP_NHAT`` of the widowed spouse's; an accepted correction,
``CAP_NHAT`` ``KHAI_SINH`` with the field.

``POST /__changes`` (no auth) injects: a death, ``{"kind": "death", "subject": "<citizen ID>",
"operation": "insert", "fields": {"ngayChet": "dd/mm/yyyy", "ngayDangKy"?: "dd/mm/yyyy"
(default today), "noiDangKy"?: {"maTinh"} (default the province of birth)}}``, registered as
``POST /khai-tu`` registers one (so the register holds a death the population database has not
heard of); a birth registration's ``nguoiDuocKhaiSinh.hoTen`` or ``nguoiDuocKhaiSinh.ngaySinh``,
``{"kind": "birth", "operation": "update", "fields": {...}}``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.mocks.birth_certificates import certificate_route
from connectors.mocks.civil_status_writes import (
    BIRTH_RULES,
    CivilRegister,
    civil_correction_endpoint,
    civil_endpoints,
)
from connectors.mocks.corrections import CorrectionBook
from connectors.mocks.dataset import Dataset, Marriage, Person
from connectors.mocks.feeds import (
    ChangeControl,
    ChangeFeed,
    FeedStyle,
    Injection,
    in_format,
    unsupported,
)
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, NotFound, Reply, Route, SystemSpec
from connectors.mocks.writes import WriteState, now

TIMESTAMP = "%Y-%m-%dT%H:%M:%S"
SEX = {"M": "Nam", "F": "Nữ"}
MARITAL_STATUS = {
    "SINGLE": "DOC_THAN",
    "MARRIED": "DA_KET_HON",
    "DIVORCED": "LY_HON",
    "WIDOWED": "GOA",
}
SYSTEM = "civil-status"


def _error(status: int, message: str) -> dict[str, Any]:
    return {"trangThai": "LOI", "loi": {"ma": f"HT-{status}", "moTa": message}}


def _ok(data: Any, **extra: Any) -> Reply:
    return Reply(200, {"trangThai": "THANH_CONG", "ketQua": data, **extra})


FEED = FeedStyle(
    path="/hotich/v1/bien-dong",
    after_param="sauSoThuTu",
    size_param="soLuong",
    keys={"sequence": "soThuTu", "operation": "thaoTac", "kind": "loaiHoSo",
          "subject": "soDinhDanh", "reference": "maHoSo", "version": "phienBan",
          "registered_at": "thoiDiemGhiNhan", "effective_on": "ngayCoHieuLuc",
          "fields": "danhSachTruong"},
    operations={"insert": "THEM_MOI", "update": "CAP_NHAT", "delete": "HUY_BO"},
    kinds={"birth": "KHAI_SINH", "marriage": "KET_HON", "death": "KHAI_TU",
           "marital-status": "XAC_NHAN_HON_NHAN"},
    timestamp=TIMESTAMP,
    answer=lambda page, last: _ok(page, soThuTuMoiNhat=last),
)  # fmt: skip


def build_spec(dataset: Dataset) -> SystemSpec:
    provinces = dataset.provinces
    seed = dataset.seed
    feed = ChangeFeed(FEED)
    register = CivilRegister(dataset, feed=feed)
    book = CorrectionBook()
    writes = WriteState(overlays=[register.clear, book.clear, feed.clear])

    def party(index: int, with_birth_date: bool = True) -> dict[str, Any]:
        body = {"soDinhDanh": dataset.citizen_id(index), "hoTen": dataset.civil_name(index)}
        if with_birth_date:
            body["ngaySinh"] = dmy(dataset.civil_date_of_birth(index))
        return body

    def stamp(body: dict[str, Any], prefix: str, kind: int, index: int, created: Any) -> None:
        body["maHoSo"] = reference(prefix, seed, kind, index)
        updated = dataset.last_updated(index, SYSTEM, created)
        body["thoiGianCapNhat"] = updated.strftime(TIMESTAMP)

    def birth_body(person: Person) -> dict[str, Any]:
        index = person.index
        registered = dataset.birth_registration_date(index)
        place = provinces.current(person.birth_province)
        child = party(index)
        child["gioiTinh"] = SEX[person.sex]
        body: dict[str, Any] = {
            "soDangKy": dataset.birth_registration_number(index),
            "ngayDangKy": dmy(registered),
            "noiDangKy": {"maTinh": place, "tenTinh": provinces.labels[place]},
            "nguoiDuocKhaiSinh": child,
        }
        if not dataset.missing_optional(index, SYSTEM):
            child["noiSinh"] = {"maTinh": place}
            if person.father is not None:
                body["cha"] = party(person.father, with_birth_date=False)
            if person.mother is not None:
                body["me"] = party(person.mother, with_birth_date=False)
        stamp(body, "KS", 1, index, registered)
        return corrected(body)

    def corrected(birth: dict[str, Any]) -> dict[str, Any]:
        child = birth["nguoiDuocKhaiSinh"]["soDinhDanh"]
        return book.patch(child, birth, stamp=("thoiGianCapNhat", TIMESTAMP))

    def current_birth(citizen_id: str) -> dict[str, Any] | None:
        registered = register.births.get(citizen_id)
        if registered is not None:
            return corrected(registered.body)
        person = dataset.person_by_id(citizen_id)
        return None if person is None else birth_body(person)

    def marriage_body(marriage: Marriage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "soDangKy": marriage.registration_number,
            "ngayDangKy": dmy(marriage.registration_date),
            "noiDangKy": {
                "maTinh": marriage.registration_province,
                "tenTinh": provinces.labels[marriage.registration_province],
            },
            "chong": party(marriage.husband),
            "vo": party(marriage.wife),
        }
        stamp(body, "KH", 2, marriage.husband, marriage.registration_date)
        return body

    def find(citizen_id: str) -> Person:
        person = dataset.person_by_id(citizen_id)
        if person is None:
            raise NotFound(f"Không có dữ liệu hộ tịch của số định danh {citizen_id}")
        return person

    def get_birth(call: Call) -> Reply:
        birth = current_birth(call.params["soDinhDanh"])
        if birth is None:
            find(call.params["soDinhDanh"])  # raises the register's 404
        return _ok(birth)

    def list_births(call: Call) -> Reply:
        start = call.int_param("batDau", 0, 0, 10**9)
        count = call.int_param("soLuong", 50, 1, 500)
        items = [birth_body(p) for p in dataset.iter_persons(start, start + count)]
        later = list(register.births.values())[max(0, start - dataset.size) :]
        items += [corrected(b.body) for b in later[: count - len(items)]]
        total = dataset.size + len(register.births)
        return _ok(items, batDau=start, soLuong=len(items), tongSoBanGhi=total)

    def list_marriages(call: Call) -> Reply:
        start = call.int_param("batDau", 0, 0, 10**9)
        count = call.int_param("soLuong", 50, 1, 500)
        stop = min(start + count, dataset.marriage_count)
        items = [marriage_body(dataset.marriage(m)) for m in range(start, stop)]
        later = register.marriages[max(0, start - dataset.marriage_count) :]
        items += [marriage_body(m) for m in later[: count - len(items)]]
        total = dataset.marriage_count + len(register.marriages)
        return _ok(items, batDau=start, soLuong=len(items), tongSoBanGhi=total)

    def death_body(person: Person) -> dict[str, Any]:
        registered = dataset.death_registration_date(person.index)
        if person.date_of_death is None or registered is None:
            raise NotFound(f"Không có đăng ký khai tử của số định danh {person.citizen_id}")
        residence_province = provinces.current(person.birth_province)
        household = dataset.household_of(person.index)
        if household is not None:
            residence_province = household.province_code
        body: dict[str, Any] = {
            "soDangKy": f"{1 + (person.index * 7) % 500}/{registered.year}",
            "ngayDangKy": dmy(registered),
            "noiDangKy": {"maTinh": residence_province},
            "nguoiChet": party(person.index),
            "ngayChet": dmy(person.date_of_death),
        }
        if not dataset.missing_optional(person.index, SYSTEM):
            body["noiChet"] = {"maTinh": residence_province}
        stamp(body, "KT", 3, person.index, registered)
        return body

    def list_deaths(call: Call) -> Reply:
        # The register does not count its deaths up front: page until a short page.
        start = call.int_param("batDau", 0, 0, 10**9)
        count = call.int_param("soLuong", 50, 1, 500)
        items = [death_body(dataset.person(i)) for i in dataset.deceased(start, count)]
        if len(items) < count and register.deaths:  # past the generated deaths: the registered
            generated = len(dataset.deceased(0, dataset.size))
            later = list(register.deaths.values())[max(0, start - generated) :]
            items += [d.body for d in later[: count - len(items)]]
        return _ok(items, batDau=start, soLuong=len(items))

    def get_marriages(call: Call) -> Reply:
        person = find(call.params["soDinhDanh"])
        marriages = dataset.marriages_of(person.index) + register.marriages_of(person.index)
        return _ok([marriage_body(m) for m in marriages])

    def get_death(call: Call) -> Reply:
        person = find(call.params["soDinhDanh"])
        registered = register.deaths.get(person.index)
        return _ok(registered.body if registered is not None else death_body(person))

    def get_certificate(call: Call) -> Reply:
        person = find(call.params["soDinhDanh"])
        issued = dataset.marital_status_certificate_date(person.index)
        if issued is None or person.index in register.deaths:
            raise NotFound(f"Chưa cấp giấy xác nhận tình trạng hôn nhân cho {person.citizen_id}")
        household = dataset.household_of(person.index)
        province = (
            household.province_code
            if household is not None
            else provinces.current(person.birth_province)
        )
        body: dict[str, Any] = {
            "soGiayXacNhan": f"{1 + person.index % 900}/{issued.year}/XNTTHN",
            "ngayCap": dmy(issued),
            "noiCap": {"maTinh": province},
            "nguoiDuocXacNhan": party(person.index),
            "tinhTrangHonNhan": MARITAL_STATUS[register.marital_status(person)],
        }
        if not dataset.missing_optional(person.index, SYSTEM):
            body["coGiaTriDen"] = dmy(issued + timedelta(days=182))
            body["mucDichSuDung"] = "Bổ sung hồ sơ thủ tục hành chính"
        stamp(body, "XN", 4, person.index, issued)
        return _ok(body)

    def created(body: dict[str, Any]) -> Reply:
        return Reply(201, {"trangThai": "THANH_CONG", "ketQua": body})

    endpoints = civil_endpoints(register, party, marriage_body, created)
    register_death = endpoints[2]
    writers = (*endpoints, civil_correction_endpoint(register, book, current_birth, created))

    def inject(change: Injection) -> None:
        """Apply one change of ``POST /__changes`` (see the module docstring)."""
        values = change.fields
        if change.kind == "death" and change.operation == "insert":
            person = find(change.subject)
            if set(values) - {"ngayChet", "ngayDangKy", "noiDangKy"} or "ngayChet" not in values:
                raise unsupported(change)
            place = {"maTinh": provinces.current(person.birth_province)}
            body = {"nguoiChet": {"soDinhDanh": change.subject}, "ngayChet": values["ngayChet"],
                    "ngayDangKy": values.get("ngayDangKy", dmy(now().date())),
                    "noiDangKy": values.get("noiDangKy", place)}  # fmt: skip
            register_death.plan(Call({}, {}), body).apply()
            return
        if change.kind != "birth" or change.operation != "update":
            raise unsupported(change)
        birth = current_birth(change.subject)
        if birth is None:
            raise NotFound(f"Không có dữ liệu hộ tịch của số định danh {change.subject}")
        corrections = in_format(change, values, BIRTH_RULES)
        stamp = now()
        for path, rendered in corrections:
            book.record(change.subject, path, rendered, stamp)
        feed.record(
            "update", "birth", change.subject, birth["maHoSo"], change.effective or stamp.date(),
            list(values), at=stamp,
        )  # fmt: skip

    return SystemSpec(
        name="civil-status",
        title="Cơ sở dữ liệu hộ tịch điện tử (mô phỏng)",
        auth="oauth2",
        error_body=_error,
        routes=(
            Route("GET", "/hotich/v1/khai-sinh", list_births),
            Route("GET", "/hotich/v1/khai-sinh/{soDinhDanh}", get_birth),
            Route("GET", "/hotich/v1/ket-hon", list_marriages),
            Route("GET", "/hotich/v1/cong-dan/{soDinhDanh}/ket-hon", get_marriages),
            Route("GET", "/hotich/v1/khai-tu", list_deaths),
            Route("GET", "/hotich/v1/khai-tu/{soDinhDanh}", get_death),
            Route("GET", "/hotich/v1/xac-nhan-hon-nhan/{soDinhDanh}", get_certificate),
            certificate_route(dataset, _ok, TIMESTAMP),
            *(writer.route(writes) for writer in writers),
            feed.route(),
        ),
        writes=writes,
        changes=ChangeControl(feed, inject),
    )
