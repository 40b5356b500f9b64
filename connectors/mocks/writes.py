"""How the mocks accept writes: idempotency, dry runs, counters and the in-memory overlay.

The generated dataset never changes; what a system has accepted lives in an overlay beside it
(one per mock app), which the read endpoints consult first. ``DELETE /__writes`` forgets the
overlay. Each system says where its idempotency key travels (a header or a body field), what
query parameter asks for a dry run, and how it answers, so the four stay as different as the
real registers are. The common behaviour:

* the same key with the same body is applied once; a repeat answers what the first answer
  said (header ``Idempotent-Replayed: true``) and counts as a duplicate;
* the same key with another body is a conflict (409), final;
* a dry run validates and answers what would be done, applies nothing and keeps no key;
* an invalid body is final (400 or 422 in the system's error format); faults injected with
  ``/__faults`` hit writes before they are applied (retryable 5xx, hangs).

``GET /__stats`` reports, per write endpoint, ``received``, ``applied``, ``duplicates``,
``rejected`` and ``dry_runs``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

from connectors.mocks.server import Call, Refused, Reply, Route

REPLAYED = (b"idempotent-replayed", b"true")
COUNTERS = ("received", "applied", "duplicates", "rejected", "dry_runs")


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated write: what it will do (``preview``) and how to do it."""

    preview: dict[str, Any]
    apply: Callable[[], Reply]


@dataclass(frozen=True, slots=True)
class KeyFrom:
    """Where a system carries its idempotency key: a request header or a top-level body field."""

    header: str | None = None
    body_field: str | None = None

    def read(self, call: Call, body: dict[str, Any]) -> str | None:
        if self.header is not None:
            return call.headers.get(self.header.lower()) or None
        assert self.body_field is not None
        value = body.get(self.body_field)
        return value if isinstance(value, str) and value else None

    @property
    def name(self) -> str:
        return self.header or self.body_field or ""


@dataclass(frozen=True, slots=True)
class Remembered:
    fingerprint: str
    reply: Reply


@dataclass(slots=True)
class WriteState:
    """One mock's writes: the answers by idempotency key, the counters and the overlays."""

    replies: dict[tuple[str, str], Remembered] = field(default_factory=dict)
    by_endpoint: dict[str, Counter[str]] = field(default_factory=dict)
    overlays: list[Callable[[], None]] = field(default_factory=list)  # each clears itself

    def count(self, template: str, counter: str) -> None:
        self.by_endpoint.setdefault(template, Counter())[counter] += 1

    def counters(self) -> dict[str, dict[str, int]]:
        return {t: {k: c[k] for k in COUNTERS} for t, c in sorted(self.by_endpoint.items())}

    def reset_counters(self) -> None:
        self.by_endpoint.clear()

    def journal(self) -> dict[str, Any]:
        keys: dict[str, list[str]] = {}
        for template, key in self.replies:
            keys.setdefault(template, []).append(key)
        return {"applied": keys}

    def forget(self) -> int:
        forgotten = len(self.replies)
        self.replies.clear()
        for clear in self.overlays:
            clear()
        return forgotten


@dataclass(frozen=True, slots=True)
class WriteEndpoint:
    """A write route of one system, in that system's own manners."""

    method: str
    template: str
    key: KeyFrom
    dry_run_param: str  # e.g. ``dryRun``: the query parameter that asks for validation only
    plan: Callable[[Call, dict[str, Any]], Plan]  # validates (raises Refused) or plans
    dry_run_reply: Callable[[dict[str, Any]], Reply]  # the system's answer to a dry run

    def route(self, state: WriteState) -> Route:
        def handle(call: Call) -> Reply:
            return self._handle(state, call)

        return Route(self.method, self.template, handle)

    def _handle(self, state: WriteState, call: Call) -> Reply:
        state.count(self.template, "received")
        try:
            body = _json_object(call.body)
            if call.query.get(self.dry_run_param, "").lower() in ("1", "true"):
                plan = self.plan(call, body)
                state.count(self.template, "dry_runs")
                return self.dry_run_reply(plan.preview)
            key = self.key.read(call, body)
            if key is None:
                raise Refused(400, f"Thiếu khóa chống trùng lặp ({self.key.name})")
            fingerprint = _fingerprint(call, body)
            remembered = state.replies.get((self.template, key))
            if remembered is not None:
                if remembered.fingerprint != fingerprint:
                    raise Refused(409, f"Khóa {key} đã dùng cho một yêu cầu khác")
                state.count(self.template, "duplicates")
                old = remembered.reply
                return Reply(old.status, old.body, (*old.headers, REPLAYED))
            reply = self.plan(call, body).apply()
        except Refused:
            state.count(self.template, "rejected")
            raise
        state.replies[(self.template, key)] = Remembered(fingerprint, reply)
        state.count(self.template, "applied")
        return reply


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise Refused(400, "Nội dung yêu cầu không phải JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "Nội dung yêu cầu phải là một đối tượng JSON")
    return body


def _fingerprint(call: Call, body: dict[str, Any]) -> str:
    material = orjson.dumps({"params": call.params, "body": body}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()


# -- validation helpers, shared by the systems' write modules --------------------------------


def text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Refused(422, f"Trường {name} là bắt buộc và phải là chuỗi")
    return value.strip()


def required_text(body: dict[str, Any], name: str) -> str:
    value = text(body, name)
    assert value is not None
    return value


def obj(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if not isinstance(value, dict):
        raise Refused(422, f"Trường {name} là bắt buộc và phải là một đối tượng")
    return value


def citizen_id(body: dict[str, Any], name: str) -> str:
    value = required_text(body, name)
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise Refused(422, f"Trường {name} phải gồm 12 chữ số")
    return value


def day(body: dict[str, Any], name: str, fmt: str = "%d/%m/%Y") -> date:
    value = required_text(body, name)
    try:
        return datetime.strptime(value, fmt).date()
    except ValueError:
        raise Refused(422, f"Trường {name} không đúng định dạng ngày ({fmt})") from None


def province(place: dict[str, Any], labels: dict[str, str]) -> str:
    """``place["maTinh"]``, which must be a province code in force (a key of ``labels``)."""
    code = required_text(place, "maTinh")
    if code not in labels:
        raise Refused(422, f"Mã tỉnh {code} không hợp lệ")
    return code


def now() -> datetime:
    """When a write is applied: the overlay's records are stamped with the real time."""
    return datetime.now().replace(microsecond=0)
