"""Writes to the tax mock: recording a personal income tax finalisation (quyết toán thuế).

=====================================================  ===================================
POST /tct/api/v1/nnt/{mst}/quyet-toan[?validateOnly=true]  record the year's finalisation
=====================================================  ===================================

Idempotency key: the body field ``requestId``. The body::

    {"requestId": "...", "kyTinhThue": 2025, "ngayNop": "dd/mm/yyyy",
     "soThuePhaiNop": 12000000, "soThueDaNop": 10000000}

Amounts are whole dong. The year's obligation becomes ``HOAN_THANH`` (nothing owed) or
``CON_NO`` with the balance, filed on ``ngayNop``, and ``GET .../nghia-vu-thue`` says so.
Answers: 200 ``errorCode`` ``"00"``; ``TCT404`` for an unknown tax code, ``TCT422`` for an
invalid body, ``TCT409`` when the taxpayer's code is closed or the year is already finalised
(a second one is an amendment, which this register takes on paper): all final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from connectors.mocks.dataset import Dataset, TaxObligation, Taxpayer
from connectors.mocks.formats import dmy, reference
from connectors.mocks.server import Call, NotFound, Refused, Reply
from connectors.mocks.writes import KeyFrom, Plan, WriteEndpoint, day, now

OBLIGATION_OF = {"FULFILLED": "HOAN_THANH", "OUTSTANDING": "CON_NO"}


@dataclass(slots=True)
class TaxRegister:
    """Finalisations recorded since the dataset was generated, by (person, tax year)."""

    dataset: Dataset
    finalised: dict[tuple[int, int], tuple[TaxObligation, datetime]] = field(default_factory=dict)

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
        due, paid = _amount(body, "soThuePhaiNop"), _amount(body, "soThueDaNop")
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
        balance = max(0, due - paid)
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
            "soThueNopThua": max(0, paid - due),
            "maHoSo": reference("QT", seed, year, taxpayer.person),
        }

        def apply() -> Reply:
            stamp = now()
            recorded = replace(obligation, as_of_date=stamp.date())
            register.finalised[(taxpayer.person, year)] = (recorded, stamp)
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
