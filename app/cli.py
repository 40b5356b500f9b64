"""The ``declare-once`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app import migrate
from app.audit.cli import audit_cli
from app.config import Settings
from app.consent.cli import citizen_token
from app.security.keyfiles import restrict_umask
from app.sources.cli import quality_cli
from connectors.mocks.cli import mock_command

console = Console()
err_console = Console(stderr=True)

cli = typer.Typer(
    name="declare-once",
    help="Declare-Once Hub: the state's data-interoperability hub.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema (alembic).", no_args_is_help=True)
clients_cli = typer.Typer(help="API clients and keys.", no_args_is_help=True)
dictionary_cli = typer.Typer(help="The national data dictionary.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(clients_cli, name="clients")
cli.add_typer(dictionary_cli, name="dictionary")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(quality_cli, name="quality")
cli.command("citizen-token")(citizen_token)
cli.command("mock")(mock_command)


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)  # type: ignore[arg-type]


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (HUB_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (HUB_PORT).")] = None,
    demo: Annotated[
        bool | None,
        typer.Option("--demo/--no-demo", help="Mount the mock sources and write demo credentials."),
    ] = None,
) -> None:
    """Serve the hub. Refuses to start on a database that is not migrated."""
    import uvicorn

    from app.demo import is_loopback
    from app.main import create_app
    from app.server import ProblemHttpToolsProtocol

    settings = _settings(host=host, port=port, demo=demo)
    if settings.demo and not is_loopback(settings.host):
        err_console.print(
            f"[red]--demo serves on loopback only[/red], not on {settings.host!r}: it mounts mock "
            "source systems with fixed keys and fault controls, and writes live admin keys. "
            "Use --host 127.0.0.1 (or ::1), or serve without --demo."
        )
        raise typer.Exit(code=2)
    restrict_umask()
    current, head = migrate.migration_state(settings.database_url)
    if current != head:
        err_console.print(
            f"[red]The database is not migrated[/red] (at {current or 'nothing'}, code needs "
            f"{head}). Run [bold]declare-once db upgrade[/bold] first."
        )
        raise typer.Exit(code=2)
    app = create_app(settings)
    # This process exists to serve the hub: let its start-up tune the garbage collector.
    app.state.owns_process = True
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        # A request the HTTP parser refuses is answered as a Problem document too.
        http=ProblemHttpToolsProtocol,
    )


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Migrate the database to the newest schema (or REVISION)."""
    settings = _settings()
    migrate.upgrade(settings.database_url, revision)
    current, _ = migrate.migration_state(settings.database_url)
    console.print(f"[green]database at revision {current}[/green]")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision and the code's."""
    current, head = migrate.migration_state(_settings().database_url)
    console.print(f"database: {current or 'not migrated'}   code: {head}")
    if current != head:
        raise typer.Exit(code=1)


