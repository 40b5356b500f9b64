"""Reading stored connector registrations and their mapping versions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.sources.errors import ConnectorNotFound
from app.sources.models import ConnectorMapping, ConnectorRegistration


async def get_registration(session: AsyncSession, connector_id: str) -> ConnectorRegistration:
    row = await session.get(ConnectorRegistration, connector_id)
    if row is None:
        row = await session.scalar(
            select(ConnectorRegistration).where(ConnectorRegistration.name == connector_id)
        )
    if row is None:
        raise ConnectorNotFound(f"No connector {connector_id!r}.")
    return row


async def list_registrations(session: AsyncSession) -> list[ConnectorRegistration]:
    rows = await session.scalars(
        select(ConnectorRegistration).order_by(ConnectorRegistration.created_at)
    )
    return list(rows.all())


async def mappings_of(
    session: AsyncSession, connector_ids: Iterable[str]
) -> list[ConnectorMapping]:
    ids = list(connector_ids)
    if not ids:
        return []
    rows = await session.scalars(
        select(ConnectorMapping)
        .where(ConnectorMapping.connector_id.in_(ids))
        .order_by(ConnectorMapping.record_type, ConnectorMapping.version)
    )
    return list(rows.all())
