"""Dependencies shared by every domain: the settings, the database session, the dictionary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from dictionary import Dictionary


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_dictionary(request: Request) -> Dictionary:
    dictionary: Dictionary = request.app.state.dictionary
    return dictionary


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
DictionaryDep = Annotated[Dictionary, Depends(get_dictionary)]
