"""Change feeds: what each mock has changed since the dataset was generated, in sequence.

Registers publish their changes the way a journal does: a sequence number per change (1, 2, 3...
per system, restarting at 1 after ``DELETE /__writes``), the operation (insert, update,
delete), the kind of record and its subject's key as the read endpoints take it, the record's
source reference (``maHoSo``), its version (generated records are at version 1, each change
adds one, an inserted record starts at 1), when the change was registered (a timestamp in the
system's format) and when it takes effect (``dd/mm/yyyy``), and for an update the fields that
changed as paths in the system's own read JSON. Never the values: a reader pulls them through
the read endpoints.

Each system names all of this in its own words (:class:`FeedStyle`); the module docstrings and
``docs/contracts.md`` section 6 give the exact endpoint, parameters and keys. A page is the
changes with a sequence strictly greater than the ``after`` parameter, oldest first, at most
``size`` (1..1000, default 100), with the last sequence the system holds, so a reader knows
whether it has caught up. Entries are rendered once, when appended, and kept in a list indexed
by sequence: a page costs what it holds.

What lands in a feed: every accepted write and correction (refusals, dry runs and replayed
duplicates add nothing) and every change injected with ``POST /__changes`` (see
:func:`parse_injections`), which goes through the same overlays the writes use, so the reads
serve it at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, cast

from connectors.mocks.corrections import FieldRule
from connectors.mocks.formats import dmy
from connectors.mocks.server import BadRequest, Call, Refused, Reply, Route
from connectors.mocks.writes import now

Operation = Literal["insert", "update", "delete"]
OPERATIONS: tuple[Operation, ...] = ("insert", "update", "delete")
MAX_PAGE = 1000
DEFAULT_PAGE = 100
MAX_INJECTIONS = 10_000  # changes in one POST /__changes
KEYS = (
    "sequence",
    "operation",
    "kind",
    "subject",
    "reference",
    "version",
    "registered_at",
    "effective_on",
    "fields",
)


@dataclass(frozen=True, slots=True)
class FeedStyle:
    """How one system names its feed: path, parameters, keys, codes and envelope."""

    path: str
    after_param: str
    size_param: str
    keys: Mapping[str, str]  # each of KEYS -> the system's key
    operations: Mapping[str, str]  # insert | update | delete -> the system's code
    kinds: Mapping[str, str]  # e.g. person -> CONG_DAN
    timestamp: str  # strftime format of ``registered_at``
    answer: Callable[[list[dict[str, Any]], int], Reply]  # (page, last sequence) -> envelope


@dataclass(slots=True)
class ChangeFeed:
    """One system's changes, in order; ``entries[n - 1]`` is sequence ``n``."""

    style: FeedStyle
    entries: list[dict[str, Any]] = field(default_factory=list)
    versions: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, record) -> n

    def clear(self) -> None:
        self.entries.clear()
        self.versions.clear()

    @property
    def last(self) -> int:
        return len(self.entries)

    def record(
        self,
        operation: Operation,
        kind: str,
        subject: str,
        reference: str | None,
        effective_on: date,
        changed: Sequence[str] = (),
        *,
        at: datetime | None = None,
        extra: Mapping[str, Any] | None = None,
        record: str | None = None,
    ) -> dict[str, Any]:
        """Append one change and answer its entry as the feed serves it. ``extra`` adds the
        system's own keys of the record (``soHoKhau``, ``maThua``...); ``record`` names the
        record whose version counts, when subject and reference do not (a parcel that changes
        owner, a certificate that shares its parcel's reference)."""
        style, keys = self.style, self.style.keys
        record_key = (kind, record or f"{subject}|{reference or ''}")
        # A generated record is at version 1 before its first change; an inserted one starts at 1.
        version = self.versions.get(record_key, 0 if operation == "insert" else 1) + 1
        self.versions[record_key] = version
        entry: dict[str, Any] = {
            keys["sequence"]: len(self.entries) + 1,
            keys["operation"]: style.operations[operation],
            keys["kind"]: style.kinds[kind],
            keys["subject"]: subject,
        }
        if reference is not None:
            entry[keys["reference"]] = reference
        if extra:
            entry.update(extra)
        entry[keys["version"]] = version
        entry[keys["registered_at"]] = (at or now()).strftime(style.timestamp)
        entry[keys["effective_on"]] = dmy(effective_on)
        if operation == "update":
            entry[keys["fields"]] = list(dict.fromkeys(changed))
        self.entries.append(entry)
        return entry

    def page(self, after: int, size: int) -> list[dict[str, Any]]:
        return self.entries[after : after + size]

    def route(self) -> Route:
        style = self.style

        def read(call: Call) -> Reply:
            after = call.int_param(style.after_param, 0, 0, 10**12)
            size = call.int_param(style.size_param, DEFAULT_PAGE, 1, MAX_PAGE)
            return style.answer(self.page(after, size), self.last)

        return Route("GET", style.path, read)


