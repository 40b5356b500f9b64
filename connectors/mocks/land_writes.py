"""Writes to the land mock: a transfer of land-use rights (đăng ký biến động), a correction.

===================================================================  ==========================
POST /vbdlis/api/v1/bien-dong/chuyen-nhuong[?dryRun=true]           register a transfer
POST /vbdlis/api/v1/yeu-cau-dinh-chinh[?dryRun=true]                 decide a correction
GET  /vbdlis/api/v1/giay-chung-nhan/{soPhatHanh}                    a certificate, with status
===================================================================  ==========================

Idempotency key: the body field ``maGiaoDich``. The body::

    {"maGiaoDich": "...", "maThua": "01-001-00012-00345", "soPhatHanh": "CS01234567",
     "benChuyenNhuong": {"soDinhDanh": "..."}, "benNhanChuyenNhuong": {"soDinhDanh": "..."},
     "ngayHopDong": "dd/mm/yyyy"}

A registered transfer issues a new certificate to the buyer, cancels the presented one
(``trangThai`` ``DA_HUY``) and moves the parcel to the buyer. Answers: 200 ``code`` 0 with
``data.soPhatHanhMoi``; 422 for an invalid body; 409 when the seller does not hold the parcel
or the certificate is not the parcel's current one (both final).

A correction (``yeu-cau-dinh-chinh``, the rules common to all mocks in ``corrections.py``)::

    {"maGiaoDich": "...", "soDinhDanh": "<owner>", "maHoSo": "TD-... | GCN-..." (optional),
     "truong": "dienTich" | "mucDichSuDung" | "thuaDat.dienTich" | "thuaDat.mucDichSuDung",
     "giaTriHienTai": "120,5", "giaTriDeNghi": "125,5", "lyDo": "..."}

The record is the parcel (``TD-``, as ``/thua-dat`` serves it) or its certificate (``GCN-``,
as ``/giay-chung-nhan`` serves it) that ``maHoSo`` names among the owner's; without it, the
owner's only parcel (422 when they hold several). Correctable online: the area (a string with
a decimal comma and at most one decimal, > 0), accepted within ±10 % of the recorded area,
else ``TU_CHOI`` (a new survey is needed); the land-use purpose, accepted when it is a known
code (an unknown one is a 422). Identity keys (``maThua``, ``soPhatHanh``, ``soDinhDanh``) and
every other field: ``TU_CHOI``, apply at the land registration office. Answer: 200
``{"code": 0, "message": "OK", "data": {"ketQua": "CHAP_NHAN"|"TU_CHOI", "maHoSo", "truong",
"giaTriCu", "giaTriMoi" | "lyDoTuChoi"}}``. An accepted value shows in the parcel and the
certificate (every list that carries them), as corrections are kept by parcel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from connectors.mocks.corrections import (
    CorrectionBook,
    FieldRule,
    Found,
    accept,
    code_rule,
    correction_endpoint,
)
from connectors.mocks.dataset import _PARCEL_MULTIPLIER, _PARCEL_SPACE, Dataset, Parcel
from connectors.mocks.feeds import ChangeFeed, Operation
from connectors.mocks.formats import decimal_comma, dmy, reference
from connectors.mocks.server import Call, Refused, Reply
from connectors.mocks.writes import (
    KeyFrom,
    Plan,
    WriteEndpoint,
    citizen_id,
    day,
    now,
    obj,
    required_text,
    text,
)

_PARCEL_INVERSE = pow(_PARCEL_MULTIPLIER, -1, _PARCEL_SPACE)
_MAX_PARCELS = 3
NEW_SERIES = "DE"  # a series the generated certificates never use, so numbers cannot clash


@dataclass(frozen=True, slots=True)
class Cancellation:
    parcel: Parcel  # as it stood under the cancelled certificate
    cancelled_on: date
    transfer: str


@dataclass(slots=True)
class LandRegister:
    """The generated parcels, with the transfers registered since laid over them."""

    dataset: Dataset
    current: dict[str, Parcel] = field(default_factory=dict)  # parcel ID -> after transfers
    acquired: dict[int, list[str]] = field(default_factory=dict)  # owner -> parcel IDs
    issued: dict[str, str] = field(default_factory=dict)  # new certificate -> parcel ID
    cancelled: dict[str, Cancellation] = field(default_factory=dict)
    updated: dict[str, datetime] = field(default_factory=dict)  # parcel ID -> last change
    owner_names: dict[int, str] = field(default_factory=dict)  # injected (POST /__changes)
    feed: ChangeFeed | None = None

    def clear(self) -> None:
        for table in (self.current, self.acquired, self.issued, self.cancelled, self.updated):
            table.clear()
        self.owner_names.clear()

    def owner(self, index: int) -> dict[str, Any]:
        """``chuSuDung`` as the reads serve it."""
        person = self.dataset.person(index)
        name = self.owner_names.get(index, person.full_name)
        return {"soDinhDanh": person.citizen_id, "hoTen": name}

    def announce(
        self,
        operation: Operation,
        kind: str,
        parcel: Parcel,
        effective: date,
        changed: list[str] | tuple[str, ...] = (),
        stamp: datetime | None = None,
        *,
        certificate: str | None = None,
        previous_owner: str | None = None,
    ) -> None:
        """Put a change of ``parcel`` (kind ``parcel``) or of its certificate ``certificate``
        (kind ``certificate``) in the feed, under the owner the parcel names."""
        if self.feed is None:
            return
        parcel_ref, certificate_ref = references(self.dataset.seed, parcel)
        extra: dict[str, Any] = {"maThua": parcel.parcel_id}
        if kind == "certificate":
            extra["soPhatHanh"] = certificate or parcel.certificate_number
        if previous_owner is not None:
            extra["soDinhDanhTruoc"] = previous_owner
        self.feed.record(
            operation, kind, self.dataset.citizen_id(parcel.owner),
            certificate_ref if kind == "certificate" else parcel_ref, effective, changed,
            at=stamp, extra=extra, record=extra.get("soPhatHanh") or parcel.parcel_id,
        )  # fmt: skip

    def parcels_of(self, index: int) -> list[Parcel]:
        generated = self.dataset.parcels_of(index)
        if not self.current:
            return generated
        held = [p for p in generated if p.parcel_id not in self.current]
        held += [
            self.current[pid]
            for pid in self.acquired.get(index, ())
            if self.current[pid].owner == index
        ]
        return held

    def certificate(self, number: str) -> tuple[Parcel, Cancellation | None] | None:
        """The parcel a certificate stands for, and its cancellation if it was cancelled."""
        if number in self.cancelled:
            cancellation = self.cancelled[number]
            return cancellation.parcel, cancellation
        if number in self.issued:
            return self.current[self.issued[number]], None
        if len(number) != 10 or not number[2:].isdigit():
            return None
        position = int(number[2:]) * _PARCEL_INVERSE % _PARCEL_SPACE
        index, k = divmod(position, _MAX_PARCELS)
        if index >= self.dataset.size:
            return None
        parcels = self.dataset.parcels_of(index)
        if k >= len(parcels) or parcels[k].certificate_number != number:
            return None
        return parcels[k], None


def references(seed: int, parcel: Parcel) -> tuple[str, str]:
    """The parcel's ``maHoSo`` and its certificate's, as the reads serve them."""
    serial = parcel.map_sheet_number * 100_000 + parcel.parcel_number
    return reference("TD", seed, 1, serial), reference("GCN", seed, 2, serial)


def transfer_endpoint(register: LandRegister, ok: Callable[[Any], Reply]) -> WriteEndpoint:
    dataset = register.dataset
    owner = register.owner

    def plan(call: Call, body: dict[str, Any]) -> Plan:
        parcel_id = required_text(body, "maThua")
        presented = required_text(body, "soPhatHanh")
        seller_id = citizen_id(obj(body, "benChuyenNhuong"), "soDinhDanh")
        buyer_id = citizen_id(obj(body, "benNhanChuyenNhuong"), "soDinhDanh")
        contract = day(body, "ngayHopDong")
        if seller_id == buyer_id:
            raise Refused(422, "Bên chuyển nhượng và bên nhận chuyển nhượng trùng nhau")
        seller, buyer = dataset.index_of(seller_id), dataset.index_of(buyer_id)
        if buyer is None:
            raise Refused(422, f"Không tìm thấy công dân nhận chuyển nhượng {buyer_id}")
        held = [] if seller is None else register.parcels_of(seller)
        parcel = next((p for p in held if p.parcel_id == parcel_id), None)
        if parcel is None:
            raise Refused(409, f"Thửa đất {parcel_id} không thuộc quyền sử dụng của {seller_id}")
        if presented in register.cancelled:
            raise Refused(409, f"Giấy chứng nhận {presented} đã bị hủy")
        if parcel.certificate_number != presented:
            raise Refused(409, f"Giấy chứng nhận {presented} không phải của thửa đất {parcel_id}")
        if contract > now().date():
            raise Refused(422, "Ngày hợp đồng không được sau ngày đăng ký")
        assert buyer is not None and seller is not None
        ordinal = len(register.issued)
        new_number = f"{NEW_SERIES}{ordinal + 1:08d}"
        preview = {
            "maThua": parcel_id,
            "soPhatHanhCu": presented,
            "soPhatHanhMoi": new_number,
            "chuSuDungCu": owner(seller),
            "chuSuDungMoi": owner(buyer),
        }

        def apply() -> Reply:
            stamp = now()
            after = replace(
                parcel, owner=buyer, certificate_number=new_number,
                certificate_issued=stamp.date(),
            )  # fmt: skip
            transfer = reference("BD", dataset.seed, 5, ordinal)
            register.current[parcel_id] = after
            buyers = register.acquired.setdefault(buyer, [])
            if parcel_id not in buyers:
                buyers.append(parcel_id)
            register.issued[new_number] = parcel_id
            register.cancelled[presented] = Cancellation(parcel, stamp.date(), transfer)
            register.updated[parcel_id] = stamp
            # The transfer takes effect when registered: the new certificate's date of issue.
            today = stamp.date()
            moved = ["chuSuDung.soDinhDanh", "chuSuDung.hoTen"]
            register.announce("update", "parcel", after, today, moved, stamp,
                              previous_owner=seller_id)  # fmt: skip
            register.announce("delete", "certificate", parcel, today, stamp=stamp)
            register.announce("insert", "certificate", after, today, stamp=stamp)
            return ok({**preview, "maBienDong": transfer, "ngayCap": dmy(stamp.date())})

        return Plan(preview, apply)

    return WriteEndpoint(
        method="POST",
        template="/vbdlis/api/v1/bien-dong/chuyen-nhuong",
        key=KeyFrom(body_field="maGiaoDich"),
        dry_run_param="dryRun",
        plan=plan,
        dry_run_reply=lambda preview: Reply(
            200, {"code": 0, "message": "Hợp lệ, chưa ghi (dryRun)", "data": preview}
        ),
    )


# Land-use purpose codes (mục đích sử dụng đất), agricultural then non-agricultural.
PURPOSES = frozenset(
    {"LUC", "LUK", "LUN", "BHK", "NHK", "CLN", "RSX", "RPH", "RDD", "NTS", "LMU", "NKH",
     "ONT", "ODT", "TSC", "CQP", "CAN", "TMD", "SKC", "SKK", "SKS", "DGT", "DTL", "DSH",
     "DKV", "DVH", "DYT", "DGD", "DTT", "TON", "TIN", "NTD", "SON", "MNC", "PNK", "CSD"}
)  # fmt: skip
AREA_TOLERANCE = 0.10
_AREA = re.compile(r"^\d{1,7}(,\d)?$")


def _parse_area(value: Any) -> float:
    if not isinstance(value, str) or not _AREA.match(value) or float(value.replace(",", ".")) <= 0:
        raise ValueError('diện tích là chuỗi số m² với dấu phẩy thập phân, ví dụ "125,5"')
    return float(value.replace(",", "."))


def _within_tolerance(current: Any, claimed: Any, record: Mapping[str, Any]) -> str | None:
    if current is not None and abs(claimed - current) <= AREA_TOLERANCE * current:
        return None
    gap = "" if current is None else f" {abs(claimed - current) / current:.0%}"
    return (
        f"Diện tích đề nghị chênh lệch{gap} so với hồ sơ, vượt quá 10%; "
        "cần đo đạc lại thửa đất trước khi chỉnh lý"
    )


def _rules(prefix: str) -> dict[str, FieldRule]:
    area = FieldRule(_parse_area, decimal_comma, _within_tolerance, book_path="dienTich")
    purpose = code_rule(PURPOSES, accept)
    return {
        f"{prefix}dienTich": area,
        f"{prefix}mucDichSuDung": FieldRule(
            purpose.parse, purpose.render, accept, book_path="mucDichSuDung"
        ),
    }


PARCEL_RULES, CERTIFICATE_RULES = _rules(""), _rules("thuaDat.")


def land_correction_endpoint(
    register: LandRegister,
    book: CorrectionBook,
    parcel_view: Callable[[Parcel], dict[str, Any]],
    certificate_view: Callable[[Parcel], dict[str, Any]],
    ok: Callable[[Any], Reply],
) -> WriteEndpoint:
    """``parcel_view`` and ``certificate_view`` render as the reads do (corrections included)."""
    dataset = register.dataset

    def announce(found: Found, path: str, body: dict[str, Any]) -> None:
        """A corrected value shows on the parcel and on its certificate: both change."""
        parcel = next(
            p for p in register.parcels_of(dataset.index_of(body["soDinhDanh"]) or 0)
            if p.parcel_id == found.key
        )  # fmt: skip
        today = now().date()
        register.announce("update", "parcel", parcel, today, [path])
        if parcel.certificate_number:
            register.announce("update", "certificate", parcel, today, [f"thuaDat.{path}"])

    def locate(call: Call, body: dict[str, Any]) -> Found:
        owner_id = citizen_id(body, "soDinhDanh")
        wanted = text(body, "maHoSo", required=False)
        index = dataset.index_of(owner_id)
        parcels = [] if index is None else register.parcels_of(index)
        if wanted is None:
            if not parcels:
                raise Refused(404, f"Chủ sử dụng {owner_id} không có thửa đất nào")
            if len(parcels) > 1:
                raise Refused(422, f"Chủ sử dụng {owner_id} có {len(parcels)} thửa đất; cần maHoSo")
            parcel = parcels[0]
            if str(body.get("truong", "")).startswith("thuaDat.") and parcel.certificate_number:
                view = certificate_view(parcel)
                return Found(parcel.parcel_id, view["maHoSo"], view, CERTIFICATE_RULES)
            view = parcel_view(parcel)
            return Found(parcel.parcel_id, view["maHoSo"], view, PARCEL_RULES)
        for parcel in parcels:
            view = parcel_view(parcel)
            if view["maHoSo"] == wanted:
                return Found(parcel.parcel_id, wanted, view, PARCEL_RULES)
            if parcel.certificate_number:
                view = certificate_view(parcel)
                if view["maHoSo"] == wanted:
                    return Found(parcel.parcel_id, wanted, view, CERTIFICATE_RULES)
        raise Refused(404, f"Không tìm thấy hồ sơ {wanted} của chủ sử dụng {owner_id}")

    return correction_endpoint(
        template="/vbdlis/api/v1/yeu-cau-dinh-chinh",
        key=KeyFrom(body_field="maGiaoDich"),
        dry_run_param="dryRun",
        locate=locate,
        book=book,
        in_person="Văn phòng đăng ký đất đai nơi có thửa đất",
        answer=ok,
        dry_run_answer=lambda preview: Reply(
            200, {"code": 0, "message": "Hợp lệ, chưa ghi (dryRun)", "data": preview}
        ),
        announce=announce,
    )
