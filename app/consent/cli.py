"""``declare-once citizen-token CITIZEN_ID``: a token from the mock eID issuer (demo, tests)."""

from __future__ import annotations

from typing import Annotated

import typer


def citizen_token(
    citizen_id: Annotated[str, typer.Argument(help="The citizen's 12-digit ID.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=60)] = 8 * 3600,
) -> None:
    """Print an eID token for CITIZEN_ID from the mock issuer (key in HUB_DATA_DIR).

    Send it as `Authorization: Bearer <token>` to the /v1/me endpoints.
    """
    from app.config import Settings
    from app.security.citizen import issue_citizen_token
    from dictionary.formats import is_citizen_id

    if not is_citizen_id(citizen_id):
        typer.echo(f"{citizen_id!r} is not a valid 12-digit citizen ID.", err=True)
        raise typer.Exit(code=2)
    try:
        token = issue_citizen_token(Settings(), citizen_id, ttl_seconds=ttl)
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(token)
