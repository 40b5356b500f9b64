"""The ASGI core shared by the four mocks: routing, auth, fault injection and statistics.

A raw ASGI app rather than a framework: the hub's benchmark compares itself with calling the
population mock directly, so the mock must add as little as it can. Each system supplies its
routes, its auth style and its error envelope (see ``SystemSpec``).

Control endpoints, on every mock and without auth (they exist only on mocks):

* ``GET /`` (what this mock is, its auth and its endpoints);
* ``GET /__faults``, ``PUT /__faults`` (replace), ``PATCH /__faults`` (merge),
  ``DELETE /__faults`` (reset);
* ``GET /__stats`` (requests counted by route and status, faults injected by kind);
* ``DELETE /__stats`` (reset the counters);
* ``DELETE /__tokens`` (expire every OAuth2 token issued so far);
* ``GET /__writes`` (the writes applied, by endpoint and idempotency key), ``DELETE /__writes``
  (forget them, the injected changes and the change feed: back to the generated dataset, the
  feed's sequence restarts at 1). ``GET /__stats`` counts writes per endpoint under ``writes``
  (see ``connectors/mocks/writes.py``);
* ``POST /__changes`` (inject one change or a list of them: applied to what the reads serve
  and appended to the change feed), ``GET /__changes`` (the feed's last sequence); see
  ``connectors/mocks/feeds.py``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import orjson

from connectors.mocks.settings import MockSettings

if TYPE_CHECKING:
    from connectors.mocks.feeds import ChangeControl
    from connectors.mocks.writes import WriteState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

AuthKind = Literal["api_key", "oauth2"]
TOKEN_PATH = "/oauth/token"
_MAX_BODY = 64 * 1024
_MAX_CONTROL_BODY = 16 * 1024 * 1024  # POST /__changes takes thousands of changes at once
_MAX_TOKENS = 50_000


@dataclass(slots=True)
class Reply:
    status: int
    body: Any
    headers: tuple[tuple[bytes, bytes], ...] = ()


class NotFound(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(Exception):
    """A final refusal with its own status: 409 for a conflict, 422 for an invalid write."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a handler sees it."""

    params: dict[str, str]  # path parameters
    query: dict[str, str]
    body: bytes = b""  # read for every method but GET
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case

    def int_param(self, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"Tham số {name} phải là số nguyên") from None
        if not minimum <= value <= maximum:
            raise BadRequest(f"Tham số {name} phải trong khoảng {minimum}..{maximum}")
        return value


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str  # e.g. /api/v2/cong-dan/{soDinhDanh}
    handler: Handler


@dataclass(frozen=True, slots=True)
class SystemSpec:
    """What makes one mock itself: its name, auth, error envelope and routes."""

    name: str
    title: str
    auth: AuthKind
    error_body: Callable[[int, str], Any]  # (HTTP status, message) -> the system's error body
    routes: tuple[Route, ...]
    api_key_header: str = "X-API-Key"
    writes: WriteState | None = None  # the overlay of accepted writes, for systems that take them
    changes: ChangeControl | None = None  # the change feed and POST /__changes


