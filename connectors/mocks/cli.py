"""``declare-once mock {population|civil-status|land|tax} --port P``: one mock as a process.

Also runnable without the hub installed: ``python -m connectors.mocks population --port P``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from connectors.mocks.settings import MockSettings

DEFAULTS = MockSettings()


class MockSystem(StrEnum):
    population = "population"
    civil_status = "civil-status"
    land = "land"
    tax = "tax"


def mock_command(
    system: Annotated[MockSystem, typer.Argument(help="Which system to run.")],
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9100,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic dataset.")] = DEFAULTS.seed,
    persons: Annotated[
        int, typer.Option(help="Persons in the dataset (up to 1,000,000).")
    ] = DEFAULTS.persons,
    conflict_rate: Annotated[
        float, typer.Option(help="Share of persons whose civil-status record disagrees.")
    ] = DEFAULTS.conflict_rate,
    missing_optional_rate: Annotated[
        float, typer.Option(help="Share of records without their optional fields.")
    ] = DEFAULTS.missing_optional_rate,
    stale_rate: Annotated[
        float, typer.Option(help="Share of records last updated years ago.")
    ] = DEFAULTS.stale_rate,
    api_key: Annotated[
        str, typer.Option(help="The static API key (population, land).", envvar="MOCK_API_KEY")
    ] = DEFAULTS.api_key,
    client_id: Annotated[
        str, typer.Option(help="OAuth2 client ID (civil-status, tax).", envvar="MOCK_CLIENT_ID")
    ] = DEFAULTS.oauth_client_id,
    client_secret: Annotated[
        str,
        typer.Option(help="OAuth2 client secret (civil-status, tax).", envvar="MOCK_CLIENT_SECRET"),
    ] = DEFAULTS.oauth_client_secret,
    token_ttl: Annotated[
        int, typer.Option(help="Lifetime of OAuth2 access tokens, in seconds.")
    ] = DEFAULTS.token_ttl_seconds,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Run one mock source system under uvicorn (faults: PUT /__faults; counts: GET /__stats)."""
    import uvicorn

    from connectors.mocks import create_mock_app

    try:
        settings = MockSettings(
            seed=seed,
            persons=persons,
            conflict_rate=conflict_rate,
            missing_optional_rate=missing_optional_rate,
            stale_rate=stale_rate,
            api_key=api_key,
            oauth_client_id=client_id,
            oauth_client_secret=client_secret,
            token_ttl_seconds=token_ttl,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    app = create_mock_app(system.value, settings)
    typer.echo(
        f"mock {system.value} on http://{host}:{port} ({settings.persons:,} persons, seed {seed})"
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,  # hung requests (the hang fault) must not delay a stop
    )


def main() -> None:
    typer.run(mock_command)
