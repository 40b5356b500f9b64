"""The four mock source systems: ASGI apps over one deterministic synthetic population.

See docs/contracts.md section 6. Each mock looks like the legacy system it stands for (its own
field names, error envelope, pagination and auth), not like the national dictionary; the
mappings in ``connectors/mappings/`` translate.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.mocks import civil_status, land, population, tax
from connectors.mocks.dataset import Dataset
from connectors.mocks.server import MockApp, SystemSpec
from connectors.mocks.settings import MockSettings

SYSTEMS: tuple[str, ...] = ("population", "civil-status", "land", "tax")

_BUILDERS: dict[str, Callable[[Dataset], SystemSpec]] = {
    "population": population.build_spec,
    "civil-status": civil_status.build_spec,
    "land": land.build_spec,
    "tax": tax.build_spec,
}


def create_mock_app(
    system: str, settings: MockSettings | None = None, dataset: Dataset | None = None
) -> MockApp:
    """The ASGI app of one mock system, deterministic from ``settings``.

    Pass ``dataset`` to share one dataset (and its caches) between mocks in one process.
    """
    if system not in _BUILDERS:
        raise ValueError(f"unknown mock system {system!r}; expected one of {', '.join(SYSTEMS)}")
    settings = settings or (dataset.settings if dataset is not None else MockSettings())
    if dataset is None or dataset.settings != settings:
        dataset = Dataset(settings)
    return MockApp(_BUILDERS[system](dataset), settings)


__all__ = ["SYSTEMS", "Dataset", "MockApp", "MockSettings", "create_mock_app"]
