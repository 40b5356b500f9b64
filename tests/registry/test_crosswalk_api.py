"""The whole crosswalk of a code list, as JSON and as CSV, checked against the reference data:
provinces-2025.csv here is a copy of shared/data/provinces-2025.csv, the authority for the
provinces' 2025 reorganisation (63 old units, 34 new)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx

from app.registry.service import prefers_csv

URL = "/v1/dictionary/codelists/province/crosswalk"
REFERENCE = Path(__file__).with_name("provinces-2025.csv")


def _reference() -> list[dict[str, str]]:
    with REFERENCE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_the_whole_province_crosswalk_matches_the_reference_table(
    client: httpx.AsyncClient,
) -> None:
    reference = _reference()
    answer = await client.get(URL)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    table = answer.json()
    assert (table["codelist"], table["from_version"], table["to_version"]) == (
        "province",
        "2008",
        "2025",
    )
    assert len(table["rows"]) == len(reference) == 63
    served = {
        row["code"]: (row["label_vi"], [(m["code"], m["label_vi"]) for m in row["maps_to"]])
        for row in table["rows"]
    }
    expected = {r["old_code"]: (r["old_name"], [(r["new_code"], r["new_name"])]) for r in reference}
    assert served == expected
    assert len({m["code"] for row in table["rows"] for m in row["maps_to"]}) == 34


async def test_the_crosswalk_downloads_as_csv_with_a_header_row(
    client: httpx.AsyncClient,
) -> None:
    reference = _reference()
    answer = await client.get(URL, headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "province-2008-2025.csv" in answer.headers["content-disposition"]
    assert answer.text.startswith(
        "from_version,from_code,from_label_vi,from_label_en,"
        "to_version,to_code,to_label_vi,to_label_en\r\n"
    )
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    assert len(rows) == 63
    assert {(r["from_code"], r["from_label_vi"], r["to_code"], r["to_label_vi"]) for r in rows} == {
        (r["old_code"], r["old_name"], r["new_code"], r["new_name"]) for r in reference
    }
    assert {(r["from_version"], r["to_version"]) for r in rows} == {("2008", "2025")}


async def test_json_stays_the_answer_unless_csv_is_preferred(client: httpx.AsyncClient) -> None:
    for accept in ("application/json", "*/*", "application/json, text/csv;q=0.5"):
        answer = await client.get(URL, headers={"Accept": accept})
        assert answer.headers["content-type"].startswith("application/json"), accept
    one = await client.get(URL, params={"code": "02"}, headers={"Accept": "text/csv"})
    assert [m["code"] for m in one.json()["maps_to"]] == ["08"]
    same_version = await client.get(URL, params={"from": "2025", "to": "2025"})
    assert len(same_version.json()["rows"]) == 34
    backwards = await client.get(URL, params={"from": "2025", "to": "2008"})
    assert (backwards.status_code, backwards.json()["code"]) == (400, "invalid_crosswalk")
    unknown = await client.get(URL, params={"to": "1999"}, headers={"Accept": "text/csv"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_version")


def test_csv_is_chosen_only_when_the_accept_header_ranks_it_first() -> None:
    assert prefers_csv("text/csv")
    assert prefers_csv("text/csv, application/json;q=0.9")
    assert not prefers_csv(None)
    assert not prefers_csv("application/json, text/csv")
    assert not prefers_csv("text/csv;q=0")
    assert not prefers_csv("text/csv;q=nonsense")
