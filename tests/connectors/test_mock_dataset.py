"""The synthetic population behind the mocks: deterministic, consistent, lazily generated,
with deliberate defects at the configured rates."""

from __future__ import annotations

import random
import tracemalloc
from datetime import date

import pytest

from connectors.mocks import MockSettings
from connectors.mocks.dataset import REFERENCE_DATE, Dataset, provinces
from dictionary.formats import decode_citizen_id, is_citizen_id, is_tax_code


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(MockSettings())


def _age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_the_same_seed_gives_the_same_people_and_another_seed_other_people() -> None:
    first, again = Dataset(MockSettings(seed=7)), Dataset(MockSettings(seed=7))
    other = Dataset(MockSettings(seed=8))
    sample = range(0, 10_000, 97)
    assert [first.person(i) for i in sample] == [again.person(i) for i in sample]
    assert [first.conflict(i) for i in sample] == [again.conflict(i) for i in sample]
    assert first.demo_citizens(5) == again.demo_citizens(5)
    assert [first.citizen_id(i) for i in sample] != [other.citizen_id(i) for i in sample]


def test_citizen_ids_follow_the_national_format(dataset: Dataset) -> None:
    old_codes = set(provinces().old_codes)
    for person in dataset.iter_persons(0, 3000):
        assert is_citizen_id(person.citizen_id)
        parts = decode_citizen_id(person.citizen_id)
        assert parts is not None
        assert parts.birth_year == person.date_of_birth.year
        assert parts.sex == person.sex
        assert parts.province_code == person.birth_province
        assert person.birth_province in old_codes


def test_citizen_ids_are_unique_and_lead_back_to_their_person(dataset: Dataset) -> None:
    ids = [p.citizen_id for p in dataset.iter_persons()]
    assert len(set(ids)) == dataset.size
    for index in range(0, dataset.size, 37):
        assert dataset.index_of(ids[index]) == index
    assert dataset.index_of("001085012345") is None  # well formed, not in the dataset
    assert dataset.index_of("12345") is None
    assert dataset.index_of("00108501234x") is None


def test_a_million_persons_are_generated_lazily_in_little_memory() -> None:
    tracemalloc.start()
    try:
        big = Dataset(MockSettings(persons=1_000_000))
        rng = random.Random(1)
        for index in [999_999, 0, *rng.sample(range(1_000_000), 1_000)]:
            person = big.person(index)
            assert big.index_of(person.citizen_id) == index
        assert len(big.demo_citizens(3)) == 3
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


def test_names_are_vietnamese_in_nfc_and_most_people_are_kinh(dataset: Dataset) -> None:
    import unicodedata

    persons = list(dataset.iter_persons(0, 2000))
    assert all(unicodedata.is_normalized("NFC", p.full_name) for p in persons)
    assert all(len(p.full_name.split()) >= 3 for p in persons)
    kinh = sum(p.ethnicity == "01" for p in persons) / len(persons)
    assert 0.75 < kinh < 0.95


def test_births_link_to_two_parents_who_are_persons(dataset: Dataset) -> None:
    linked = 0
    for person in dataset.iter_persons(0, 3000):
        if person.father is None:
            assert person.mother is None
            continue
        assert person.mother is not None
        linked += 1
        father, mother = dataset.person(person.father), dataset.person(person.mother)
        assert (father.sex, mother.sex) == ("M", "F")
        assert father.date_of_birth < person.date_of_birth
        assert mother.date_of_birth < person.date_of_birth
        assert dataset.birth_registration_date(person.index) >= person.date_of_birth
    assert linked > 1500


def test_marriages_link_two_persons_of_legal_age(dataset: Dataset) -> None:
    seen = 0
    for ordinal in range(dataset.marriage_count):
        marriage = dataset.marriage(ordinal)
        husband, wife = dataset.person(marriage.husband), dataset.person(marriage.wife)
        assert (husband.sex, wife.sex) == ("M", "F")
        assert husband.spouse == wife.index and wife.spouse == husband.index
        when = marriage.registration_date
        # The civil-status register's own dates of birth may differ (a conflict); both pass.
        for born in (husband.date_of_birth, dataset.civil_date_of_birth(husband.index)):
            assert _age_on(born, when) >= 20
        for born in (wife.date_of_birth, dataset.civil_date_of_birth(wife.index)):
            assert _age_on(born, when) >= 18
        assert marriage in dataset.marriages_of(husband.index)
        assert marriage in dataset.marriages_of(wife.index)
        seen += 1
    assert seen == dataset.marriage_count > 0


