"""Mock of the tax administration's taxpayer register (Tổng cục Thuế, TCT).

Auth: OAuth2 client credentials at ``POST /oauth/token``; bearer tokens expire.
Errors: ``{"errorCode": "TCT404", "errorDesc": "..."}``; success has ``"errorCode": "00"``.
The taxpayer list pages with ``pageNo`` (from 1) and ``pageSize``, reporting
``totalElements`` and ``totalPages``.

Since 1 July 2025 an individual's tax code is their citizen ID (``mst``); the 10-digit code
issued before then stays on the record (``mstCu``) and still finds the taxpayer.

=============================================  =========================================
GET /tct/api/v1/nnt?pageNo=&pageSize=          taxpayers, a page at a time
GET /tct/api/v1/nnt?soDinhDanh=                the taxpayer with this citizen ID
GET /tct/api/v1/nnt/{mst}                      a taxpayer by tax code (new or legacy)
GET /tct/api/v1/nnt/{mst}/nghia-vu-thue        obligation status, one entry per tax year
POST /tct/api/v1/nnt/{mst}/quyet-toan          record a finalisation (tax_writes.py)
POST /tct/api/v1/nnt/{mst}/yeu-cau-dieu-chinh  decide a correction (tax_writes.py)
GET /tct/api/v1/thay-doi?afterSeqNo=&pageSize=  the change feed (feeds.py)
=============================================  =========================================

The change feed: ``GET /tct/api/v1/thay-doi?afterSeqNo=<n>&pageSize=<k>`` (k 1..1000, default
100) answers the changes after sequence n, oldest first::

    {"errorCode": "00", "errorDesc": "Thành công", "lastSeqNo": <last sequence held>,
     "data": [{"seqNo": 5, "changeType": "I" | "U" | "D", "objectType": "NNT" | "NVT",
               "mst": "<tax code: the citizen ID>", "maHoSo": "NNT-... | NVT-...",
               "kyTinhThue": 2025 (NVT), "version": 2, "createdDate": "dd-mm-yyyy HH:MM",
               "effectiveDate": "dd/mm/yyyy", "changedFields": [...] (U only)}]}

A finalisation: ``NVT`` of its year, ``U`` when the year was on record, else ``I``
(``trangThai``, ``soTienConNo``, ``ngayNopToKhaiGanNhat``, ``ngayChotSoLieu``; effective
``ngayNop``). An accepted correction: ``U`` ``NNT`` with the field.

``POST /__changes`` (no auth) injects a change of a taxpayer: ``{"kind": "taxpayer",
"subject": "<mst, new or legacy>", "operation": "update", "fields": {"tenNNT": "...",
"ngaySinh": "dd/mm/yyyy"}}``.
"""

from __future__ import annotations

from typing import Any

from connectors.mocks.corrections import CorrectionBook, accept, date_rule, name_rule
from connectors.mocks.dataset import Dataset, Taxpayer
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
from connectors.mocks.tax_writes import TaxRegister, finalisation_endpoint, tax_correction_endpoint
from connectors.mocks.writes import WriteState, now

TIMESTAMP = "%d-%m-%Y %H:%M"
STATUS = {"ACTIVE": "00", "CLOSED": "01", "SUSPENDED": "04", "NOT_AT_ADDRESS": "06"}
OBLIGATION = {
    "FULFILLED": "HOAN_THANH",
    "OUTSTANDING": "CON_NO",
    "OVERDUE": "QUA_HAN",
    "NOT_FILED": "CHUA_NOP_TO_KHAI",
}
SYSTEM = "tax"


def _error(status: int, message: str) -> dict[str, Any]:
    return {"errorCode": f"TCT{status}", "errorDesc": message}


def _ok(data: Any, **extra: Any) -> Reply:
    return Reply(200, {"errorCode": "00", "errorDesc": "Thành công", "data": data, **extra})


FEED = FeedStyle(
    path="/tct/api/v1/thay-doi",
    after_param="afterSeqNo",
    size_param="pageSize",
    keys={"sequence": "seqNo", "operation": "changeType", "kind": "objectType",
          "subject": "mst", "reference": "maHoSo", "version": "version",
          "registered_at": "createdDate", "effective_on": "effectiveDate",
          "fields": "changedFields"},
    operations={"insert": "I", "update": "U", "delete": "D"},
    kinds={"taxpayer": "NNT", "obligation": "NVT"},
    timestamp=TIMESTAMP,
    answer=lambda page, last: _ok(page, lastSeqNo=last),
)  # fmt: skip
INJECTABLE = {"tenNNT": name_rule(), "ngaySinh": date_rule(accept)}