@dataclass(slots=True)
class Faults:
    """Injected faults; every field has a harmless default. See docs/contracts.md section 6."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    hang_rate: float = 0.0
    hang_seconds: float = 30.0
    malformed_rate: float = 0.0
    drift: dict[str, str] = field(default_factory=dict)
    token_ttl_seconds: int | None = None
    seed: int | None = None  # seeds the draws for the rates; defaults to the dataset seed
    # Whether error, hang, malformed and drift also hit POST /oauth/token (latency always does).
    token_endpoint_faults: bool = False

    @classmethod
    def parse(cls, data: object, base: Faults | None = None) -> Faults:
        """Faults from a JSON object; keys not given keep ``base``'s values (or defaults)."""
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadRequest(f"unknown fault settings: {', '.join(unknown)}")
        values = asdict(base) if base is not None else asdict(cls())
        values.update(data)
        problems: list[str] = []
        for name in ("latency_ms", "latency_jitter_ms", "hang_seconds"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                problems.append(f"{name} must be a number >= 0")
        for name in ("error_rate", "hang_rate", "malformed_rate"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                problems.append(f"{name} must be a number between 0 and 1")
        drift = values["drift"]
        if drift is None:
            values["drift"] = {}
        elif not isinstance(drift, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in drift.items()
        ):
            problems.append("drift must map field names to new field names")
        for name in ("token_ttl_seconds", "seed"):
            value = values[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                problems.append(f"{name} must be null or an integer >= 0")
        if not isinstance(values["token_endpoint_faults"], bool):
            problems.append("token_endpoint_faults must be true or false")
        if problems:
            raise BadRequest("; ".join(problems))
        return cls(**values)


@dataclass(slots=True)
class Stats:
    started_at: float = field(default_factory=time.time)
    requests: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    tokens_issued: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_route": dict(self.by_route),
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "faults_injected": dict(self.faults),
            "tokens_issued": self.tokens_issued,
            "uptime_seconds": round(time.time() - self.started_at, 3),
        }


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{pattern}$")


def _rename_keys(value: Any, drift: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {drift.get(k, k): _rename_keys(v, drift) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_keys(v, drift) for v in value]
    return value


_JSON = (b"content-type", b"application/json; charset=utf-8")


class MockApp:
    """One mock source system as an ASGI app."""

    def __init__(self, spec: SystemSpec, settings: MockSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.faults = Faults()
        self.stats = Stats()
        self._rng = random.Random(settings.seed)
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._routes: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        self._static: dict[tuple[str, str], Route] = {}
        for route in spec.routes:
            if "{" in route.template:
                self._routes.setdefault(route.method, []).append((_compile(route.template), route))
            else:
                self._static[(route.method, route.template)] = route
        self._api_key_header = spec.api_key_header.lower().encode()

    # -- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        method: str = scope["method"]
        if path.startswith("/__") or (path == "/" and method == "GET"):
            reply = await self._control(method, path, receive)
            await self._send(send, reply.status, orjson.dumps(reply.body), reply.headers)
            return
        self.stats.requests += 1
        reply, route_name = await self._serve(scope, method, path, receive)
        self.stats.by_route[route_name] += 1
        self.stats.by_status[reply.status] += 1
        body = reply.body
        exempt = route_name == TOKEN_PATH and not self.faults.token_endpoint_faults
        drift = self.faults.drift
        if drift and reply.status < 400 and not exempt:
            body = _rename_keys(body, drift)
        payload = orjson.dumps(body)
        malformed = self.faults.malformed_rate
        if malformed and reply.status < 400 and not exempt and self._rng.random() < malformed:
            self.stats.faults["malformed"] += 1
            payload = payload[: max(1, len(payload) // 2)]
            await self._send(send, 200, payload, reply.headers)
            return
        await self._send(send, reply.status, payload, reply.headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _send(
        send: Send, status: int, payload: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        headers = [_JSON, (b"content-length", str(len(payload)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _serve(
        self, scope: Scope, method: str, path: str, receive: Receive
    ) -> tuple[Reply, str]:
        faults = self.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            delay = faults.latency_ms + self._rng.uniform(0, faults.latency_jitter_ms)
            self.stats.faults["latency"] += 1
            await asyncio.sleep(delay / 1000)
        if path == TOKEN_PATH and self.spec.auth == "oauth2" and not faults.token_endpoint_faults:
            return await self._token(scope, method, receive), TOKEN_PATH
        if faults.hang_rate and self._rng.random() < faults.hang_rate:
            self.stats.faults["hang"] += 1
            await asyncio.sleep(faults.hang_seconds)
        if faults.error_rate and self._rng.random() < faults.error_rate:
            self.stats.faults["error"] += 1
            status = self._rng.choice((500, 502, 503))
            return self._error(status, "Hệ thống đang bận, vui lòng thử lại sau"), "fault"

        if self.spec.auth == "oauth2" and path == TOKEN_PATH:
            return await self._token(scope, method, receive), TOKEN_PATH

        route, params = self._match(method, path)
        if route is None:
            if params is None:
                return self._error(404, f"Không có tài nguyên {path}"), "unmatched"
            return self._error(405, "Phương thức không được hỗ trợ"), "unmatched"
        refusal = self._authenticate(scope)
        if refusal is not None:
            return refusal, route.template
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            call = Call(params or {}, query)
            if method != "GET":
                headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                           for k, v in scope["headers"]}  # fmt: skip
                call = Call(params or {}, query, await _read_body(receive), headers)
            return route.handler(call), route.template
        except NotFound as exc:
            return self._error(404, exc.message), route.template
        except BadRequest as exc:
            return self._error(400, exc.message), route.template
        except Refused as exc:
            return self._error(exc.status, exc.message), route.template

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
        """(route, params); (None, {}) when the path exists for another method."""
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        for pattern, candidate in self._routes.get(method, ()):
            match = pattern.match(path)
            if match is not None:
                return candidate, match.groupdict()
        for (other_method, template), _ in self._static.items():
            if template == path and other_method != method:
                return None, {}
        for other_method, routes in self._routes.items():
            if other_method != method and any(p.match(path) for p, _ in routes):
                return None, {}
        return None, None

    def _error(self, status: int, message: str) -> Reply:
        return Reply(status, self.spec.error_body(status, message))

    # -- auth -------------------------------------------------------------------------------

    def _authenticate(self, scope: Scope) -> Reply | None:
        headers = scope["headers"]
        if self.spec.auth == "api_key":
            supplied = _header(headers, self._api_key_header)
            if supplied is None:
                return self._error(401, f"Thiếu khóa truy cập ({self.spec.api_key_header})")
            if not secrets.compare_digest(supplied, self.settings.api_key.encode()):
                return self._error(401, "Khóa truy cập không hợp lệ")
            return None
        authorization = _header(headers, b"authorization") or b""
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        challenge = (b"www-authenticate", b'Bearer error="invalid_token"')
        if scheme.lower() != "bearer" or not token:
            reply = self._error(401, "Thiếu mã truy cập (Bearer token)")
            reply.headers = ((b"www-authenticate", b"Bearer"),)
            return reply
        expiry = self._tokens.get(token)
        if expiry is None:
            reply = self._error(401, "Mã truy cập không hợp lệ")
            reply.headers = (challenge,)
            return reply
        if time.monotonic() >= expiry:
            reply = self._error(401, "Mã truy cập đã hết hạn")
            reply.headers = ((b"www-authenticate", b'Bearer error="invalid_token", '
                              b'error_description="the access token expired"'),)  # fmt: skip
            return reply
        return None

    async def _token(self, scope: Scope, method: str, receive: Receive) -> Reply:
        if method != "POST":
            return Reply(405, {"error": "invalid_request", "error_description": "use POST"})
        try:
            body = await _read_body(receive)
        except BadRequest as exc:
            return Reply(400, {"error": "invalid_request", "error_description": exc.message})
        return self._issue_token(scope, body)

    def _issue_token(self, scope: Scope, body: bytes) -> Reply:
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _header(scope["headers"], b"authorization")
        if basic is not None and basic[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "only client_credentials is supported"})  # fmt: skip
        if not (
            client_id is not None
            and client_secret is not None
            and secrets.compare_digest(client_id.encode(), self.settings.oauth_client_id.encode())
            and secrets.compare_digest(
                client_secret.encode(), self.settings.oauth_client_secret.encode()
            )
        ):
            return Reply(
                401,
                {"error": "invalid_client", "error_description": "unknown client or bad secret"},
                ((b"www-authenticate", b'Basic realm="oauth"'),),
            )
        ttl = self.faults.token_ttl_seconds
        if ttl is None:
            ttl = self.settings.token_ttl_seconds
        now = time.monotonic()
        if len(self._tokens) >= _MAX_TOKENS:
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
        token = secrets.token_urlsafe(32)
        self._tokens[token] = now + ttl
        self.stats.tokens_issued += 1
        return Reply(
            200,
            {"access_token": token, "token_type": "bearer", "expires_in": ttl},
            ((b"cache-control", b"no-store"),),
        )

    # -- control ----------------------------------------------------------------------------

    async def _control(self, method: str, path: str, receive: Receive) -> Reply:
        if path == "/":
            return Reply(200, self._describe())
        if path == "/__faults":
            if method == "GET":
                return Reply(200, asdict(self.faults))
            if method == "DELETE":
                self._set_faults(Faults())
                return Reply(200, asdict(self.faults))
            if method in ("PUT", "PATCH"):
                try:
                    data = orjson.loads(await _read_body(receive) or b"{}")
                    base = self.faults if method == "PATCH" else None
                    self._set_faults(Faults.parse(data, base))
                except orjson.JSONDecodeError:
                    return Reply(400, {"error": "the body is not JSON"})
                except BadRequest as exc:
                    return Reply(422, {"error": exc.message})
                return Reply(200, asdict(self.faults))
        elif path == "/__tokens":
            if method == "DELETE":
                # Every token issued so far expires now: the next call with one is refused
                # as expired, as when a token runs out in the middle of a run.
                now = time.monotonic()
                expired = sum(1 for expiry in self._tokens.values() if expiry > now)
                self._tokens = dict.fromkeys(self._tokens, now)
                return Reply(200, {"expired": expired})
        elif path == "/__stats":
            if method == "GET":
                return Reply(200, self._stats_body())
            if method == "DELETE":
                self.stats = Stats()
                if self.spec.writes is not None:
                    self.spec.writes.reset_counters()
                return Reply(200, self._stats_body())
        elif path == "/__writes" and self.spec.writes is not None:
            if method == "GET":
                return Reply(200, {"system": self.spec.name, **self.spec.writes.journal()})
            if method == "DELETE":
                forgotten = self.spec.writes.forget()
                return Reply(200, {"system": self.spec.name, "forgotten": forgotten})
        elif path == "/__changes" and self.spec.changes is not None:
            if method == "GET":
                return Reply(200, {"system": self.spec.name, "last": self.spec.changes.feed.last})
            if method == "POST":
                return await self._inject(self.spec.changes, receive)
        else:
            return Reply(404, {"error": f"no control endpoint {path}"})
        return Reply(405, {"error": f"{method} is not allowed on {path}"})

    async def _inject(self, control: ChangeControl, receive: Receive) -> Reply:
        """Apply injected changes in order; the first refused one stops the rest (``applied``
        says how many went in before it)."""
        from connectors.mocks.feeds import parse_injections

        try:
            data = orjson.loads(await _read_body(receive, _MAX_CONTROL_BODY) or b"null")
            injections = parse_injections(data, control.kinds)
        except orjson.JSONDecodeError:
            return Reply(400, {"error": "the body is not JSON"})
        except BadRequest as exc:
            return Reply(400, {"error": exc.message})
        first = control.feed.last + 1
        for applied, injection in enumerate(injections):
            try:
                control.apply(injection)
            except (BadRequest, NotFound, Refused) as exc:
                status = 400 if isinstance(exc, BadRequest) else 404
                status = exc.status if isinstance(exc, Refused) else status
                return Reply(status, {"error": exc.message, "index": applied, "applied": applied})
        last = control.feed.last
        return Reply(200, {"system": self.spec.name, "applied": len(injections),
                           "sequences": [first, last] if last >= first else [], "last": last})  # fmt: skip

    def _stats_body(self) -> dict[str, Any]:
        body = {"system": self.spec.name, **self.stats.snapshot()}
        if self.spec.writes is not None:
            body["writes"] = self.spec.writes.counters()
        return body

    def _describe(self) -> dict[str, Any]:
        """What a newcomer needs to call this mock (``GET /``, no auth)."""
        auth: dict[str, Any] = (
            {"kind": "api_key", "header": self.spec.api_key_header}
            if self.spec.auth == "api_key"
            else {"kind": "oauth2", "token_url": TOKEN_PATH, "grant_type": "client_credentials"}
        )
        return {
            "system": self.spec.name,
            "title": self.spec.title,
            "auth": auth,
            "endpoints": [f"{r.method} {r.template}" for r in self.spec.routes],
            "control": [
                "GET|PUT|PATCH|DELETE /__faults",
                "GET|DELETE /__stats",
                "DELETE /__tokens",
                *(["GET|DELETE /__writes"] if self.spec.writes is not None else []),
                *(["GET|POST /__changes"] if self.spec.changes is not None else []),
            ],
            "persons": self.settings.persons,
            "seed": self.settings.seed,
        }

    def _set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(self.settings.seed if faults.seed is None else faults.seed)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_body(receive: Receive, limit: int = _MAX_BODY) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest("the request body is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
