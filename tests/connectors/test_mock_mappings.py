"""The shipped mappings (connectors/mappings/*.yaml) turn every mock record into a record
that validates against the national dictionary; the deliberate conflicts survive mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connectors.mocks import SYSTEMS, MockSettings, create_mock_app
from connectors.mocks.dataset import Dataset
from dictionary import Dictionary, load_dictionary

mapping = pytest.importorskip("connectors.mapping")

MAPPINGS = Path(__file__).resolve().parents[2] / "connectors" / "mappings"
MAPPING_FILES = sorted(MAPPINGS.glob("*.yaml"))
MOCK_OF = {"population": "population", "civil_status": "civil-status", "land": "land", "tax": "tax"}
SAMPLE = range(0, 10_000, 41)  # about 250 subjects per record type, every slot of the families


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset(MockSettings())


def _spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return spec


@asynccontextmanager
async def _client(dataset: Dataset, system: str) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of the mock, in process: these tests are about data."""
    app = create_mock_app(system, dataset=dataset)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        settings = dataset.settings
        if app.spec.auth == "api_key":
            client.headers[app.spec.api_key_header] = settings.api_key
        else:
            token = await client.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": settings.oauth_client_id,
                    "client_secret": settings.oauth_client_secret,
                },
            )
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


async def _fetch(
    client: httpx.AsyncClient, compiled: Any, subject_id: str
) -> list[dict[str, Any]] | None:
    params = compiled.request_params(subject_id)
    answer = await client.get(compiled.request_path(subject_id), params=params)
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    body = mapping.get_path(answer.json(), ".".join(map(str, compiled.records_at)))
    return body if isinstance(body, list) else [body]


def test_every_record_type_of_the_dictionary_has_a_mapping(dictionary: Dictionary) -> None:
    mapped = {_spec(path)["record_type"] for path in MAPPING_FILES}
    owned = {
        name
        for name, record_type in dictionary.record_types.items()
        if record_type.owner_system in MOCK_OF
    }
    assert owned <= mapped


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.stem)
async def test_mapped_mock_records_validate_against_the_dictionary(
    path: Path, dictionary: Dictionary, dataset: Dataset
) -> None:
    spec = _spec(path)
    compiled = mapping.compile_mapping(spec, dictionary)
    records = 0
    async with _client(dataset, MOCK_OF[spec["system"]]) as client:
        # The sample, and the subjects the listing names: few persons hold some records (a
        # medical birth certificate: about 17 mothers in 10,000 persons).
        subjects = dict.fromkeys(dataset.citizen_id(i) for i in SAMPLE)
        subjects.update(dict.fromkeys(await _listed(client, compiled.listing)))
        for subject_id in subjects:
            found = await _fetch(client, compiled, subject_id)
            for raw in found or []:
                mapped = compiled.apply(raw)
                assert compiled.issues_of(mapped) == [], (raw, mapped.data)
                assert mapped.source_reference and mapped.last_updated is not None
                records += 1
    assert records >= 15


async def _listed(client: httpx.AsyncClient, listing: Any) -> list[str]:
    """The subjects on the first page of a mapping's sample listing."""
    answer = await client.get(listing.path, params=listing.params)
    assert answer.status_code == 200, answer.text
    items = mapping.get_path(answer.json(), ".".join(map(str, listing.records_at)))
    return [mapping.get_path(i, ".".join(map(str, listing.subject_at))) for i in items]


async def test_the_sample_listings_of_the_mappings_give_subjects(
    dictionary: Dictionary, dataset: Dataset
) -> None:
    for path in MAPPING_FILES:
        spec = _spec(path)
        compiled = mapping.compile_mapping(spec, dictionary)
        listing = compiled.listing
        assert listing is not None, path.name
        async with _client(dataset, MOCK_OF[spec["system"]]) as client:
            answer = await client.get(listing.path, params=listing.params)
            assert answer.status_code == 200, (path.name, answer.text)
            items = mapping.get_path(answer.json(), ".".join(map(str, listing.records_at)))
            subjects = [mapping.get_path(i, ".".join(map(str, listing.subject_at))) for i in items]
            assert subjects and all(dataset.index_of(s) is not None for s in subjects), path.name


async def test_a_seeded_conflict_shows_between_person_and_birth_registration(
    dictionary: Dictionary, dataset: Dataset
) -> None:
    person_map = mapping.compile_mapping(_spec(MAPPINGS / "population.Person.yaml"), dictionary)
    birth_map = mapping.compile_mapping(
        _spec(MAPPINGS / "civil_status.BirthRegistration.yaml"), dictionary
    )
    conflicts = dataset.conflict_subjects(0, 3000)
    clean = [dataset.citizen_id(i) for i in range(0, 3000, 97)]
    clean = [c for c in clean if not dataset.has_conflict(c)]
    async with (
        _client(dataset, "population") as population,
        _client(dataset, "civil-status") as civil,
    ):
        for citizen_id in conflicts + clean:
            person_raw = await _fetch(population, person_map, citizen_id)
            birth_raw = await _fetch(civil, birth_map, citizen_id)
            assert person_raw and birth_raw
            person = person_map.apply(person_raw[0]).data
            birth = birth_map.apply(birth_raw[0]).data
            differs = (person["full_name"], person["date_of_birth"]) != (
                birth["child_full_name"],
                birth["child_date_of_birth"],
            )
            assert differs == dataset.has_conflict(citizen_id), citizen_id


def test_the_mocks_are_the_systems_the_mappings_name() -> None:
    assert set(MOCK_OF.values()) == set(SYSTEMS)
    assert {_spec(p)["system"] for p in MAPPING_FILES} == set(MOCK_OF)
