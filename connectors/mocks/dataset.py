"""The synthetic population behind the four mock source systems.

Everything is derived lazily from ``(seed, index)``: nothing holds the whole population, so a
million persons cost no more memory than ten thousand. Person ``i`` lives in *unit*
``i // 6``, three generations of one family:

====  ===========================================================================
slot  who
====  ===========================================================================
0, 1  the grandparents, married to each other
2     their son, the household head
3     his wife, the daughter of the *next* unit's grandparents (so births link
      across units and marriages link two real persons)
4, 5  the couple's children, born after their parents married
====  ===========================================================================

Persons past the last whole unit are single adults with no family links.

The citizen ID embeds the index in its six-digit serial through an invertible permutation,
so a citizen ID leads back to its person in constant time. The rest of the ID follows
Circular 59/2021/TT-BCA: the pre-2025 province of birth registration, the century-and-sex
digit and the two-digit year of birth.

Quality defects are deterministic and queryable, so tests can predict them:

* ``conflict_rate``: the civil-status register spells the person's name differently (a
  diacritic dropped) or holds another date of birth (day and month swapped, or a few days
  off). Exactly ``round(1000 * rate)`` persons of every block of 1,000 indices carry one.
* ``missing_optional_rate``: per record and system, the optional fields are left out.
* ``stale_rate``: per record and system, the record was last updated years ago.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

import yaml
from stdnum.vn import mst

from connectors.mocks import names
from connectors.mocks.settings import MockSettings
from dictionary.loader import NATIONAL_PATH

Sex = Literal["M", "F"]
SystemName = Literal["population", "civil-status", "land", "tax"]
ConflictKind = Literal["full_name", "date_of_birth"]

# The dataset's "today": fixed, so that the data does not change from one day to the next.
REFERENCE_DATE = date(2026, 10, 1)
UNIT_SIZE = 6
CONFLICT_BLOCK = 1_000

# Medical birth certificates: the births of the last 60 days (the time the law gives to
# register one, Law on Civil Status 2014, Art. 15), at about 9 % a year for a married woman of
# 18 to 44 and 1.2 % for an unmarried one; about 1.5 % of them twins.
RECENT_BIRTH_DAYS = 60
RECENT_BIRTH_RATE_MARRIED = 0.015
RECENT_BIRTH_RATE_UNMARRIED = 0.002
TWIN_RATE = 0.015
# The couples of the first DEMO_MOTHERS demo citizens have just had a child, so that the demo
# and the tests can register a birth from its certificate.
DEMO_MOTHERS = 10

_SERIAL_SPACE = 1_000_000
_SERIAL_MULTIPLIER = 387_419  # odd and not a multiple of 5: invertible modulo 10**6
_SERIAL_INVERSE = pow(_SERIAL_MULTIPLIER, -1, _SERIAL_SPACE)
_MST_SPACE = 10_000_000
_MST_MULTIPLIER = 7_368_787
_MST_INVERSE = pow(_MST_MULTIPLIER, -1, _MST_SPACE)
_PARCEL_SPACE = 99_999 * 400
_PARCEL_MULTIPLIER = 1_234_567
_MAX_PARCELS = 3

_SYSTEM_SALT: dict[str, int] = {"population": 11, "civil-status": 23, "land": 37, "tax": 41}
_MASK64 = (1 << 64) - 1


def stable_hash(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 rounds): cheap, stable across runs and platforms."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = ((x ^ (part & _MASK64)) * 0xBF58476D1CE4E5B9) & _MASK64
        x ^= x >> 31
        x = (x * 0x94D049BB133111EB) & _MASK64
        x ^= x >> 29
    return x


def _uniform(*parts: int) -> float:
    return stable_hash(*parts) / 2.0**64


def _rng(*parts: int) -> random.Random:
    return random.Random(stable_hash(*parts))


def _day_between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([value for value, _ in table], weights=[w for _, w in table])[0]


# ---------------------------------------------------------------------------------------------
# Provinces: pre-2025 codes for citizen IDs and hometowns, today's codes for everything else.


@dataclass(frozen=True, slots=True)
class Provinces:
    old_codes: tuple[str, ...]
    crosswalk: dict[str, str]  # pre-2025 code -> code in force since 2025-07-01
    labels: dict[str, str]  # code in force -> Vietnamese name

    def current(self, old_code: str) -> str:
        return self.crosswalk[old_code]


@lru_cache(maxsize=1)
def provinces() -> Provinces:
    raw = yaml.safe_load((NATIONAL_PATH / "codelists" / "province.yaml").read_text("utf-8"))
    before, after = raw["versions"][0], raw["versions"][-1]
    return Provinces(
        old_codes=tuple(str(e["code"]) for e in before["entries"]),
        crosswalk={str(k): str(v) for k, v in after["crosswalk_from_previous"].items()},
        labels={str(e["code"]): str(e["label_vi"]) for e in after["entries"]},
    )


def _province_weights(codes: tuple[str, ...]) -> list[int]:
    big = {"01": 9, "79": 10, "31": 3, "48": 2, "92": 2, "38": 4, "40": 4, "75": 3, "74": 3}
    return [big.get(code, 1) for code in codes]


# ---------------------------------------------------------------------------------------------
# The domain objects, in the dictionary's terms; each mock renders them in its own format.


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    citizen_id: str
    full_name: str
    date_of_birth: date
    sex: Sex
    ethnicity: str
    birth_province: str  # pre-2025 code, as in the citizen ID
    hometown_province: str  # pre-2025 code
    marital_status: str  # SINGLE | MARRIED | DIVORCED | WIDOWED
    date_of_death: date | None
    father: int | None
    mother: int | None
    spouse: int | None
    unit: int | None  # family unit, which is also the household

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None


@dataclass(frozen=True, slots=True)
class Marriage:
    registration_number: str
    registration_date: date
    registration_province: str  # code in force
    husband: int
    wife: int


@dataclass(frozen=True, slots=True)
class Residence:
    citizen_id: str
    residence_type: Literal["PERMANENT", "TEMPORARY"]
    address_line: str
    province_code: str  # code in force
    registered_on: date
    expires_on: date | None
    household_id: str | None
    relationship_to_head: str | None


@dataclass(frozen=True, slots=True)
class Household:
    household_id: str
    head: int
    address_line: str
    province_code: str
    members: tuple[tuple[int, str], ...]  # (person index, relationship to head)


@dataclass(frozen=True, slots=True)
class Parcel:
    parcel_id: str
    map_sheet_number: int
    parcel_number: int
    province_code: str
    address_line: str
    area_m2: float
    land_use_purpose: str
    land_use_term: str
    land_use_term_end: date | None
    owner: int
    certificate_number: str | None
    certificate_issued: date | None


@dataclass(frozen=True, slots=True)
class Taxpayer:
    person: int
    tax_code: str  # the citizen ID, since 2025
    legacy_tax_code: str  # the 10-digit code issued before 2025
    tax_office_code: str
    province_code: str
    registration_date: date
    status: str  # taxpayer_status code


@dataclass(frozen=True, slots=True)
class TaxObligation:
    tax_code: str
    tax_year: int
    obligation_status: str
    outstanding_amount: int
    last_filing_date: date | None
    as_of_date: date


@dataclass(frozen=True, slots=True)
class Conflict:
    """How the civil-status register disagrees with the population database."""

    kind: ConflictKind
    population_value: str
    civil_status_value: str


@dataclass(frozen=True, slots=True)
class BirthCertificate:
    """A medical birth certificate (giấy chứng sinh): issued by the health facility where the
    child was born and sent to the civil-status register, which holds it under the mother's
    citizen ID (Decree 63/2024/ND-CP). The child is in no register until the birth is."""

    mother: int
    ordinal: int  # 0; 1 for the second of twins
    certificate_number: str
    issued: date
    child_date_of_birth: date
    child_sex: Sex
    province_code: str  # code in force: where the child was born
    facility: str


@dataclass(frozen=True, slots=True)
class _Core:
    """A unit's grandparents and the two children they had, drawn from the unit's own stream."""

    province: str  # pre-2025
    ethnicity: str
    surname: str
    grandfather_name: str
    grandfather_dob: date
    grandfather_death: date | None
    grandmother_name: str
    grandmother_dob: date
    grandmother_death: date | None
    marriage_date: date
    marriage_number: str
    son_name: str
    son_dob: date
    daughter_name: str
    daughter_dob: date


@dataclass(frozen=True, slots=True)
class _Unit:
    persons: tuple[Person, ...]
    marriages: tuple[Marriage, Marriage]  # the grandparents', the parents'
    household: Household
    street_address: str


# ---------------------------------------------------------------------------------------------


class Dataset:
    """The synthetic population; see the module docstring for its shape."""

    def __init__(self, settings: MockSettings | None = None) -> None:
        self.settings = settings or MockSettings()
        self.size = self.settings.persons
        self.seed = self.settings.seed
        self.units = self.size // UNIT_SIZE if self.size >= 2 * UNIT_SIZE else 0
        self.provinces = provinces()
        self._province_weights = _province_weights(self.provinces.old_codes)
        self._serial_offset = stable_hash(self.seed, 1) % _SERIAL_SPACE
        self._conflict_quota = round(CONFLICT_BLOCK * self.settings.conflict_rate)
        # Per-instance caches: a unit is rebuilt at most once while it stays in use.
        self._core = lru_cache(maxsize=8192)(self._build_core)
        self._unit = lru_cache(maxsize=8192)(self._build_unit)
        self._single = lru_cache(maxsize=4096)(self._build_single)
        self._conflict_block = lru_cache(maxsize=1024)(self._build_conflict_block)
        self._residence = lru_cache(maxsize=16_384)(self._build_residence)
        self._deceased: list[int] = []  # indices of the deceased found so far, in order
        self._deceased_scanned = 0
        self._demo_mothers: frozenset[int] | None = None
        self._certificates: list[tuple[int, int]] = []  # (mother, ordinal) found so far
        self._certificates_scanned = 0

    # -- identity ---------------------------------------------------------------------------

    def serial_of(self, index: int) -> int:
        return (index * _SERIAL_MULTIPLIER + self._serial_offset) % _SERIAL_SPACE

    def index_of(self, citizen_id: str) -> int | None:
        """The index of the person with this citizen ID, or None if there is none."""
        if len(citizen_id) != 12 or not citizen_id.isascii() or not citizen_id.isdigit():
            return None
        serial = int(citizen_id[6:])
        index = ((serial - self._serial_offset) * _SERIAL_INVERSE) % _SERIAL_SPACE
        if index >= self.size or self.person(index).citizen_id != citizen_id:
            return None
        return index

    def citizen_id(self, index: int) -> str:
        return self.person(index).citizen_id

    def _make_citizen_id(self, index: int, province: str, dob: date, sex: Sex) -> str:
        century_digit = (dob.year // 100 - 19) * 2 + (1 if sex == "F" else 0)
        return f"0{province}{century_digit}{dob.year % 100:02d}{self.serial_of(index):06d}"

    def legacy_tax_code_of(self, index: int) -> str:
        """A valid 10-digit tax code (with check digit) issued to this person before 2025."""
        body = f"8{(index * _MST_MULTIPLIER) % _MST_SPACE:07d}"
        for ninth in range(1, 10):  # not 0: digits 3-9 must not all be zero
            check = mst.calc_check_digit(f"{body}{ninth}")
            if len(check) == 1:
                return f"{body}{ninth}{check}"
        raise AssertionError("unreachable: some ninth digit always gives a one-digit check")

    def index_of_legacy_tax_code(self, code: str) -> int | None:
        if len(code) != 10 or not code.isdigit() or code[0] != "8":
            return None
        index = (int(code[1:8]) * _MST_INVERSE) % _MST_SPACE
        if index >= self.size or self.legacy_tax_code_of(index) != code:
            return None
        return index

    # -- persons ----------------------------------------------------------------------------

    def person(self, index: int) -> Person:
        if not 0 <= index < self.size:
            raise IndexError(index)
        unit, slot = divmod(index, UNIT_SIZE)
        if unit < self.units:
            return self._unit(unit).persons[slot]
        return self._single(index)

    def person_by_id(self, citizen_id: str) -> Person | None:
        index = self.index_of(citizen_id)
        return None if index is None else self.person(index)

    def iter_persons(self, start: int = 0, stop: int | None = None) -> Iterator[Person]:
        for index in range(max(start, 0), min(self.size if stop is None else stop, self.size)):
            yield self.person(index)

    def _name(self, rng: random.Random, surname: str, sex: Sex, born: int) -> str:
        if sex == "M":
            middle = names.MALE_MIDDLE_OLD if born < 1980 else names.MALE_MIDDLE_NEW
            given = names.MALE_GIVEN
        else:
            middle = names.FEMALE_MIDDLE_OLD if born < 1980 else names.FEMALE_MIDDLE_NEW
            given = names.FEMALE_GIVEN
        middle_name, given_name = rng.choice(middle), rng.choice(given)
        if given_name == middle_name:  # "Bảo Bảo" is not a name
            given_name = given[(given.index(given_name) + 1) % len(given)]
        return f"{surname} {middle_name} {given_name}"

    def _build_core(self, unit: int) -> _Core:
        rng = _rng(self.seed, 101, unit)
        province = rng.choices(self.provinces.old_codes, weights=self._province_weights)[0]
        surname = _weighted(rng, names.SURNAMES)
        gf_dob = _day_between(rng, date(1935, 1, 1), date(1955, 12, 31))
        gm_dob = _day_between(
            rng, gf_dob - timedelta(days=2 * 365), gf_dob + timedelta(days=6 * 365)
        )
        earliest = max(_years_after(gf_dob, 21), _years_after(gm_dob, 19))
        marriage = _day_between(rng, earliest, _years_after(earliest, 5))
        son_dob = _day_between(rng, marriage + timedelta(days=300), _years_after(marriage, 8))
        daughter_dob = _day_between(rng, marriage + timedelta(days=300), _years_after(marriage, 9))
        death_window = (date(2008, 1, 1), REFERENCE_DATE - timedelta(days=45))
        gf_death = _day_between(rng, *death_window) if rng.random() < 0.3 else None
        gm_death = _day_between(rng, *death_window) if rng.random() < 0.2 else None
        return _Core(
            province=province,
            ethnicity=_weighted(rng, names.ETHNIC_GROUPS),
            surname=surname,
            grandfather_name=self._name(rng, surname, "M", gf_dob.year),
            grandfather_dob=gf_dob,
            grandfather_death=gf_death,
            grandmother_name=self._name(rng, _weighted(rng, names.SURNAMES), "F", gm_dob.year),
            grandmother_dob=gm_dob,
            grandmother_death=gm_death,
            marriage_date=marriage,
            marriage_number=f"{rng.randint(1, 400)}/{marriage.year}",
            son_name=self._name(rng, surname, "M", son_dob.year),
            son_dob=son_dob,
            daughter_name=self._name(rng, surname, "F", daughter_dob.year),
            daughter_dob=daughter_dob,
        )

    def _build_unit(self, unit: int) -> _Unit:
        core = self._core(unit)
        in_laws_unit = (unit + 1) % self.units
        in_laws = self._core(in_laws_unit)
        rng = _rng(self.seed, 202, unit)
        base = unit * UNIT_SIZE
        cur = self.provinces.current

        earliest = max(_years_after(core.son_dob, 21), _years_after(in_laws.daughter_dob, 19))
        marriage = _day_between(rng, earliest, _years_after(earliest, 6))
        marriage = min(marriage, REFERENCE_DATE - timedelta(days=2 * 365))
        latest_birth = REFERENCE_DATE - timedelta(days=60)
        kids: list[tuple[date, Sex, str]] = []
        previous = marriage + timedelta(days=280)
        for _ in range(2):
            dob = _day_between(rng, previous, min(_years_after(previous, 6), latest_birth))
            sex: Sex = "M" if rng.random() < 0.51 else "F"
            kids.append((dob, sex, self._name(rng, core.surname, sex, dob.year)))
            previous = min(dob + timedelta(days=400), latest_birth)
        last_kid = max(k[0] for k in kids)
        late_window = (max(last_kid, marriage) + timedelta(days=30), latest_birth)
        father_death = _day_between(rng, *late_window) if rng.random() < 0.02 else None
        mother_death = _day_between(rng, *late_window) if rng.random() < 0.01 else None

        def status(own_death: date | None, partner_death: date | None) -> str:
            if own_death is None and partner_death is not None:
                return "WIDOWED"
            return "MARRIED"

        gp_status = (
            status(core.grandfather_death, core.grandmother_death),
            status(core.grandmother_death, core.grandfather_death),
        )
        parents_status = (status(father_death, mother_death), status(mother_death, father_death))
        specs: list[tuple[str, date, Sex, str, str, str | None, date | None]] = [
            # name, dob, sex, birth province, ethnicity, marital status, death
            (core.grandfather_name, core.grandfather_dob, "M", core.province, core.ethnicity,
             gp_status[0], core.grandfather_death),
            (core.grandmother_name, core.grandmother_dob, "F", core.province, core.ethnicity,
             gp_status[1], core.grandmother_death),
            (core.son_name, core.son_dob, "M", core.province, core.ethnicity,
             parents_status[0], father_death),
            (in_laws.daughter_name, in_laws.daughter_dob, "F", in_laws.province,
             in_laws.ethnicity, parents_status[1], mother_death),
        ]  # fmt: skip
        for dob, sex, name in kids:
            specs.append((name, dob, sex, core.province, core.ethnicity, "SINGLE", None))
        in_laws_base = in_laws_unit * UNIT_SIZE
        links: list[tuple[int | None, int | None, int | None]] = [
            (None, None, base + 1),
            (None, None, base),
            (base, base + 1, base + 3),
            (in_laws_base, in_laws_base + 1, base + 2),
            (base + 2, base + 3, None),
            (base + 2, base + 3, None),
        ]
        persons = tuple(
            Person(
                index=base + slot,
                citizen_id=self._make_citizen_id(base + slot, province, dob, sex),
                full_name=name,
                date_of_birth=dob,
                sex=sex,
                ethnicity=ethnicity,
                birth_province=province,
                hometown_province=core.province if slot != 3 else in_laws.province,
                marital_status=marital or "SINGLE",
                date_of_death=death,
                father=links[slot][0],
                mother=links[slot][1],
                spouse=links[slot][2],
                unit=unit,
            )
            for slot, (name, dob, sex, province, ethnicity, marital, death) in enumerate(specs)
        )
        current = cur(core.province)
        marriages = (
            Marriage(core.marriage_number, core.marriage_date, current,
                     base, base + 1),
            Marriage(f"{rng.randint(1, 400)}/{marriage.year}", marriage, current,
                     base + 2, base + 3),
        )  # fmt: skip
        street = self._street_address(rng, core.province)
        return _Unit(
            persons=persons,
            marriages=marriages,
            household=self._household(unit, persons, street, current),
            street_address=street,
        )

    def _street_address(self, rng: random.Random, province: str) -> str:
        label = self.provinces.labels[self.provinces.current(province)]
        place = rng.choice(names.PLACES)
        if province in {"01", "79", "31", "48", "92"} or rng.random() < 0.3:
            street = rng.choice(names.STREETS)
            return f"Số {rng.randint(1, 250)} đường {street}, phường {place}, {label}"
        return f"Thôn {rng.choice(names.VILLAGES)} {rng.randint(1, 9)}, xã {place}, {label}"

    _RELATIONSHIPS: dict[int, tuple[str, ...]] = {
        # head slot -> relationship of slots 0..5 to the head
        2: ("PARENT", "PARENT", "HEAD", "SPOUSE", "CHILD", "CHILD"),
        3: ("PARENT_IN_LAW", "PARENT_IN_LAW", "SPOUSE", "HEAD", "CHILD", "CHILD"),
        0: ("HEAD", "SPOUSE", "CHILD", "CHILD_IN_LAW", "GRANDCHILD", "GRANDCHILD"),
        1: ("SPOUSE", "HEAD", "CHILD", "CHILD_IN_LAW", "GRANDCHILD", "GRANDCHILD"),
        4: ("GRANDPARENT", "GRANDPARENT", "PARENT", "PARENT", "HEAD", "SIBLING"),
        5: ("GRANDPARENT", "GRANDPARENT", "PARENT", "PARENT", "SIBLING", "HEAD"),
    }

    def _household(
        self, unit: int, persons: tuple[Person, ...], address: str, province: str
    ) -> Household:
        at_home = [not p.is_deceased and not self._temporary_resident(p) for p in persons]
        head_slot = next((s for s in (2, 3, 0, 1, 4, 5) if at_home[s]), 2)
        relationships = self._RELATIONSHIPS[head_slot]
        members = tuple(
            (p.index, relationships[p.index % UNIT_SIZE])
            for p in persons
            if at_home[p.index % UNIT_SIZE]
        )
        return Household(
            household_id=f"{province}{unit:08d}",
            head=persons[head_slot].index,
            address_line=address,
            province_code=province,
            members=members,
        )

    def _build_single(self, index: int) -> Person:
        rng = _rng(self.seed, 303, index)
        province = rng.choices(self.provinces.old_codes, weights=self._province_weights)[0]
        sex: Sex = "M" if rng.random() < 0.5 else "F"
        dob = _day_between(rng, date(1950, 1, 1), date(2005, 12, 31))
        return Person(
            index=index,
            citizen_id=self._make_citizen_id(index, province, dob, sex),
            full_name=self._name(rng, _weighted(rng, names.SURNAMES), sex, dob.year),
            date_of_birth=dob,
            sex=sex,
            ethnicity=_weighted(rng, names.ETHNIC_GROUPS),
            birth_province=province,
            hometown_province=province,
            marital_status="SINGLE",
            date_of_death=None,
            father=None,
            mother=None,
            spouse=None,
            unit=None,
        )

    # -- population: residence and household ---------------------------------------------------

    def _temporary_resident(self, person: Person) -> bool:
        """Some grown children live elsewhere on a temporary registration."""
        adult = _years_after(person.date_of_birth, 18) <= REFERENCE_DATE
        slot = person.index % UNIT_SIZE
        return (
            person.unit is not None
            and slot >= 4
            and adult
            and _uniform(self.seed, 404, person.index) < 0.08
        )

    def residence(self, index: int) -> Residence | None:
        """The person's residence registration; None for the deceased."""
        return self._residence(index)

    def _build_residence(self, index: int) -> Residence | None:
        person = self.person(index)
        if person.is_deceased:
            return None
        rng = _rng(self.seed, 505, index)
        earliest = max(person.date_of_birth + timedelta(days=20), date(2008, 1, 1))
        registered = _day_between(rng, earliest, REFERENCE_DATE - timedelta(days=30))
        if person.unit is None:
            street = self._street_address(rng, person.birth_province)
            province = self.provinces.current(person.birth_province)
            return Residence(person.citizen_id, "PERMANENT", street, province, registered,
                             None, None, None)  # fmt: skip
        if self._temporary_resident(person):
            elsewhere = rng.choices(self.provinces.old_codes, weights=self._province_weights)[0]
            registered = _day_between(
                rng, REFERENCE_DATE - timedelta(days=600), REFERENCE_DATE - timedelta(days=30)
            )
            return Residence(
                person.citizen_id,
                "TEMPORARY",
                self._street_address(rng, elsewhere),
                self.provinces.current(elsewhere),
                registered,
                _years_after(registered, 2),
                None,
                None,
            )
        unit = self._unit(person.unit)
        relationship = dict(unit.household.members).get(index)
        return Residence(
            person.citizen_id,
            "PERMANENT",
            unit.street_address,
            unit.household.province_code,
            registered,
            None,
            unit.household.household_id,
            relationship,
        )

    def household_of(self, index: int) -> Household | None:
        """The household of the person's family; None for single persons and for a family
        with nobody left at home."""
        person = self.person(index)
        if person.unit is None:
            return None
        household = self._unit(person.unit).household
        return household if household.members else None

    def household_by_id(self, household_id: str) -> Household | None:
        if not household_id.isdigit() or len(household_id) != 10:
            return None
        unit = int(household_id[2:])
        if unit >= self.units:
            return None
        household = self._unit(unit).household
        if household.household_id != household_id or not household.members:
            return None
        return household

    # -- civil status ---------------------------------------------------------------------------

    def _build_conflict_block(self, block: int) -> frozenset[int]:
        rng = _rng(self.seed, 606, block)
        start = block * CONFLICT_BLOCK
        return frozenset(start + k for k in rng.sample(range(CONFLICT_BLOCK), self._conflict_quota))

    def conflict(self, index: int) -> Conflict | None:
        """How civil status disagrees with population about this person, if it does."""
        if index not in self._conflict_block(index // CONFLICT_BLOCK):
            return None
        person = self.person(index)
        rng = _rng(self.seed, 707, index)
        if rng.random() < 0.6:
            misspelt = _drop_diacritics_of_one_word(rng, person.full_name)
            if misspelt != person.full_name:
                return Conflict("full_name", person.full_name, misspelt)
        other = _other_date_same_year(rng, person.date_of_birth)
        return Conflict("date_of_birth", person.date_of_birth.isoformat(), other.isoformat())

    def has_conflict(self, citizen_id: str) -> bool:
        index = self.index_of(citizen_id)
        return index is not None and self.conflict(index) is not None

    def conflict_subjects(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Citizen IDs of persons with a conflict, among indices [start, stop)."""
        stop = self.size if stop is None else min(stop, self.size)
        found: list[str] = []
        for block in range(start // CONFLICT_BLOCK, (stop - 1) // CONFLICT_BLOCK + 1):
            found.extend(
                self.citizen_id(i) for i in sorted(self._conflict_block(block)) if start <= i < stop
            )
        return found

    def civil_name(self, index: int) -> str:
        """The person's name as the civil-status register holds it."""
        conflict = self.conflict(index)
        if conflict is not None and conflict.kind == "full_name":
            return conflict.civil_status_value
        return self.person(index).full_name

    def civil_date_of_birth(self, index: int) -> date:
        conflict = self.conflict(index)
        if conflict is not None and conflict.kind == "date_of_birth":
            return date.fromisoformat(conflict.civil_status_value)
        return self.person(index).date_of_birth

    def birth_registration_date(self, index: int) -> date:
        dob = max(self.person(index).date_of_birth, self.civil_date_of_birth(index))
        return dob + timedelta(days=3 + stable_hash(self.seed, 808, index) % 58)

    def birth_registration_number(self, index: int) -> str:
        registered = self.birth_registration_date(index)
        return f"{1 + stable_hash(self.seed, 809, index) % 900}/{registered.year}"

    def marriages_of(self, index: int) -> list[Marriage]:
        person = self.person(index)
        if person.unit is None or person.spouse is None:
            return []
        marriages = self._unit(person.unit).marriages
        return [marriages[0] if index % UNIT_SIZE < 2 else marriages[1]]

    @property
    def marriage_count(self) -> int:
        return 2 * self.units

    def marriage(self, ordinal: int) -> Marriage:
        """The ordinal-th marriage in the register's order (two per unit)."""
        unit, which = divmod(ordinal, 2)
        return self._unit(unit).marriages[which]

    def deceased(self, start: int, count: int) -> list[int]:
        """Indices of deceased persons, the start-th to (start+count)-th in index order.

        Found by scanning and remembered (one int per death), so a register listing pays
        for each person once however often it is paged."""
        while len(self._deceased) < start + count and self._deceased_scanned < self.size:
            if self.person(self._deceased_scanned).is_deceased:
                self._deceased.append(self._deceased_scanned)
            self._deceased_scanned += 1
        return self._deceased[start : start + count]

    def death_registration_date(self, index: int) -> date | None:
        death = self.person(index).date_of_death
        if death is None:
            return None
        return min(
            death + timedelta(days=1 + stable_hash(self.seed, 810, index) % 20), REFERENCE_DATE
        )

    def marital_status_certificate_date(self, index: int) -> date | None:
        """Living adults hold a recent certificate of marital status; others none."""
        person = self.person(index)
        if person.is_deceased or _years_after(person.date_of_birth, 18) > REFERENCE_DATE:
            return None
        return REFERENCE_DATE - timedelta(days=stable_hash(self.seed, 811, index) % 170)

    def demo_mothers(self) -> frozenset[int]:
        """The wives of the first :data:`DEMO_MOTHERS` demo citizens (a demo citizen who is a
        woman is her own): each has just given birth, whatever her age."""
        if self._demo_mothers is None:
            found: set[int] = set()
            seen = 0
            for unit in range(self.units):
                for slot in (2, 3):
                    if seen < DEMO_MOTHERS and self.is_demo_candidate(unit * UNIT_SIZE + slot):
                        seen += 1
                        found.add(unit * UNIT_SIZE + 3)  # the couple's wife
                if seen == DEMO_MOTHERS:
                    break
            self._demo_mothers = frozenset(found)
        return self._demo_mothers

    def birth_certificates(self, index: int) -> list[BirthCertificate]:
        """The medical birth certificates held under this woman's citizen ID: one for a birth
        in the last :data:`RECENT_BIRTH_DAYS` days of the reference date (two for twins, in
        order of birth), at the rates above; none if she had another child less than a year
        before. A demo mother's child was born two to six days before the reference date."""
        person = self.person(index)
        if person.sex != "F" or person.is_deceased:
            return []
        demo = index in self.demo_mothers()
        if demo:
            born = REFERENCE_DATE - timedelta(days=2 + stable_hash(self.seed, 1201, index) % 5)
        else:
            dob = person.date_of_birth
            if not _years_after(dob, 18) <= REFERENCE_DATE < _years_after(dob, 45):
                return []
            married = person.marital_status == "MARRIED" and person.spouse is not None
            rate = RECENT_BIRTH_RATE_MARRIED if married else RECENT_BIRTH_RATE_UNMARRIED
            if _uniform(self.seed, 1202, index) >= rate:
                return []
            days_ago = stable_hash(self.seed, 1203, index) % RECENT_BIRTH_DAYS
            born = REFERENCE_DATE - timedelta(days=days_ago)
            family = self._unit(person.unit).persons if person.unit is not None else ()
            if any(p.mother == index and p.date_of_birth > born - timedelta(days=365)
                   for p in family):  # fmt: skip
                return []
        twins = not demo and _uniform(self.seed, 1204, index) < TWIN_RATE
        residence = self.residence(index)
        province = (
            residence.province_code
            if residence is not None
            else self.provinces.current(person.birth_province)
        )
        rng = _rng(self.seed, 1205, index)
        label, place = self.provinces.labels[province], rng.choice(names.PLACES)
        facility = rng.choice(
            (f"Bệnh viện Phụ sản {label}", f"Bệnh viện Đa khoa {label}",
             f"Trung tâm Y tế khu vực {place}", f"Trạm Y tế xã {place}")
        )  # fmt: skip
        issued = min(born + timedelta(days=rng.randint(0, 2)), REFERENCE_DATE)
        serial = rng.randrange(1_000_000)
        return [
            BirthCertificate(
                mother=index,
                ordinal=k,
                certificate_number=f"{(serial + k) % 1_000_000:06d}/{born.year}/GCS",
                issued=issued,
                child_date_of_birth=born,
                child_sex="M" if rng.random() < 0.512 else "F",
                province_code=province,
                facility=facility,
            )
            for k in range(2 if twins else 1)
        ]

    def certificates_held(self, start: int, count: int) -> list[BirthCertificate]:
        """The start-th to (start+count)-th certificates the register holds, in the order of
        the mothers' indices. Found by scanning and remembered, as :meth:`deceased`."""
        while len(self._certificates) < start + count and self._certificates_scanned < self.size:
            index = self._certificates_scanned
            self._certificates += [(index, c.ordinal) for c in self.birth_certificates(index)]
            self._certificates_scanned += 1
        return [self.birth_certificates(m)[k] for m, k in self._certificates[start : start + count]]

    # -- land -----------------------------------------------------------------------------------

    def parcels_of(self, index: int) -> list[Parcel]:
        person = self.person(index)
        if person.unit is None:
            return []
        slot = index % UNIT_SIZE
        share = {0: 0.45, 2: 0.8, 3: 0.12}.get(slot, 0.0)
        rng = _rng(self.seed, 909, index)
        if rng.random() >= share:
            return []
        count = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        unit = self._unit(person.unit)
        province = unit.household.province_code
        district = 1 + stable_hash(self.seed, 910, person.unit) % 999
        parcels = []
        for k in range(count):
            serial = ((index * _MAX_PARCELS + k) * _PARCEL_MULTIPLIER) % _PARCEL_SPACE
            sheet, number = 1 + serial // 99_999, 1 + serial % 99_999
            residential = k == 0
            if residential:
                purpose = "ODT" if "phường" in unit.street_address else "ONT"
                area = round(rng.uniform(45, 450), 1)
                term, term_end = "Lâu dài", None
                address = unit.street_address
            else:
                purpose = rng.choice(("LUC", "CLN", "BHK", "NTS", "RSX"))
                area = round(rng.uniform(300, 6000), 1)
                term_end = date(2064, 10, 15) if purpose != "RSX" else date(2070, 1, 1)
                term = f"Đến ngày {term_end:%d/%m/%Y}"
                address = f"Cánh đồng {rng.choice(names.PLACES)}, {self.provinces.labels[province]}"
            certified = rng.random() < (0.95 if k == 0 else 0.75)
            issued = _day_between(
                rng, max(_years_after(person.date_of_birth, 20), date(1995, 1, 1)),
                REFERENCE_DATE - timedelta(days=90),
            )  # fmt: skip
            series = ("AB", "BD", "BV", "CH", "CS", "DA")[min(5, max(0, (issued.year - 2000) // 4))]
            parcels.append(
                Parcel(
                    parcel_id=f"{province}-{district:03d}-{sheet:05d}-{number:05d}",
                    map_sheet_number=sheet,
                    parcel_number=number,
                    province_code=province,
                    address_line=address,
                    area_m2=area,
                    land_use_purpose=purpose,
                    land_use_term=term,
                    land_use_term_end=term_end,
                    owner=index,
                    certificate_number=f"{series}{serial:08d}" if certified else None,
                    certificate_issued=issued if certified else None,
                )
            )
        return parcels

    # -- tax ------------------------------------------------------------------------------------

    TAXPAYER_SLOTS = (0, 2, 3)

    @property
    def taxpayer_count(self) -> int:
        return self.units * len(self.TAXPAYER_SLOTS)

    def taxpayer_index(self, ordinal: int) -> int:
        """The person index of the ordinal-th taxpayer, in the tax register's order."""
        unit, k = divmod(ordinal, len(self.TAXPAYER_SLOTS))
        return unit * UNIT_SIZE + self.TAXPAYER_SLOTS[k]

    def taxpayer(self, index: int) -> Taxpayer | None:
        person = self.person(index)
        if person.unit is None or index % UNIT_SIZE not in self.TAXPAYER_SLOTS:
            return None
        rng = _rng(self.seed, 1001, index)
        start = max(_years_after(person.date_of_birth, 22), date(1998, 7, 1))
        registered = _day_between(rng, start, min(_years_after(start, 8), date(2024, 12, 31)))
        draw = rng.random()
        if person.is_deceased:
            status = "CLOSED"
        else:
            status = (
                "ACTIVE" if draw < 0.93 else
                "SUSPENDED" if draw < 0.96 else
                "NOT_AT_ADDRESS" if draw < 0.98 else "CLOSED"
            )  # fmt: skip
        province = self._unit(person.unit).household.province_code
        return Taxpayer(
            person=index,
            tax_code=person.citizen_id,
            legacy_tax_code=self.legacy_tax_code_of(index),
            tax_office_code=f"{province}{1 + rng.randint(0, 29):02d}00",
            province_code=province,
            registration_date=registered,
            status=status,
        )

    def taxpayer_by_code(self, code: str) -> Taxpayer | None:
        """By tax code: the citizen ID (since 2025) or the legacy 10-digit code."""
        index = self.index_of(code) if len(code) == 12 else self.index_of_legacy_tax_code(code)
        return None if index is None else self.taxpayer(index)

    def tax_obligations(self, index: int) -> list[TaxObligation]:
        taxpayer = self.taxpayer(index)
        if taxpayer is None:
            return []
        person = self.person(index)
        last_year = REFERENCE_DATE.year - 1
        if person.date_of_death is not None:
            last_year = min(last_year, person.date_of_death.year - 1)
        first_year = max(taxpayer.registration_date.year, last_year - 4)
        obligations = []
        for year in range(first_year, last_year + 1):
            draw = _uniform(self.seed, 1002, index, year)
            if draw < 0.86:
                status, amount = "FULFILLED", 0
            elif draw < 0.93:
                status, amount = (
                    "OUTSTANDING",
                    50_000 * (1 + stable_hash(self.seed, 1003, index, year) % 200),
                )
            elif draw < 0.97:
                status, amount = (
                    "OVERDUE",
                    100_000 * (1 + stable_hash(self.seed, 1004, index, year) % 300),
                )
            else:
                status, amount = "NOT_FILED", 0
            filed = None
            if status != "NOT_FILED":
                late = status == "OVERDUE"
                day = stable_hash(self.seed, 1005, index, year) % (120 if late else 85)
                filed = date(year + 1, 2 if not late else 5, 1) + timedelta(days=day)
            obligations.append(
                TaxObligation(
                    tax_code=taxpayer.tax_code,
                    tax_year=year,
                    obligation_status=status,
                    outstanding_amount=amount,
                    last_filing_date=filed,
                    as_of_date=REFERENCE_DATE,
                )
            )
        return obligations

    # -- defects and timestamps ----------------------------------------------------------------

    def missing_optional(self, index: int, system: str) -> bool:
        """Whether this system's record about this person leaves its optional fields out."""
        return _uniform(self.seed, 1101, _SYSTEM_SALT[system], index) < (
            self.settings.missing_optional_rate
        )

    def is_stale(self, index: int, system: str) -> bool:
        return _uniform(self.seed, 1102, _SYSTEM_SALT[system], index) < self.settings.stale_rate

    def last_updated(self, index: int, system: str, created: date) -> datetime:
        """When the system last touched its record: years ago for a stale record."""
        created = min(created, REFERENCE_DATE)
        if self.is_stale(index, system):
            first, last = max(created, date(2012, 1, 1)), REFERENCE_DATE - timedelta(days=6 * 365)
        else:
            first, last = max(created, REFERENCE_DATE - timedelta(days=3 * 365)), REFERENCE_DATE
        # Plain hashing rather than a seeded Random: this runs on every record served.
        h = stable_hash(self.seed, 1103, _SYSTEM_SALT[system], index, created.toordinal())
        span = max(0, (last - first).days) + 1
        day = first + timedelta(days=h % span)
        seconds = 7 * 3600 + (h >> 32) % (11 * 3600)  # office hours, 07:00 to 18:00
        return datetime.combine(day, time(seconds // 3600, seconds // 60 % 60, seconds % 60))

    def has_defect(self, index: int) -> bool:
        """Any deliberate defect in any system's records about this person."""
        return self.conflict(index) is not None or any(
            self.missing_optional(index, s) or self.is_stale(index, s) for s in _SYSTEM_SALT
        )

    # -- demo citizens --------------------------------------------------------------------------

    def is_demo_candidate(self, index: int) -> bool:
        """On record in all four systems, alive, married, a landowner, an active taxpayer,
        and with no deliberate defect in any record that mentions them."""
        person = self.person(index)
        if person.is_deceased or person.marital_status != "MARRIED" or person.spouse is None:
            return False
        if person.father is None or person.mother is None or self.residence(index) is None:
            return False
        if not any(p.certificate_number for p in self.parcels_of(index)):
            return False
        taxpayer = self.taxpayer(index)
        if taxpayer is None or taxpayer.status != "ACTIVE" or not self.tax_obligations(index):
            return False
        related = (index, person.spouse, person.father, person.mother)
        return not any(self.has_defect(i) for i in related)

    def demo_citizens(self, k: int) -> list[str]:
        """The first ``k`` citizen IDs (in index order) that :meth:`is_demo_candidate` accepts."""
        found: list[str] = []
        for unit in range(self.units):
            for slot in (2, 3):
                index = unit * UNIT_SIZE + slot
                if self.is_demo_candidate(index):
                    found.append(self.citizen_id(index))
                    if len(found) == k:
                        return found
        if len(found) < k:
            raise ValueError(f"the dataset has only {len(found)} demo citizens, not {k}")
        return found


def _drop_diacritics_of_one_word(rng: random.Random, name: str) -> str:
    """The name with the marks of one word dropped, the commonest misspelling in old records."""
    words = name.split(" ")
    candidates = [i for i, w in enumerate(words) if not w.isascii()]
    if not candidates:
        return name
    i = rng.choice(candidates)
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", words[i]) if not unicodedata.combining(c)
    )
    words[i] = unicodedata.normalize("NFC", stripped.replace("đ", "d").replace("Đ", "D"))
    return " ".join(words)


def _other_date_same_year(rng: random.Random, day: date) -> date:
    """Another date in the same year (the year is in the citizen ID): day and month swapped,
    as when dd/mm and mm/dd are confused, or a few days off."""
    if day.day <= 12 and day.day != day.month:
        return date(day.year, day.day, day.month)
    for _ in range(10):
        other = day + timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 20))
        if other.year == day.year and other != day:
            return other
    return date(day.year, 6, 15) if day != date(day.year, 6, 15) else date(day.year, 6, 16)
