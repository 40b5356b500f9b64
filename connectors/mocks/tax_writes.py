"""Writes to the tax mock: a personal income tax finalisation (quyết toán thuế), a correction.

==============================================================  ==============================
POST /tct/api/v1/nnt/{mst}/quyet-toan[?validateOnly=true]          record a finalisation
POST /tct/api/v1/nnt/{mst}/yeu-cau-dieu-chinh[?validateOnly=true]  decide a correction
==============================================================  ==============================

Idempotency key: the body field ``requestId``. The body::

    {"requestId": "...", "kyTinhThue": 2025, "ngayNop": "dd/mm/yyyy",
     "soThuePhaiNop": 12000000, "soThueDaNop": 10000000}

or, for a finalisation a tax office has already decided, the balance it found instead of
the two amounts: ``"soTienConNo": 2000000`` (0 when nothing is owed).

Amounts are whole dong. The year's obligation becomes ``HOAN_THANH`` (nothing owed) or
``CON_NO`` with the balance, filed on ``ngayNop``, and ``GET .../nghia-vu-thue`` says so.
Answers: 200 ``errorCode`` ``"00"``; ``TCT404`` for an unknown tax code, ``TCT422`` for an
invalid body, ``TCT409`` when the taxpayer's code is closed or the year is already finalised
(a second one is an amendment, which this register takes on paper): all final.

A correction (``yeu-cau-dieu-chinh``, the rules common to all mocks in ``corrections.py``)::

    {"requestId": "...", "maHoSo": "NNT-..." (optional), "truong": "tenNNT" | "ngaySinh" | ...,
     "giaTriHienTai": ..., "giaTriDeNghi": ..., "lyDo": "..."}

The record is the taxpayer in the path (new or legacy code; ``maHoSo`` ``NNT-...``, as
``GET /nnt/{mst}`` serves it); the taxpayer's obligation records (``NVT-``, or without
``maHoSo`` a field only they have, such as ``soTienConNo``) are found too but change only by
a supplementary return (``TU_CHOI``), and a closed code takes no correction
(``TU_CHOI``). Correctable online: ``tenNNT``, accepted when only diacritics, case or spacing
change (a new name comes from the population database); ``ngaySinh`` (dd/mm/yyyy), accepted in
the birth year the citizen ID encodes, else ``TU_CHOI``. ``mst``, ``mstCu``, ``soDinhDanh``
and every other field: ``TU_CHOI``. Answer: 200 ``{"errorCode": "00", "errorDesc":
"Thành công", "data": {"ketQua": "CHAP_NHAN"|"TU_CHOI", "maHoSo", "truong", "giaTriCu",
"giaTriMoi" | "lyDoTuChoi"}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
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
from connectors.mocks.dataset import Dataset, TaxObligation, Taxpayer
from connectors.mocks.feeds import ChangeFeed
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, NotFound, Refused, Reply
from connectors.mocks.writes import KeyFrom, Plan, WriteEndpoint, day, now, text

OBLIGATION_OF = {"FULFILLED": "HOAN_THANH", "OUTSTANDING": "CON_NO"}
# What a finalisation changes in the year's obligation, as ``GET .../nghia-vu-thue`` serves it.
OBLIGATION_FIELDS = ("trangThai", "soTienConNo", "ngayNopToKhaiGanNhat", "ngayChotSoLieu")


@dataclass(slots=True)
class TaxRegister:
    """Finalisations recorded since the dataset was generated, by (person, tax year)."""

    dataset: Dataset
    finalised: dict[tuple[int, int], tuple[TaxObligation, datetime]] = field(default_factory=dict)
    feed: ChangeFeed | None = None

    def clear(self) -> None:
        self.finalised.clear()

    def obligations(self, index: int) -> list[tuple[TaxObligation, datetime | None]]:
        """The generated obligations with the recorded finalisations laid over them."""
        years: dict[int, tuple[TaxObligation, datetime | None]] = {
            o.tax_year: (o, None) for o in self.dataset.tax_obligations(index)
        }
        for (person, year), (obligation, stamp) in self.finalised.items():
            if person == index:
                years[year] = (obligation, stamp)
        return [years[year] for year in sorted(years)]


def _amount(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Refused(422, f"{name} must be a whole number of dong >= 0")
    return value


def finalisation_endpoint(
    register: TaxRegister,
    find: Callable[[str], Taxpayer],
    ok: Callable[[Any], Reply],
) -> WriteEndpoint:
    seed = register.dataset.seed

    def plan(call: Call, body: dict[str, Any]) -> Plan:
        try:
            taxpayer = find(call.params["mst"])
        except NotFound as exc:
            raise Refused(404, exc.message) from None
        year = body.get("kyTinhThue")
        filed = day(body, "ngayNop")
        if "soTienConNo" in body:  # the balance a tax office already decided
            balance, overpaid = _amount(body, "soTienConNo"), 0
        else:
            due, paid = _amount(body, "soThuePhaiNop"), _amount(body, "soThueDaNop")
            balance, overpaid = max(0, due - paid), max(0, paid - due)
        if isinstance(year, bool) or not isinstance(year, int):
            raise Refused(422, "kyTinhThue must be a year")
        if not taxpayer.registration_date.year <= year < now().year:
            raise Refused(422, f"kyTinhThue {year} is not a closed year of this taxpayer")
        if filed < date(year + 1, 1, 1) or filed > now().date():
            raise Refused(422, "ngayNop must fall after the tax year and not in the future")
        if taxpayer.status == "CLOSED":
            raise Refused(409, f"Mã số thuế {taxpayer.tax_code} đã đóng")
        if (taxpayer.person, year) in register.finalised:
            raise Refused(409, f"Kỳ {year} đã quyết toán; nộp tờ khai bổ sung")
        obligation = TaxObligation(
            tax_code=taxpayer.tax_code, tax_year=year,
            obligation_status="OUTSTANDING" if balance else "FULFILLED",
            outstanding_amount=balance, last_filing_date=filed, as_of_date=filed,
        )  # fmt: skip
        preview = {
            "mst": taxpayer.tax_code,
            "kyTinhThue": year,
            "trangThai": OBLIGATION_OF[obligation.obligation_status],
            "soTienConNo": balance,
            "soThueNopThua": overpaid,
            "maHoSo": reference("QT", seed, year, taxpayer.person),
        }

        def apply() -> Reply:
            stamp = now()
            recorded = replace(obligation, as_of_date=stamp.date())
            generated = any(
                o.tax_year == year for o in register.dataset.tax_obligations(taxpayer.person)
            )
            register.finalised[(taxpayer.person, year)] = (recorded, stamp)
            if register.feed is not None:
                register.feed.record(
                    "update" if generated else "insert", "obligation", taxpayer.tax_code,
                    reference("NVT", seed, year, taxpayer.person), filed, OBLIGATION_FIELDS,
                    at=stamp, extra={"kyTinhThue": year},
                )  # fmt: skip
            return ok({**preview, "ngayChotSoLieu": dmy(stamp.date())})

        return Plan(preview, apply)

    return WriteEndpoint(
        method="POST",
        template="/tct/api/v1/nnt/{mst}/quyet-toan",
        key=KeyFrom(body_field="requestId"),
        dry_run_param="validateOnly",
        plan=plan,
        dry_run_reply=lambda preview: Reply(
            200, {"errorCode": "00", "errorDesc": "Hợp lệ (validateOnly)", "data": preview}
        ),
    )


def birth_year_of(citizen_id: str) -> int:
    """The year of birth a citizen ID encodes (century-and-sex digit, then two year digits)."""
    return 1900 + int(citizen_id[3]) // 2 * 100 + int(citizen_id[4:6])


def _year_of_the_citizen_id(current: Any, claimed: Any, record: Mapping[str, Any]) -> str | None:
    code = str(record.get("mst", ""))
    if len(code) == 12 and code.isdigit() and claimed.year == birth_year_of(code):
        return None
    return (
        "Năm sinh đề nghị không khớp với số định danh cá nhân; thông tin nhân thân được cập "
        "nhật từ Cơ sở dữ liệu quốc gia về dân cư"
    )


# Fields only an obligation record has (``GET .../nghia-vu-thue``).
OBLIGATION_ROOTS = frozenset(
    {"kyTinhThue", "soTienConNo", "ngayChotSoLieu", "ngayNopToKhaiGanNhat"}
)
TAXPAYER_RULES = {
    "tenNNT": name_rule(spelling_fix_only),
    "ngaySinh": date_rule(_year_of_the_citizen_id),
}


def tax_correction_endpoint(
    register: TaxRegister,
    book: CorrectionBook,
    find: Callable[[str], Taxpayer],
    taxpayer_view: Callable[[Taxpayer], dict[str, Any]],
    ok: Callable[[Any], Reply],
) -> WriteEndpoint:
    """``taxpayer_view`` renders as ``GET /nnt/{mst}`` does (corrections included)."""
    seed = register.dataset.seed

    def locate(call: Call, body: dict[str, Any]) -> Found:
        try:
            taxpayer = find(call.params["mst"])
        except NotFound as exc:
            raise Refused(404, exc.message) from None
        wanted = text(body, "maHoSo", required=False)
        view = taxpayer_view(taxpayer)
        about_obligation = wanted is None and root_of(body) in OBLIGATION_ROOTS
        if not about_obligation and wanted in (None, view["maHoSo"]):
            closed = "Mã số thuế đã chấm dứt hiệu lực" if taxpayer.status == "CLOSED" else None
            return Found(taxpayer.tax_code, view["maHoSo"], view, TAXPAYER_RULES, closed)
        years = [
            reference("NVT", seed, obligation.tax_year, taxpayer.person)
            for obligation, _ in register.obligations(taxpayer.person)
        ]
        if about_obligation and years:
            wanted = years[-1]  # without maHoSo: the latest year, as good as any to refuse
        if wanted not in years:
            raise Refused(404, f"Không tìm thấy hồ sơ {wanted} của mã số thuế {taxpayer.tax_code}")
        refusal = "Số liệu nghĩa vụ thuế chỉ điều chỉnh bằng tờ khai bổ sung"
        return Found(taxpayer.tax_code, wanted, {}, {}, refusal)

    def announce(found: Found, path: str, body: dict[str, Any]) -> None:
        if register.feed is not None:
            register.feed.record(
                "update", "taxpayer", found.key, found.reference, now().date(), [path]
            )

    return correction_endpoint(
        template="/tct/api/v1/nnt/{mst}/yeu-cau-dieu-chinh",
        key=KeyFrom(body_field="requestId"),
        dry_run_param="validateOnly",
        locate=locate,
        book=book,
        in_person="cơ quan thuế quản lý",
        answer=ok,
        dry_run_answer=lambda preview: Reply(
            200, {"errorCode": "00", "errorDesc": "Hợp lệ (validateOnly)", "data": preview}
        ),
        announce=announce,
    )