# -- the control API: POST /__changes -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Injection:
    """One change asked for through ``POST /__changes``, checked for shape only."""

    kind: str
    subject: str
    operation: Operation
    fields: dict[str, Any]
    reference: str | None = None
    effective: date | None = None


_INJECTION_KEYS = frozenset({"kind", "subject", "operation", "fields", "reference", "effective"})


def parse_injections(data: object, kinds: Mapping[str, str]) -> list[Injection]:
    """One change (an object) or many (a list, or ``{"changes": [...]}``); ``BadRequest``
    names the first malformed one. ``kinds`` are the system's kinds (``person``...)."""
    if isinstance(data, dict) and set(data) == {"changes"}:
        data = data["changes"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BadRequest("no change given")
    if len(items) > MAX_INJECTIONS:
        raise BadRequest(f"at most {MAX_INJECTIONS} changes per request")
    return [_injection(item, kinds, n) for n, item in enumerate(items)]


def _injection(item: object, kinds: Mapping[str, str], n: int) -> Injection:
    where = f"change {n}: "
    if not isinstance(item, dict):
        raise BadRequest(f"{where}must be a JSON object")
    unknown = sorted(set(item) - _INJECTION_KEYS)
    if unknown:
        raise BadRequest(f"{where}unknown keys: {', '.join(unknown)}")
    kind, subject, operation = item.get("kind"), item.get("subject"), item.get("operation")
    if not isinstance(kind, str) or kind not in kinds:
        raise BadRequest(f"{where}kind must be one of {', '.join(kinds)}")
    if not isinstance(subject, str) or not subject:
        raise BadRequest(f"{where}subject must be a non-empty string")
    if operation not in OPERATIONS:
        raise BadRequest(f"{where}operation must be one of {', '.join(OPERATIONS)}")
    changed = item.get("fields") or {}
    if not isinstance(changed, dict):
        raise BadRequest(f"{where}fields must be an object of field path -> value")
    if operation == "update" and not changed:
        raise BadRequest(f"{where}an update needs fields")
    if operation == "delete" and changed:
        raise BadRequest(f"{where}a delete takes no fields")
    reference = item.get("reference")
    if reference is not None and (not isinstance(reference, str) or not reference):
        raise BadRequest(f"{where}reference must be a non-empty string")
    effective = None
    if item.get("effective") is not None:
        try:
            effective = datetime.strptime(str(item["effective"]), "%d/%m/%Y").date()
        except ValueError:
            raise BadRequest(f"{where}effective must be a date dd/mm/yyyy") from None
    return Injection(kind, subject, cast(Operation, operation), changed, reference, effective)


def unsupported(injection: Injection) -> BadRequest:
    return BadRequest(
        f"this mock does not inject {injection.operation} of {injection.kind} "
        f"with fields {', '.join(injection.fields) or '(none)'}"
    )


def in_format(
    injection: Injection, values: Mapping[str, Any], rules: Mapping[str, FieldRule]
) -> list[tuple[str, Any]]:
    """(path, value as the reads serve it) for each of ``values``: ``BadRequest`` for a field
    this mock does not inject, ``Refused(422)`` for a value not in the system's format."""
    rendered = []
    for path, value in values.items():
        rule = rules.get(path)
        if rule is None:
            raise unsupported(injection)
        try:
            rendered.append((path, rule.render(rule.parse(value))))
        except ValueError as exc:
            raise Refused(422, f"{path}: {exc}") from None
    return rendered


@dataclass(frozen=True, slots=True)
class ChangeControl:
    """What ``POST /__changes`` needs of a system: its feed, its kinds and how to apply one."""

    feed: ChangeFeed
    apply: Callable[[Injection], None]  # raises BadRequest, NotFound or Refused

    @property
    def kinds(self) -> Mapping[str, str]:
        return self.feed.style.kinds
