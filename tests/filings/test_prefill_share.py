"""How much of each shipped procedure's dossier the state fills for a demo citizen (issue 10,
item 4): the table bench/prefill_share.py prints, as a product property. Its docstring
defines the share."""

from __future__ import annotations

from typing import Any

import pytest

from bench.prefill_share import Share, measure, total
from dictionary import load_dictionary
from tests.helpers.filings import Portal

# (fields, pre-filled, derived, typed) of one filing per procedure with the demo data.
EXPECTED = {
    "birth-registration": (28, 21, 5, 2),
    "death-registration": (21, 14, 1, 6),
    "land-use-right-transfer": (23, 19, 1, 3),
    "marital-status-certificate": (12, 11, 0, 1),
    "marriage-registration": (18, 16, 1, 1),
    "permanent-residence-registration": (25, 20, 3, 2),
    "personal-income-tax-finalisation": (15, 12, 0, 3),
}


def _row(share: Share) -> tuple[int, int, int, int]:
    return share.fields, share.prefilled, share.derived, share.typed


@pytest.fixture
async def rows(portal: Portal, sources: Any) -> list[Share]:
    return await measure(portal, sources.dataset)


async def test_one_filing_per_shipped_procedure_is_measured(rows: list[Share]) -> None:
    assert sorted(r.procedure for r in rows) == sorted(load_dictionary().procedures)


async def test_each_procedure_asks_only_what_no_register_holds(rows: list[Share]) -> None:
    assert {r.procedure: _row(r) for r in rows} == EXPECTED
    assert _row(total(rows)) == (142, 113, 11, 18)
    # 75.8% before derived fields; 83.5% before the medical birth certificate was pulled from
    # the civil-status register.
    assert round(total(rows).share, 3) == 0.873


async def test_the_state_fills_at_least_85_percent_of_the_demo_dossiers(
    rows: list[Share],
) -> None:
    assert total(rows).share >= 0.85
