"""Steps the subscription tests share: subscribe, produce changes, drive the sender."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from app.changes.log import NewChange, append_changes
from app.changes.models import ChangeEvent
from app.subscriptions.sender import WebhookSender
from tests.helpers.clients import ApiCredentials

PURPOSE = "identity-check"
CITIZEN = "001090000001"
OTHER_CITIZEN = "001090000002"


def sender(app: FastAPI) -> WebhookSender:
    found: WebhookSender | None = app.state.hub.webhooks
    assert found is not None
    return found


async def subscribe(
    client: httpx.AsyncClient,
    consumer: ApiCredentials,
    url: str | None,
    record_types: tuple[str, ...] = ("Person",),
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"record_types": list(record_types), "purpose": PURPOSE, **extra}
    if url is None:
        body["delivery"] = "pull"
    else:
        body["url"] = url
    answer = await client.post("/v1/subscriptions", headers=consumer.headers, json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


_next_seq = iter(range(1, 1_000_000))


async def change(
    app: FastAPI,
    subject: str = CITIZEN,
    *,
    record_type: str = "Person",
    operation: str = "updated",
    fields: tuple[str, ...] = ("full_name",),
    province: str | None = None,
    system: str = "population",
) -> ChangeEvent:
    """Append one change to the change log, as the feed reader would."""
    hub = app.state.hub
    new = NewChange(
        system=system,
        connector_id="test-connector",
        source_seq=next(_next_seq),
        record_type=record_type,
        operation=operation,
        subject_id=subject,
        dictionary_version=hub.dictionary.record_type(record_type).latest().version,
        changed_fields=fields,
        province_code=province,
    )
    async with hub.sessionmaker.begin() as session:
        appended = await append_changes(session, [new], hub.change_listeners)
    assert len(appended) == 1
    return appended[0]


async def send_until(app: FastAPI, done: Any, rounds: int = 20) -> None:
    """Run the sender until ``done()`` holds; at most ``rounds`` batches."""
    for _ in range(rounds):
        if done():
            return
        await sender(app).run_once()
    assert done(), "the sender did not get there"


async def deliveries(
    client: httpx.AsyncClient, consumer: ApiCredentials, subscription_id: str
) -> list[dict[str, Any]]:
    answer = await client.get(
        f"/v1/subscriptions/{subscription_id}/deliveries", headers=consumer.headers
    )
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
