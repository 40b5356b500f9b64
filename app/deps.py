"""Dependencies shared by every domain: the hub's parts, and the request's database session.

The transaction rule: a request has one session; it commits when the endpoint returns and
rolls back when it raises. Services only ``flush()``. A long flow that waits on the network
(prefill, scan, register-and-probe) takes the sessionmaker instead and names its phases with
``async with sessionmaker.begin():``, so no session is held across a network call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.hub import HubDep
from dictionary import Dictionary


async def get_settings(hub: HubDep) -> Settings:
    return hub.settings


async def get_session(hub: HubDep) -> AsyncIterator[AsyncSession]:
    """The request's session: committed when the endpoint returns (before the response is
    sent, so a failed commit is the client's error response), rolled back when it raises."""
    async with hub.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def get_dictionary(hub: HubDep) -> Dictionary:
    return hub.dictionary


SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the session ends when the endpoint returns, not after the response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
DictionaryDep = Annotated[Dictionary, Depends(get_dictionary)]
