"""Opening a filing."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.filings.derive import derive
from app.filings.errors import InvalidCitizenId
from app.filings.events import filing_changed
from app.filings.models import Filing
from app.filings.reading import LoadedFiling, procedure_of, require_procedure_grant
from app.filings.schemas import FilingOpen, FilingOut
from app.filings.states import DRAFT
from app.filings.views import filing_out
from app.hub import Hub
from app.security.actor import Actor
from app.timestamps import utcnow
from dictionary.formats import is_citizen_id


def check_citizen_id(value: str, path: str) -> None:
    if not is_citizen_id(value):
        raise InvalidCitizenId(
            f"{value!r} is not a citizen ID (12 digits).",
            errors=[
                {
                    "path": path,
                    "element": "person.citizen_id",
                    "code": "format.citizen_id",
                    "message": "A citizen ID is 12 digits starting with a province prefix.",
                }
            ],
        )


async def open_filing(
    session: AsyncSession, hub: Hub, actor: Actor, opening: FilingOpen
) -> FilingOut:
    """A ``draft`` filing of the procedure, for the applicant (on behalf of someone, if
    named); its ``opened`` event is recorded before the filing is written."""
    procedure = procedure_of(hub.dictionary, opening.procedure)
    principal = actor.client
    await require_procedure_grant(session, principal.client_id, procedure.code)
    check_citizen_id(opening.applicant_id, "/applicant_id")
    on_behalf_of = opening.on_behalf_of
    if on_behalf_of is not None:
        check_citizen_id(on_behalf_of, "/on_behalf_of")
    now = utcnow()
    filing = Filing(
        id=str(uuid.uuid4()),
        procedure=procedure.code,
        client_id=principal.client_id,
        agency=principal.agency,
        officer_id=actor.officer_id,
        case_id=actor.case_id,
        applicant_id=opening.applicant_id,
        on_behalf_of=on_behalf_of if on_behalf_of != opening.applicant_id else None,
        status=DRAFT,
        dossier={},
        provenance={},
        component_states={
            c.id: {"status": "pending", "error": None, "subject_id": None}
            for c in procedure.state_components
        },
        typed_fields=[],
        fields_prefilled=0,
        fields_typed=0,
        components_from_state=0,
        components_supplied=0,
        created_at=now,
        updated_at=now,
    )
    # What the applicant's own ID gives (the husband's ID when he files) is there at once.
    derive(
        procedure,
        filing.applicant_id,
        filing.component_states,
        filing.dossier,
        filing.provenance,
        filing.typed_fields,
    )
    await filing_changed(hub.audit, actor, filing, "opened")
    session.add(filing)
    await session.flush()
    return await filing_out(session, LoadedFiling(filing, procedure))
