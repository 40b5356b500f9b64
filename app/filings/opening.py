"""Opening a filing."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.filings.errors import InvalidCitizenId
from app.filings.models import Filing
from app.filings.reading import require_procedure_grant
from app.filings.states import DRAFT
from app.security.roles import ClientPrincipal
from app.timestamps import utcnow
from dictionary.formats import is_citizen_id
from dictionary.procedures import Procedure


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
    session: AsyncSession,
    procedure: Procedure,
    *,
    principal: ClientPrincipal,
    officer_id: str,
    case_id: str | None,
    applicant_id: str,
    on_behalf_of: str | None,
) -> Filing:
    await require_procedure_grant(session, principal.client_id, procedure.code)
    check_citizen_id(applicant_id, "/applicant_id")
    if on_behalf_of is not None:
        check_citizen_id(on_behalf_of, "/on_behalf_of")
    now = utcnow()
    filing = Filing(
        id=str(uuid.uuid4()),
        procedure=procedure.code,
        client_id=principal.client_id,
        agency=principal.agency,
        officer_id=officer_id,
        case_id=case_id,
        applicant_id=applicant_id,
        on_behalf_of=on_behalf_of if on_behalf_of != applicant_id else None,
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
    session.add(filing)
    await session.commit()
    return filing