def build_spec(dataset: Dataset) -> SystemSpec:
    seed = dataset.seed
    feed = ChangeFeed(FEED)
    register = TaxRegister(dataset, feed=feed)
    book = CorrectionBook()
    writes = WriteState(overlays=[register.clear, book.clear, feed.clear])

    def taxpayer_body(taxpayer: Taxpayer) -> dict[str, Any]:
        person = dataset.person(taxpayer.person)
        body: dict[str, Any] = {
            "mst": taxpayer.tax_code,
            "mstCu": taxpayer.legacy_tax_code,
            "loaiNNT": "CN",  # cá nhân
            "tenNNT": person.full_name,
            "maCQT": taxpayer.tax_office_code,
            "maTinh": taxpayer.province_code,
            "ngayDangKy": dmy(taxpayer.registration_date),
            "trangThai": STATUS[taxpayer.status],
        }
        if not dataset.missing_optional(taxpayer.person, SYSTEM):
            body["soDinhDanh"] = person.citizen_id
            body["ngaySinh"] = dmy(person.date_of_birth)
        body["maHoSo"] = reference("NNT", seed, 1, taxpayer.person)
        updated = dataset.last_updated(taxpayer.person, SYSTEM, taxpayer.registration_date)
        body["ngayCapNhat"] = updated.strftime(TIMESTAMP)
        return book.patch(taxpayer.tax_code, body, stamp=("ngayCapNhat", TIMESTAMP))

    def find(code: str) -> Taxpayer:
        taxpayer = dataset.taxpayer_by_code(code)
        if taxpayer is None:
            raise NotFound(f"Không tìm thấy người nộp thuế có mã số {code}")
        return taxpayer

    def get_taxpayer(call: Call) -> Reply:
        return _ok(taxpayer_body(find(call.params["mst"])))

    def list_or_search(call: Call) -> Reply:
        citizen_id = call.query.get("soDinhDanh")
        if citizen_id is not None:
            index = dataset.index_of(citizen_id)
            taxpayer = None if index is None else dataset.taxpayer(index)
            if taxpayer is None:
                raise NotFound(f"Không tìm thấy người nộp thuế có số định danh {citizen_id}")
            return _ok(taxpayer_body(taxpayer))
        size = call.int_param("pageSize", 50, 1, 500)
        page = call.int_param("pageNo", 1, 1, 10**9)
        total = dataset.taxpayer_count
        start = (page - 1) * size
        items = []
        for ordinal in range(start, min(start + size, total)):
            taxpayer = dataset.taxpayer(dataset.taxpayer_index(ordinal))
            assert taxpayer is not None
            items.append(taxpayer_body(taxpayer))
        return _ok(
            items,
            pageNo=page,
            pageSize=size,
            totalElements=total,
            totalPages=max(1, -(-total // size)),
        )

    def get_obligations(call: Call) -> Reply:
        taxpayer = find(call.params["mst"])
        items = []
        for obligation, recorded in register.obligations(taxpayer.person):
            body: dict[str, Any] = {
                "mst": obligation.tax_code,
                "kyTinhThue": obligation.tax_year,
                "trangThai": OBLIGATION[obligation.obligation_status],
                "soTienConNo": obligation.outstanding_amount,
                "ngayChotSoLieu": dmy(obligation.as_of_date),
            }
            if obligation.last_filing_date is not None:
                body["ngayNopToKhaiGanNhat"] = dmy(obligation.last_filing_date)
            body["maHoSo"] = reference("NVT", seed, obligation.tax_year, taxpayer.person)
            updated = recorded or dataset.last_updated(
                taxpayer.person, SYSTEM, obligation.last_filing_date or obligation.as_of_date
            )
            body["ngayCapNhat"] = updated.strftime(TIMESTAMP)
            items.append(body)
        return _ok(items)

    def inject(change: Injection) -> None:
        """Apply one change of ``POST /__changes`` (see the module docstring)."""
        if change.kind != "taxpayer" or change.operation != "update":
            raise unsupported(change)
        taxpayer = find(change.subject)
        corrections = in_format(change, change.fields, INJECTABLE)
        stamp = now()
        for path, rendered in corrections:
            book.record(taxpayer.tax_code, path, rendered, stamp)
        feed.record(
            "update", "taxpayer", taxpayer.tax_code, reference("NNT", seed, 1, taxpayer.person),
            change.effective or stamp.date(), list(change.fields), at=stamp,
        )  # fmt: skip

    finalisation = finalisation_endpoint(register, find, _ok)
    correction = tax_correction_endpoint(register, book, find, taxpayer_body, _ok)
    return SystemSpec(
        name="tax",
        title="Hệ thống quản lý thuế (mô phỏng)",
        auth="oauth2",
        error_body=_error,
        routes=(
            Route("GET", "/tct/api/v1/nnt", list_or_search),
            Route("GET", "/tct/api/v1/nnt/{mst}", get_taxpayer),
            Route("GET", "/tct/api/v1/nnt/{mst}/nghia-vu-thue", get_obligations),
            finalisation.route(writes),
            correction.route(writes),
            feed.route(),
        ),
        writes=writes,
        changes=ChangeControl(feed, inject),
    )
