"""The filing a route is about: :data:`CurrentFiling` loads it with its procedure.

``filing_not_found`` (404) for a filing another client opened (the same answer as for none
at all); ``procedure_not_granted`` (403) to the client that opened it once its procedure
grant is removed, read afresh on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.deps import SessionDep
from app.filings.reading import LoadedFiling, load_filing
from app.hub import HubDep
from app.security.actor import ConsumerOfficer


async def _current_filing(
    filing_id: str, actor: ConsumerOfficer, session: SessionDep, hub: HubDep
) -> LoadedFiling:
    return await load_filing(session, hub.dictionary, filing_id, actor.client.client_id)


CurrentFiling = Annotated[LoadedFiling, Depends(_current_filing)]