def test_the_deceased_have_a_death_registration_and_no_residence(dataset: Dataset) -> None:
    deceased = [dataset.person(i) for i in dataset.deceased(0, 200)]
    assert deceased and all(p.is_deceased for p in deceased)
    for person in deceased:
        registered = dataset.death_registration_date(person.index)
        assert person.date_of_death is not None and registered is not None
        assert person.date_of_birth < person.date_of_death <= registered <= REFERENCE_DATE
        assert dataset.residence(person.index) is None
        spouse = None if person.spouse is None else dataset.person(person.spouse)
        if spouse is not None and not spouse.is_deceased:
            assert spouse.marital_status == "WIDOWED"


def test_land_owners_and_taxpayers_are_persons(dataset: Dataset) -> None:
    owners = taxpayers = 0
    for index in range(0, 3000):
        for parcel in dataset.parcels_of(index):
            owners += 1
            assert parcel.owner == index and parcel.area_m2 > 0
        taxpayer = dataset.taxpayer(index)
        if taxpayer is not None:
            taxpayers += 1
            assert taxpayer.tax_code == dataset.citizen_id(index)
            assert is_tax_code(taxpayer.legacy_tax_code)
            assert dataset.taxpayer_by_code(taxpayer.legacy_tax_code) == taxpayer
            assert dataset.taxpayer_by_code(taxpayer.tax_code) == taxpayer
    assert owners > 300 and taxpayers > 1000


def test_the_conflict_rate_is_the_configured_rate(dataset: Dataset) -> None:
    conflicts = dataset.conflict_subjects()
    assert len(conflicts) == round(dataset.size * 0.01)
    # A random sample of 2,000 lands close to 1% too.
    sample = random.Random(3).sample(range(dataset.size), 2000)
    rate = sum(dataset.conflict(i) is not None for i in sample) / len(sample)
    assert 0.004 <= rate <= 0.016

    denser = Dataset(MockSettings(conflict_rate=0.03))
    assert len(denser.conflict_subjects()) == round(dataset.size * 0.03)


def test_a_conflict_is_a_name_spelt_differently_or_another_birth_date(dataset: Dataset) -> None:
    kinds = set()
    for citizen_id in dataset.conflict_subjects():
        assert dataset.has_conflict(citizen_id)
        index = dataset.index_of(citizen_id)
        assert index is not None
        conflict = dataset.conflict(index)
        assert conflict is not None
        kinds.add(conflict.kind)
        person = dataset.person(index)
        if conflict.kind == "full_name":
            assert dataset.civil_name(index) != person.full_name
            assert dataset.civil_name(index).lower() != person.full_name.lower()
        else:
            other = dataset.civil_date_of_birth(index)
            assert other != person.date_of_birth and other.year == person.date_of_birth.year
    assert kinds == {"full_name", "date_of_birth"}
    clean = next(p for p in dataset.iter_persons() if not dataset.has_conflict(p.citizen_id))
    assert dataset.civil_name(clean.index) == clean.full_name


def test_missing_and_stale_records_come_at_their_configured_rates() -> None:
    dataset = Dataset(MockSettings(missing_optional_rate=0.1, stale_rate=0.2))
    for system in ("population", "civil-status", "land", "tax"):
        missing = sum(dataset.missing_optional(i, system) for i in range(dataset.size))
        stale = sum(dataset.is_stale(i, system) for i in range(dataset.size))
        assert 0.08 < missing / dataset.size < 0.12
        assert 0.18 < stale / dataset.size < 0.22
    old = [
        dataset.last_updated(i, "population", date(1990, 1, 1))
        for i in range(2000)
        if dataset.is_stale(i, "population")
    ]
    assert old and all(moment.year <= REFERENCE_DATE.year - 5 for moment in old)


def test_demo_citizens_are_on_record_everywhere_and_carry_no_defect(dataset: Dataset) -> None:
    citizens = dataset.demo_citizens(10)
    assert len(set(citizens)) == 10
    for citizen_id in citizens:
        index = dataset.index_of(citizen_id)
        assert index is not None
        person = dataset.person(index)
        assert not person.is_deceased and person.marital_status == "MARRIED"
        assert person.father is not None and person.mother is not None
        assert dataset.residence(index) is not None
        assert dataset.marriages_of(index)
        assert any(p.certificate_number for p in dataset.parcels_of(index))
        taxpayer = dataset.taxpayer(index)
        assert taxpayer is not None and taxpayer.status == "ACTIVE"
        assert dataset.tax_obligations(index)
        assert not dataset.has_defect(index) and not dataset.has_conflict(citizen_id)


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="persons"):
        MockSettings(persons=1_000_001)
    with pytest.raises(ValueError, match="conflict_rate"):
        MockSettings(conflict_rate=1.5)
