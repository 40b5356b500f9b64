"""``declare-once audit``: verify (database or JSONL export), export, seal, archive, keys."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.audit.verify import PinnedHead

console = Console()
err_console = Console(stderr=True)

audit_cli = typer.Typer(
    help="The access log: verify, export, seal, archive, keys.", no_args_is_help=True
)


def _settings(database: str | None = None) -> Settings:
    return Settings(database_url=database) if database else Settings()


@contextlib.asynccontextmanager
async def _session(database_url: str) -> AsyncIterator[AsyncSession]:
    """One session on an engine of its own, disposed of when the command is done."""
    from app.db import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def _print_report(report_dict: dict[str, object], source: str) -> None:
    table = Table(title=f"access log verification: {source}")
    for column in ("result", "events", "seals", "unsealed", "head seal"):
        table.add_column(column)
    head = report_dict.get("head") or {}
    assert isinstance(head, dict)
    table.add_row(
        "[green]OK[/green]" if report_dict["ok"] else "[red]TAMPERED[/red]",
        str(report_dict["events_verified"]),
        str(report_dict["seals_verified"]),
        str(report_dict["unsealed_events"]),
        f"#{head.get('seal_index')} {str(head.get('seal_hash', ''))[:16]}" if head else "-",
    )
    console.print(table)
    problems = report_dict.get("problems") or []
    assert isinstance(problems, list)
    if problems:
        listing = Table(title="problems (first one first)")
        for column in ("code", "seq", "leaf", "seal", "detail"):
            listing.add_column(column)
        for p in problems[:20]:
            listing.add_row(
                p["code"], str(p["seq"]), str(p["leaf_index"]), str(p["seal_index"]), p["detail"]
            )
        console.print(listing)


def _keys_from(path: Path | None, data_dir: Path) -> Mapping[str, Ed25519PublicKey] | None:
    from app.audit.keys import PUBLIC_KEYS_FILE, key_dir, load_public_keys

    if path is not None:
        return load_public_keys(path)
    local = key_dir(data_dir) / PUBLIC_KEYS_FILE
    return load_public_keys(local) if local.exists() else None


@audit_cli.command("verify")
def verify(
    database: Annotated[
        str | None, typer.Option(help="Database URL (HUB_DATABASE_URL if neither is given).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option(help="A JSONL export or archive to verify instead.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="Key document (GET /v1/audit/public-key) or PEM public key(s). Default: "
            "data_dir/audit-keys/public-keys.json, else (database only) the published keys."
        ),
    ] = None,
    from_seq: Annotated[int | None, typer.Option("--from", help="First event id.")] = None,
    to_seq: Annotated[int | None, typer.Option("--to", help="Last event id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    pinned_head: Annotated[
        str | None,
        typer.Option(
            help="SEAL_INDEX:SEAL_HASH of a seal saved earlier (a report's head): the log must "
            "still hold it, so that a log cut at either end fails."
        ),
    ] = None,
) -> None:
    """Recompute every hash, root, signature and chain link. Exits 1 on any problem."""
    from app.audit.verify import PinnedHead, verify_jsonl

    try:
        pinned = PinnedHead.parse(pinned_head) if pinned_head is not None else None
    except ValueError as exc:
        err_console.print(f"[red]--pinned-head:[/red] {exc}")
        raise typer.Exit(code=2) from None
    settings = _settings(database)
    try:
        keys = _keys_from(public_key, settings.data_dir)
    except (OSError, ValueError) as exc:
        err_console.print(f"[red]Cannot read the public key:[/red] {exc}")
        raise typer.Exit(code=2) from None
    if file is not None:
        if keys is None:
            err_console.print("[red]--public-key is required to verify a file.[/red]")
            raise typer.Exit(code=2)
        size = file.stat().st_size
        with (
            file.open("rb") as handle,
            Progress(
                TextColumn("[bold]verifying"),
                BarColumn(),
                DownloadColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=err_console,
                disable=as_json,
            ) as progress,
        ):
            task = progress.add_task("bytes", total=size)
            report = verify_jsonl(
                handle,
                keys,
                pinned=pinned,
                progress=lambda done: progress.update(task, completed=done),
            )
            progress.update(task, completed=size)
        result = report.as_dict()
        source = str(file)
    else:
        result = asyncio.run(_verify_database(settings, keys, from_seq, to_seq, pinned, as_json))
        source = settings.database_url.split("@")[-1]
    if as_json:
        console.print_json(orjson.dumps(result).decode())
    else:
        _print_report(result, source)
    if not result["ok"]:
        raise typer.Exit(code=1)


async def _verify_database(
    settings: Settings,
    keys: Mapping[str, Ed25519PublicKey] | None,
    from_seq: int | None,
    to_seq: int | None,
    pinned: PinnedHead | None,
    quiet: bool,
) -> dict[str, object]:
    from sqlalchemy import func, select

    from app.audit.keys import published_public_keys
    from app.audit.models import AuditEvent
    from app.audit.verify import verify_database

    async with _session(settings.database_url) as session:
        if keys is None:
            err_console.print(
                "[yellow]No --public-key: trusting the keys published in this database.[/yellow]"
            )
            keys = await published_public_keys(session)
        total = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_not(None))
        )
        with Progress(
            TextColumn("[bold]verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=quiet,
        ) as progress:
            task = progress.add_task("events", total=total or 0)
            report = await verify_database(
                session,
                keys,
                from_seq=from_seq,
                to_seq=to_seq,
                pinned=pinned,
                progress=lambda n: progress.advance(task, n),
            )
        return report.as_dict()


@audit_cli.command("export")
def export(
    output: Annotated[Path, typer.Option(help="The JSONL file to write.")],
    database: Annotated[str | None, typer.Option(help="Database URL.")] = None,
    from_seq: Annotated[int | None, typer.Option("--from", help="First event id.")] = None,
    to_seq: Annotated[int | None, typer.Option("--to", help="Last event id.")] = None,
) -> None:
    """Write the log (events and seals) as verifiable JSONL (docs/audit.md gives the format)."""
    from app.audit.verify import export_lines

    async def run() -> int:
        written = 0
        async with _session(_settings(database).database_url) as session:
            with output.open("wb") as handle:
                async for chunk in export_lines(session, from_seq=from_seq, to_seq=to_seq):
                    handle.write(chunk)
                    written += chunk.count(b"\n")
        return written

    lines = asyncio.run(run())
    console.print(f"wrote {lines} lines to {output}")


@audit_cli.command("seal")
def seal(database: Annotated[str | None, typer.Option(help="Database URL.")] = None) -> None:
    """Seal every pending event now (the hub does this on its own while it runs)."""
    from app.audit.sealer import Sealer

    async def run() -> int:
        sealer = Sealer(_settings(database))
        try:
            await sealer.prepare()
            return await sealer.seal_pending()
        finally:
            await sealer.stop()

    console.print(f"{asyncio.run(run())} seal(s) made")


@audit_cli.command("archive")
def archive(
    older_than_days: Annotated[
        float | None,
        typer.Option(help="Archive batches sealed before this many days ago (default: setting)."),
    ] = None,
    database: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Apply the retention period now: archive old sealed batches to data_dir/archive and
    delete them from the database."""
    from app.audit.retention import archive_expired
    from app.audit.sealer import Sealer

    settings = _settings(database)
    days = older_than_days if older_than_days is not None else settings.audit_retention_days
    if days is None:
        err_console.print(
            "[red]No retention period: pass --older-than-days or set "
            "HUB_AUDIT_RETENTION_DAYS.[/red]"
        )
        raise typer.Exit(code=2)

    async def run() -> None:
        sealer = Sealer(settings)
        try:
            result = await archive_expired(sealer, settings, older_than=timedelta(days=days))
        finally:
            await sealer.stop()
        if result is None:
            console.print("nothing to archive")
        else:
            console.print(
                f"archived seals {result.first_seal}..{result.last_seal} "
                f"({result.events} events) to {result.file}"
            )

    asyncio.run(run())


@audit_cli.command("public-key")
def public_key(
    output: Annotated[Path | None, typer.Option(help="Write the document here.")] = None,
    database: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Print the published sealing keys (the document that `verify --public-key` reads)."""
    from app.audit.keys import key_document, published_keys

    async def run() -> bytes:
        async with _session(_settings(database).database_url) as session:
            doc = key_document(await published_keys(session), None)
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)

    data = asyncio.run(run())
    if output is not None:
        output.write_bytes(data)
        console.print(f"wrote {output}")
    else:
        console.print_json(data.decode())


@audit_cli.command("rotate-key")
def rotate_key(database: Annotated[str | None, typer.Option(help="Database URL.")] = None) -> None:
    """Make a new sealing key. The old public key stays published (retired); old seals keep
    verifying. Running instances of this data_dir sign their next seal with the new key."""
    from app.audit.keys import SigningKey
    from app.audit.sealer import Sealer

    settings = _settings(database)

    async def run() -> tuple[SigningKey | None, SigningKey]:
        sealer = Sealer(settings)
        try:
            return await sealer.rotate_key()
        finally:
            await sealer.stop()

    old, new = asyncio.run(run())
    console.print(f"new sealing key {new.key_id}" + (f"; retired {old.key_id}" if old else ""))
