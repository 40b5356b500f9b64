"""``declare-once citizen-token CITIZEN_ID``: a token from the mock eID issuer (demo, tests).

With ``--approve-consent FILE --client CLIENT_ID`` the token is also the citizen's signed
approval of the consent in FILE (the JSON body a client will POST to /v1/consents): it
carries the consent's hash in its ``consent_sha256`` claim.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def citizen_token(
    citizen_id: Annotated[str, typer.Argument(help="The citizen's 12-digit ID.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=60)] = 8 * 3600,
    approve_consent: Annotated[
        Path | None,
        typer.Option(
            help="A consent request body (JSON) this token approves; needs --client.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    client: Annotated[
        str | None, typer.Option(help="The id of the client that will record the consent.")
    ] = None,
) -> None:
    """Print an eID token for CITIZEN_ID from the mock issuer (key in HUB_DATA_DIR).

    Send it as `Authorization: Bearer <token>` to the /v1/me endpoints, or, made with
    --approve-consent, as `citizen_approval` in the consent's POST /v1/consents body.
    """
    import pydantic

    from app.config import Settings
    from app.consent.approval import APPROVAL_CLAIM, consent_hash
    from app.consent.schemas import ConsentCreate
    from app.security.citizen import issue_citizen_token
    from dictionary.formats import is_citizen_id

    if not is_citizen_id(citizen_id):
        typer.echo(f"{citizen_id!r} is not a valid 12-digit citizen ID.", err=True)
        raise typer.Exit(code=2)
    claims: dict[str, str] = {}
    if approve_consent is not None:
        if not client:
            typer.echo(
                "--approve-consent needs --client: the id of the recording client.", err=True
            )
            raise typer.Exit(code=2)
        try:
            body = ConsentCreate.model_validate_json(approve_consent.read_bytes())
        except pydantic.ValidationError as exc:
            typer.echo(f"{approve_consent} is not a consent request: {exc}", err=True)
            raise typer.Exit(code=2) from None
        if body.subject != citizen_id:
            typer.echo(f"The consent's subject is not {citizen_id}.", err=True)
            raise typer.Exit(code=2)
        claims[APPROVAL_CLAIM] = consent_hash(client, body)
    try:
        token = issue_citizen_token(Settings(), citizen_id, ttl_seconds=ttl, extra_claims=claims)
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(token)
