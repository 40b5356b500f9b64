"""Tables of the security domain: API clients, their keys, access rights and procedure grants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.timestamps import UtcTimestamp


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    agency: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcTimestamp(), default=None)


class AccessRight(Base):
    """One grant of the X-Road-style access list: a record type, its fields, for purposes.

    ``legal_basis`` is the citation under which the purpose may pull without the subject's
    consent; when it is null, every pull under this grant needs an active consent.
    """

    __tablename__ = "access_rights"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(100))
    fields: Mapped[list[Any]]
    purposes: Mapped[list[Any]]
    legal_basis: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())


class ProcedureGrant(Base):
    """One procedure a client's agency handles: it may open and work filings of it.

    A filing's pulls are authorised by the procedure's components, not by the access rights,
    so without this list any consumer could pull a procedure's state-held fields.
    """

    __tablename__ = "procedure_grants"
    __table_args__ = (UniqueConstraint("client_id", "procedure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"), index=True)
    procedure: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp())
