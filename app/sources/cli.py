"""``declare-once quality scan``: a data-quality sample scan of one connector, with a
progress bar. It reads the connector from the database and calls the source itself."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)

quality_cli = typer.Typer(help="Data-quality scores of the connectors.", no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _print_scores(name: str, scores: dict[str, Any]) -> None:
    for record_type, entry in scores["record_types"].items():
        scan = entry.get("scan")
        if not scan:
            continue
        clean = scan["clean"]
        table = Table(title=f"{name} {record_type}: sample scan of {scan['sample']}")
        table.add_column("quality")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("correct", "records that validate", _pct(scan["correct"]["valid_share"]))
        table.add_row(
            "sufficient",
            "required fields present",
            _pct(scan["sufficient"]["required_completeness"]),
        )
        table.add_row(
            "", "optional fields present", _pct(scan["sufficient"]["optional_completeness"])
        )
        table.add_row("live", "p50 age (days)", str(scan["live"]["p50_age_days"]))
        table.add_row("", "p90 age (days)", str(scan["live"]["p90_age_days"]))
        table.add_row("", "older than 1 year", _pct(scan["live"]["older_than_1y_share"]))
        if clean["checked"]:
            table.add_row(
                "clean",
                f"conflicts with {scan.get('conflicts_with')}",
                f"{clean['conflicts']}/{clean['checked']} = {_pct(clean['conflict_rate'])}",
            )
        console.print(table)
        for example in clean.get("examples", [])[:5]:
            console.print(
                f"  conflict on {', '.join(example['fields'])}: "
                f"{example['population_reference']} vs {example['civil_status_reference']}"
            )
        if scan.get("errors_by_code"):
            console.print(f"  fetch errors: {scan['errors_by_code']}")


@quality_cli.command("scan")
def scan(
    connector: Annotated[str, typer.Option(help="Connector name or id, e.g. population.")],
    sample: Annotated[int, typer.Option(min=1, max=100_000, help="Subjects to sample.")] = 1000,
    record_type: Annotated[
        str | None, typer.Option(help="One record type; every one it serves if unset.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 16,
) -> None:
    """Sample the source's subjects, score them (valid share, completeness, age) and, for
    population, count the conflicts with civil status's birth registrations."""
    from app.config import Settings
    from app.db import create_engine, create_sessionmaker
    from app.errors import HubError
    from app.registry.service import load_published
    from app.sources import service
    from app.sources.runtime import create_registry
    from dictionary import load_dictionary

    settings = Settings()

    async def run() -> tuple[str, dict[str, Any]]:
        engine = create_engine(settings.database_url)
        sessionmaker = create_sessionmaker(engine)
        dictionary = load_dictionary(settings.dictionary_path)
        registry = create_registry(settings, sessionmaker, dictionary)
        try:
            async with sessionmaker() as session:
                await load_published(session, dictionary)
            await registry.load()
            with Progress(
                TextColumn("[bold]scanning {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
            ) as progress:
                task = progress.add_task(connector, total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                scores = await service.scan(
                    sessionmaker,
                    registry,
                    connector,
                    sample=sample,
                    record_type=record_type,
                    concurrency=concurrency,
                    progress=advance,
                )
            return str(scores["name"]), scores
        finally:
            await registry.aclose()
            await engine.dispose()

    try:
        name, scores = asyncio.run(run())
    except HubError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(code=1) from None
    _print_scores(name, scores)
