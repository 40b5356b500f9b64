"""Mock of the national land information system (Hệ thống thông tin đất đai, VBDLIS-style).

Auth: a static API key in ``X-VBDLIS-Key``. Errors: ``{"code": 404, "message": "...",
"data": null}``; success has ``"code": 0``. Areas are strings with a decimal comma ("125,5").
The parcel list pages with an opaque cursor: ``cursor`` and ``limit`` in, ``nextCursor`` out
(null at the end).

===================================================  ==================================
GET /vbdlis/api/v1/thua-dat?cursor=&limit=           every parcel, by cursor
GET /vbdlis/api/v1/chu-su-dung/{cccd}/thua-dat       the parcels an owner holds (a list)
GET /vbdlis/api/v1/chu-su-dung/{cccd}/giay-chung-nhan  the owner's certificates (a list)
GET /vbdlis/api/v1/giay-chung-nhan/{soPhatHanh}      one certificate, with its status
POST /vbdlis/api/v1/bien-dong/chuyen-nhuong          register a transfer (land_writes.py)
POST /vbdlis/api/v1/yeu-cau-dinh-chinh               decide a correction (land_writes.py)
GET /vbdlis/api/v1/nhat-ky-bien-dong?afterSeq=&limit=  the change feed (feeds.py)
===================================================  ==================================

An owner with no land gets an empty list, not an error: the register cannot tell a
landless citizen from an unknown one. A citizen ID that is not twelve digits is a 400.

The change feed: ``GET /vbdlis/api/v1/nhat-ky-bien-dong?afterSeq=<n>&limit=<k>`` (k 1..1000,
default 100) answers the changes after sequence n, oldest first::

    {"code": 0, "message": "OK", "lastSeq": <last sequence held>,
     "data": [{"seq": 4, "action": "CREATE" | "UPDATE" | "DELETE",
               "objectType": "THUA_DAT" | "GIAY_CHUNG_NHAN",
               "soDinhDanh": "<the owner's citizen ID>", "maHoSo": "TD-... | GCN-...",
               "maThua": "...", "soPhatHanh": "..." (GIAY_CHUNG_NHAN),
               "soDinhDanhTruoc": "<the previous owner>" (a parcel that changed hands),
               "version": 2, "registeredAt": "yyyymmddHHMMSS", "effectiveDate": "dd/mm/yyyy",
               "changedFields": ["chuSuDung.hoTen"] (UPDATE only)}]}

A parcel's version counts by ``maThua``, a certificate's by ``soPhatHanh`` (a new certificate
keeps its parcel's ``maHoSo``). A registered transfer puts in three changes, effective the day
it is registered: ``UPDATE`` of the parcel under the buyer (``chuSuDung.soDinhDanh``,
``chuSuDung.hoTen``, with ``soDinhDanhTruoc`` the seller), ``DELETE`` of the cancelled
certificate under the seller (it leaves the seller's list; ``GET /giay-chung-nhan/{so}``
still answers it, ``DA_HUY``) and ``CREATE`` of the new certificate under the buyer. An
accepted correction of the area or purpose: ``UPDATE`` of the parcel (``dienTich``) and of its
certificate (``thuaDat.dienTich``).

``POST /__changes`` (no auth) injects, for the owner ``subject``: a name change,
``{"kind": "certificate" | "parcel", "subject": "<citizen ID>", "operation": "update",
"fields": {"chuSuDung.hoTen": "..."}}`` (every parcel and certificate of the owner shows it,
each gets an ``UPDATE``); an area or purpose, ``{"kind": "parcel", ..., "reference":
"<maThua or TD-...>" (needed when the owner holds several), "fields": {"dienTich": "125,5",
"mucDichSuDung": "ODT"}}``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from connectors.mocks.corrections import CorrectionBook, name_rule
from connectors.mocks.dataset import Dataset, Parcel
from connectors.mocks.feeds import (
    ChangeControl,
    ChangeFeed,
    FeedStyle,
    Injection,
    in_format,
    unsupported,
)
from connectors.mocks.formats import decimal_comma, dmy, reference
from connectors.mocks.land_writes import (
    PARCEL_RULES,
    LandRegister,
    land_correction_endpoint,
    references,
    transfer_endpoint,
)
from connectors.mocks.server import BadRequest, Call, NotFound, Refused, Reply, Route, SystemSpec
from connectors.mocks.writes import WriteState, now

TIMESTAMP = "%Y%m%d%H%M%S"
SYSTEM = "land"
_EPOCH = date(2000, 1, 1)
_SCAN_PER_PAGE = 40  # persons looked at per requested parcel, at most, before a page ends


def _error(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "message": message, "data": None}


def _ok(data: Any, **extra: Any) -> Reply:
    return Reply(200, {"code": 0, "message": "OK", "data": data, **extra})


def encode_cursor(index: int, skip: int = 0) -> str:
    """Opaque to clients: the owner to resume at and how many of their parcels were sent."""
    return base64.urlsafe_b64encode(f"p:{index}:{skip}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, index, skip = raw.split(":")
        if kind != "p" or int(index) < 0 or int(skip) < 0:
            raise ValueError(raw)
        return int(index), int(skip)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("cursor không hợp lệ") from None


FEED = FeedStyle(
    path="/vbdlis/api/v1/nhat-ky-bien-dong",
    after_param="afterSeq",
    size_param="limit",
    keys={"sequence": "seq", "operation": "action", "kind": "objectType",
          "subject": "soDinhDanh", "reference": "maHoSo", "version": "version",
          "registered_at": "registeredAt", "effective_on": "effectiveDate",
          "fields": "changedFields"},
    operations={"insert": "CREATE", "update": "UPDATE", "delete": "DELETE"},
    kinds={"parcel": "THUA_DAT", "certificate": "GIAY_CHUNG_NHAN"},
    timestamp=TIMESTAMP,
    answer=lambda page, last: _ok(page, lastSeq=last),
)  # fmt: skip


OWNER_NAME = "chuSuDung.hoTen"
INJECTABLE = {
    "certificate": {OWNER_NAME: name_rule()},
    "parcel": {OWNER_NAME: name_rule(), **PARCEL_RULES},
}


def build_spec(dataset: Dataset) -> SystemSpec:
    seed = dataset.seed
    feed = ChangeFeed(FEED)
    register = LandRegister(dataset, feed=feed)
    book = CorrectionBook()
    writes = WriteState(overlays=[register.clear, book.clear, feed.clear])
    owner = register.owner

    def stamp(body: dict[str, Any], parcel: Parcel, kind: int) -> None:
        serial = parcel.map_sheet_number * 100_000 + parcel.parcel_number
        body["maHoSo"] = reference("TD" if kind == 1 else "GCN", seed, kind, serial)
        created = parcel.certificate_issued or parcel.land_use_term_end or _EPOCH
        updated = register.updated.get(parcel.parcel_id)
        if updated is None:
            updated = dataset.last_updated(parcel.owner, SYSTEM, created)
        body["ngayCapNhat"] = updated.strftime(TIMESTAMP)

    def parcel_body(parcel: Parcel) -> dict[str, Any]:
        body: dict[str, Any] = {
            "maThua": parcel.parcel_id,
            "soToBanDo": parcel.map_sheet_number,
            "soThua": parcel.parcel_number,
            "maTinh": parcel.province_code,
            "dienTich": decimal_comma(parcel.area_m2),
            "mucDichSuDung": parcel.land_use_purpose,
            "chuSuDung": owner(parcel.owner),
        }
        if not dataset.missing_optional(parcel.owner, SYSTEM):
            body["diaChi"] = parcel.address_line
            body["thoiHanSuDung"] = parcel.land_use_term
        stamp(body, parcel, 1)
        return book.patch(parcel.parcel_id, body, stamp=("ngayCapNhat", TIMESTAMP))

    def certificate_body(parcel: Parcel) -> dict[str, Any]:
        assert parcel.certificate_number is not None and parcel.certificate_issued is not None
        body: dict[str, Any] = {
            "soPhatHanh": parcel.certificate_number,
            "ngayCap": dmy(parcel.certificate_issued),
            "maTinhCap": parcel.province_code,
            "chuSuDung": owner(parcel.owner),
            "thuaDat": {
                "maThua": parcel.parcel_id,
                "soToBanDo": parcel.map_sheet_number,
                "soThua": parcel.parcel_number,
                "dienTich": decimal_comma(parcel.area_m2),
                "mucDichSuDung": parcel.land_use_purpose,
            },
        }
        if parcel.land_use_term_end is not None and not dataset.missing_optional(
            parcel.owner, SYSTEM
        ):
            body["hanSuDung"] = dmy(parcel.land_use_term_end)
        stamp(body, parcel, 2)
        return book.patch(
            parcel.parcel_id, body, prefix="thuaDat.", stamp=("ngayCapNhat", TIMESTAMP)
        )

    def owner_index(citizen_id: str) -> int | None:
        if len(citizen_id) != 12 or not citizen_id.isdigit():
            raise BadRequest("Số định danh chủ sử dụng phải gồm 12 chữ số")
        return dataset.index_of(citizen_id)

    def get_parcels(call: Call) -> Reply:
        index = owner_index(call.params["cccd"])
        parcels = [] if index is None else register.parcels_of(index)
        return _ok([parcel_body(p) for p in parcels])

    def get_certificates(call: Call) -> Reply:
        index = owner_index(call.params["cccd"])
        parcels = [] if index is None else register.parcels_of(index)
        return _ok([certificate_body(p) for p in parcels if p.certificate_number])

    def list_parcels(call: Call) -> Reply:
        limit = call.int_param("limit", 50, 1, 500)
        cursor = call.query.get("cursor")
        index, skip = decode_cursor(cursor) if cursor else (0, 0)
        items: list[dict[str, Any]] = []
        scan_end = min(dataset.size, index + limit * _SCAN_PER_PAGE)
        while index < scan_end and len(items) < limit:
            parcels = register.parcels_of(index)[skip:]
            taken = parcels[: limit - len(items)]
            items.extend(parcel_body(p) for p in taken)
            if len(taken) < len(parcels):
                skip += len(taken)
                break
            index, skip = index + 1, 0
        next_cursor = encode_cursor(index, skip) if index < dataset.size else None
        return _ok(items, nextCursor=next_cursor)

    def get_certificate(call: Call) -> Reply:
        found = register.certificate(call.params["soPhatHanh"])
        if found is None:
            raise NotFound(f"Không có giấy chứng nhận số {call.params['soPhatHanh']}")
        parcel, cancellation = found
        body = certificate_body(parcel)
        if cancellation is None:
            body["trangThai"] = "CON_HIEU_LUC"
        else:
            body["trangThai"] = "DA_HUY"
            body["ngayHuy"] = dmy(cancellation.cancelled_on)
            body["lyDoHuy"] = f"Chuyển nhượng quyền sử dụng đất ({cancellation.transfer})"
        return _ok(body)

    def inject(change: Injection) -> None:
        """Apply one change of ``POST /__changes`` (see the module docstring)."""
        if change.operation != "update":
            raise unsupported(change)
        index = owner_index(change.subject)
        parcels = [] if index is None else register.parcels_of(index)
        if index is None or not parcels:
            raise NotFound(f"Chủ sử dụng {change.subject} không có thửa đất nào")
        stamp = now()
        effective = change.effective or stamp.date()
        corrections = in_format(change, change.fields, INJECTABLE[change.kind])
        checked = next((v for path, v in corrections if path == OWNER_NAME), None)
        corrections = [(path, v) for path, v in corrections if path != OWNER_NAME]
        target = None
        if corrections:
            wanted = change.reference
            matches = [p for p in parcels if wanted in (None, p.parcel_id, *references(seed, p))]
            if len(matches) != 1:
                raise Refused(422, "reference must name one of the owner's parcels (maThua)")
            target = matches[0]
        if checked is not None:  # the owner's name, on every record of theirs
            register.owner_names[index] = checked
            for parcel in parcels:
                register.updated[parcel.parcel_id] = stamp
                register.announce("update", "parcel", parcel, effective, ["chuSuDung.hoTen"], stamp)
                if parcel.certificate_number:
                    register.announce(
                        "update", "certificate", parcel, effective, ["chuSuDung.hoTen"], stamp
                    )
        if target is not None:
            for path, rendered in corrections:
                book.record(target.parcel_id, path, rendered, stamp)
            paths = [path for path, _ in corrections]
            register.announce("update", "parcel", target, effective, paths, stamp)
            if target.certificate_number:
                shown = [f"thuaDat.{path}" for path in paths]
                register.announce("update", "certificate", target, effective, shown, stamp)

    transfer = transfer_endpoint(register, _ok)
    correction = land_correction_endpoint(register, book, parcel_body, certificate_body, _ok)
    return SystemSpec(
        name="land",
        title="Hệ thống thông tin đất đai quốc gia (mô phỏng)",
        auth="api_key",
        api_key_header="X-VBDLIS-Key",
        error_body=_error,
        routes=(
            Route("GET", "/vbdlis/api/v1/thua-dat", list_parcels),
            Route("GET", "/vbdlis/api/v1/chu-su-dung/{cccd}/thua-dat", get_parcels),
            Route("GET", "/vbdlis/api/v1/chu-su-dung/{cccd}/giay-chung-nhan", get_certificates),
            Route("GET", "/vbdlis/api/v1/giay-chung-nhan/{soPhatHanh}", get_certificate),
            transfer.route(writes),
            correction.route(writes),
            feed.route(),
        ),
        writes=writes,
        changes=ChangeControl(feed, inject),
    )
