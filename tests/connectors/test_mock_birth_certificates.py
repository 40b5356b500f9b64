"""The medical birth certificates the civil-status mock holds under the mother's citizen ID
(connectors/mocks/birth_certificates.py): over real HTTP, in the register's own envelope, and
generated from the dataset at a realistic rate, the demo couples always included."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.mocks import MockSettings
from connectors.mocks.dataset import REFERENCE_DATE, Dataset
from tests.helpers.mock_servers import MockServers

PATH = "/hotich/v1/giay-chung-sinh"
KEYS = {
    "soGiayChungSinh",
    "ngayCap",
    "me",
    "tre",
    "noiSinh",
    "coSoYTe",
    "maHoSo",
    "thoiGianCapNhat",
}


@pytest.fixture
def http() -> Any:
    with httpx.Client(timeout=10.0) as client:
        yield client


def _get(mocks: MockServers, http: httpx.Client, **params: Any) -> httpx.Response:
    url = f"{mocks.url('civil-status')}{PATH}"
    return http.get(url, headers=mocks.headers("civil-status"), params=params)


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


def _wives(dataset: Dataset, k: int) -> list[str]:
    wives = []
    for citizen_id in dataset.demo_citizens(k):
        person = dataset.person_by_id(citizen_id)
        assert person is not None and person.spouse is not None
        wife = person if person.sex == "F" else dataset.person(person.spouse)
        wives.append(wife.citizen_id)
    return wives


def test_each_demo_couple_has_the_certificate_of_a_child_born_days_ago(
    mock_servers: MockServers, http: httpx.Client
) -> None:
    dataset = mock_servers.dataset
    for wife in _wives(dataset, 5):
        answer = _get(mock_servers, http, soDinhDanhMe=wife)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["trangThai"] == "THANH_CONG"
        [certificate] = body["ketQua"]
        assert set(certificate) == KEYS
        assert certificate["me"]["soDinhDanh"] == wife
        assert certificate["me"]["hoTen"] == dataset.person_by_id(wife).full_name
        born = _day(certificate["tre"]["ngaySinh"])
        assert REFERENCE_DATE - timedelta(days=6) <= born <= REFERENCE_DATE - timedelta(days=2)
        assert born <= _day(certificate["ngayCap"]) <= REFERENCE_DATE
        assert certificate["tre"]["gioiTinh"] in ("Nam", "Nữ")
        assert certificate["noiSinh"]["maTinh"] in dataset.provinces.labels
        assert certificate["maHoSo"].startswith("GCS-")
        datetime.strptime(certificate["thoiGianCapNhat"], "%Y-%m-%dT%H:%M:%S")
        # The same answer again: generated, not drawn.
        assert _get(mock_servers, http, soDinhDanhMe=wife).json() == body


def test_a_woman_without_a_certificate_and_an_unknown_id_are_the_registers_404(
    mock_servers: MockServers, http: httpx.Client
) -> None:
    husband = mock_servers.dataset.demo_citizens(1)[0]
    for nobody in (husband, "001085012345"):
        answer = _get(mock_servers, http, soDinhDanhMe=nobody)
        assert answer.status_code == 404
        assert answer.json()["trangThai"] == "LOI"
        assert answer.json()["loi"]["ma"] == "HT-404"


def test_all_certificates_are_listed_by_offset_until_a_short_page(
    mock_servers: MockServers, http: httpx.Client
) -> None:
    whole = _get(mock_servers, http, batDau=0, soLuong=500).json()
    assert whole["trangThai"] == "THANH_CONG" and "tongSoBanGhi" not in whole
    items = whole["ketQua"]
    assert 10 <= len(items) < 500  # one short page: the register holds no more
    paged: list[dict[str, Any]] = []
    while True:
        page = _get(mock_servers, http, batDau=len(paged), soLuong=4).json()["ketQua"]
        paged += page
        if len(page) < 4:
            break
    assert paged == items
    mothers = {item["me"]["soDinhDanh"] for item in items}
    assert set(_wives(mock_servers.dataset, 5)) <= mothers
    for mother in mothers:
        own = _get(mock_servers, http, soDinhDanhMe=mother).json()["ketQua"]
        assert own == [item for item in items if item["me"]["soDinhDanh"] == mother]
    refused = _get(mock_servers, http, soLuong=0)
    assert refused.status_code == 400 and refused.json()["loi"]["ma"] == "HT-400"


def test_recent_births_are_a_realistic_share_of_women_of_child_bearing_age() -> None:
    dataset = Dataset(MockSettings())
    demo = dataset.demo_mothers()
    women = [
        p
        for p in dataset.iter_persons()
        if p.sex == "F"
        and not p.is_deceased
        and 18 <= _age_on(p.date_of_birth, REFERENCE_DATE) <= 44
    ]
    mothers = [p for p in women if p.index not in demo and dataset.birth_certificates(p.index)]
    assert 0.001 <= len(mothers) / len(women) <= 0.02
    held = dataset.certificates_held(0, dataset.size)
    assert {c.mother for c in held} == {p.index for p in mothers} | demo
    for certificate in held:
        born = certificate.child_date_of_birth
        assert REFERENCE_DATE - timedelta(days=60) < born <= REFERENCE_DATE
        assert born <= certificate.issued <= REFERENCE_DATE
        if certificate.mother not in demo:
            # No mother had another child in the year before.
            family = dataset.person(certificate.mother).unit
            children = [] if family is None else dataset.iter_persons(6 * family, 6 * family + 6)
            assert all(
                c.date_of_birth <= born - timedelta(days=365)
                for c in children
                if c.mother == certificate.mother
            )


def test_twins_have_one_certificate_each_in_order_of_birth() -> None:
    dataset = Dataset(MockSettings(persons=100_000))
    twins = next(
        held
        for index in range(3, dataset.size, 6)  # the families' wives
        if len(held := dataset.birth_certificates(index)) == 2
    )
    first, second = twins
    assert (first.ordinal, second.ordinal) == (0, 1)
    assert first.child_date_of_birth == second.child_date_of_birth
    assert first.certificate_number != second.certificate_number
