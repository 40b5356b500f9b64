"""What reaches the server log when a request fails inside the hub: the route's template,
never the path's citizen ID, and never a value the database was given or quoted back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

CITIZEN = "079185000123"
SECRET = "Nguyen-Van-An-1990-05-17"  # a dossier value


@pytest.fixture
async def failing_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with one more route, shaped like the data path, whose query the database
    refuses while quoting the value (PostgreSQL) or merely refusing it (SQLite)."""

    async def read_dossier(subject_id: str) -> dict[str, str]:
        async with app.state.hub.engine.connect() as connection:
            statement = (
                "SELECT CAST(:value AS integer)"
                if connection.dialect.name == "postgresql"
                else "INSERT INTO audit_events (kind) VALUES (:value)"
            )
            await connection.execute(text(statement), {"value": f"{subject_id}:{SECRET}"})
        return {}

    app.add_api_route("/v1/test-dossier/{subject_id}", read_dossier)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def test_a_database_error_leaves_no_value_and_no_citizen_id_in_the_log(
    failing_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await failing_client.get(f"/v1/test-dossier/{CITIZEN}")
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    formatter = logging.Formatter()
    hub_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(formatter.format(record) for record in hub_records)
    assert "unhandled error" in logged
    assert "message withheld" in logged
    assert SECRET not in logged
    assert CITIZEN not in logged
