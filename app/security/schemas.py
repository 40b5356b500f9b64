"""Request and response models of the clients API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.security.roles import Role
from app.timestamps import UtcDateTime

PURPOSE_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,99}$"


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    agency: str = Field(min_length=2, max_length=300, description="The agency that runs it.")
    roles: list[Role] = Field(min_length=1)


class KeyOut(BaseModel):
    id: str
    prefix: str
    created_at: UtcDateTime
    revoked_at: UtcDateTime | None
    last_used_at: UtcDateTime | None


class ClientOut(BaseModel):
    id: str
    name: str
    agency: str
    roles: list[Role]
    created_at: UtcDateTime
    disabled_at: UtcDateTime | None
    keys: list[KeyOut]
    procedures: list[str] = Field(
        default_factory=list,
        description="The procedures the client may open and work filings of (procedure grants).",
    )


class ClientCreated(ClientOut):
    api_key: str = Field(description="Shown once. Only a hash is stored.")


class KeyCreated(KeyOut):
    api_key: str = Field(description="Shown once. Only a hash is stored.")


class AccessRightIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_type: str = Field(min_length=1, max_length=100)
    fields: list[str] = Field(min_length=1, description="Record fields the client may read.")
    purposes: list[str] = Field(
        min_length=1, description="Purpose or procedure codes the grant is for."
    )
    legal_basis: str | None = Field(
        default=None,
        max_length=500,
        description="Legal citation that lets these purposes pull without consent; "
        "null means every pull needs the subject's active consent.",
    )


class AccessRightsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rights: list[AccessRightIn]


class AccessRightsOut(BaseModel):
    client_id: str
    rights: list[AccessRightIn]


class ProcedureGrantsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedures: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        max_length=1000,
        description="Procedure codes (GET /v1/procedures) whose filings the client may open, "
        "prefill, fill, submit, decide and dispute. Replaces the whole list.",
    )


class ProcedureGrantsOut(BaseModel):
    client_id: str
    procedures: list[str] = Field(description="Granted procedure codes, sorted, each once.")