@clients_cli.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Unique client name.")],
    role: Annotated[list[str], typer.Option(help="Role; repeat for several.")],
    agency: Annotated[
        str, typer.Option(help="The agency that runs the client.")
    ] = "Unnamed agency",
) -> None:
    """Create an API client. The key is printed once and never stored in clear."""
    from app.db import create_engine, create_sessionmaker
    from app.errors import HubError
    from app.security import service
    from app.security.roles import Role

    try:
        roles = [Role(r) for r in role]
    except ValueError:
        err_console.print(f"[red]Unknown role.[/red] Roles: {', '.join(r.value for r in Role)}")
        raise typer.Exit(code=2) from None

    async def run() -> tuple[str, str]:
        engine = create_engine(_settings().database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                client, _key, plaintext = await service.create_client(
                    session, name=name, agency=agency, roles=roles
                )
                return client.id, plaintext
        finally:
            await engine.dispose()

    try:
        client_id, plaintext = asyncio.run(run())
    except HubError as exc:
        err_console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        raise typer.Exit(code=1) from None
    console.print(f"client [bold]{name}[/bold] id={client_id} roles={','.join(role)}")
    console.print("API key (shown once, store it now):")
    console.print(plaintext, soft_wrap=True, highlight=False)


@dictionary_cli.command("check")
def dictionary_check(
    path: Annotated[
        Path | None, typer.Option(help="Content folder; the national one if unset.")
    ] = None,
) -> None:
    """Load and lint the dictionary YAML; print a summary table. Exits 1 on any problem."""
    from dictionary import load_dictionary

    try:
        dictionary = load_dictionary(path)
    except Exception as exc:  # a load failure is reported, not a traceback
        err_console.print(f"[red]The dictionary does not load:[/red] {exc}")
        raise typer.Exit(code=1) from None
    table = Table(title="National data dictionary")
    for column in ("record type", "system", "versions", "latest", "fields", "examples"):
        table.add_column(column)
    for name, record_type in sorted(dictionary.record_types.items()):
        latest = record_type.latest()
        examples = sum(
            len(v.examples.valid) + len(v.examples.invalid) for v in record_type.versions
        )
        table.add_row(
            name,
            record_type.owner_system,
            str(len(record_type.versions)),
            latest.version,
            str(len(latest.fields)),
            str(examples),
        )
    console.print(table)
    console.print(
        f"{len(dictionary.elements)} elements, {len(dictionary.codelists)} code lists, "
        f"{len(dictionary.record_types)} record types"
    )
    problems = dictionary.lint()
    if problems:
        for problem in problems:
            err_console.print(f"[red]✗[/red] {problem}")
        err_console.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(code=1)
    console.print("[green]✓ no problems[/green]")


@cli.command()
def validate(
    record_type: Annotated[str, typer.Argument(help="Record type, e.g. Person.")],
    file: Annotated[Path, typer.Argument(help="NDJSON file, one record per line.", exists=True)],
    version: Annotated[
        str | None, typer.Option(help="Record version; the latest if unset.")
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="Validate codes as of this date.")] = None,
    show: Annotated[int, typer.Option(help="How many invalid records to list.")] = 10,
) -> None:
    """Validate an NDJSON file against a record type, with a progress bar and a summary."""
    import orjson

    from dictionary import load_dictionary

    dictionary = load_dictionary(Settings().dictionary_path)
    if record_type not in dictionary.record_types:
        err_console.print(f"[red]Unknown record type {record_type!r}[/red]")
        raise typer.Exit(code=2)
    validator = dictionary.validator(record_type, version)
    when = date.fromisoformat(as_of) if as_of else None
    total = valid = 0
    codes: dict[str, int] = {}
    failures: list[tuple[int, list[str]]] = []
    size = file.stat().st_size
    with (
        file.open("rb") as handle,
        Progress(
            TextColumn("[bold]validating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress,
    ):
        task = progress.add_task("records", total=size)
        for line_no, line in enumerate(handle, start=1):
            progress.advance(task, len(line))
            if not line.strip():
                continue
            total += 1
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                codes["malformed_json"] = codes.get("malformed_json", 0) + 1
                failures.append((line_no, [f"malformed_json: {exc}"]))
                continue
            issues = validator.validate(record, as_of=when)
            if not issues:
                valid += 1
                continue
            for issue in issues:
                codes[issue.code] = codes.get(issue.code, 0) + 1
            failures.append((line_no, [f"{i.code} at {i.path or '/'}" for i in issues]))
    summary = Table(title=f"{record_type} {validator.version}: {file.name}")
    summary.add_column("records")
    summary.add_column("valid")
    summary.add_column("invalid")
    summary.add_row(str(total), str(valid), str(total - valid))
    console.print(summary)
    if codes:
        by_code = Table(title="errors by code")
        by_code.add_column("code")
        by_code.add_column("count")
        for code, count in sorted(codes.items(), key=lambda kv: -kv[1]):
            by_code.add_row(code, str(count))
        console.print(by_code)
        for line_no, messages in failures[:show]:
            console.print(f"line {line_no}: {'; '.join(messages)}")
    if total - valid:
        raise typer.Exit(code=1)


def main() -> None:
    # Whatever the hub's commands write (database, keys, exports) is its owner's only.
    restrict_umask()
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
