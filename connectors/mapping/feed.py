"""The change-feed direction of a mapping: where a system lists its changes, and how one
entry of that list reads as a change of this mapping's record type (``changes``).

```yaml
changes:
  path: /api/v2/nhat-ky-thay-doi         # GET; the feed, oldest first
  after_param: sauSoThuTu                # changes with a sequence above this
  size_param: soBanGhi
  size: 500
  entries_at: duLieu
  last_at: soThuTuCuoi                   # optional: the last sequence the system holds
  sequence_at: soThuTu
  kind: {at: loaiHoSo, equals: CONG_DAN} # the entries that are this record type
  operation: {at: loaiThayDoi, codes: {THEM: created, SUA: updated, XOA: deleted}}
  subject_at: soDinhDanh                 # the subject, as the read request takes it
  reference_at: maHoSo                   # optional: the record's source reference
  version_at: phienBan                   # optional: the record's version at the source
  registered_at: {from: thoiGianGhiNhan, date_format: "%d/%m/%Y %H:%M:%S"}
  effective_at: {from: ngayHieuLuc, date_format: "%d/%m/%Y"}
  fields_at: truongThayDoi               # optional: the changed fields, as the source names them
```

The changed fields are named as the source names them; the read mapping's own ``fields``
translate them to dictionary fields (a source field the mapping does not read is not part
of the record type, and is left out). Entries carry no values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .errors import _Problems
from .paths import Getter, make_getter, parse_path
from .transforms import SOURCE_TIMEZONE, check_date_format, date_parser
from .write import read_source_field

FEED_KEYS = frozenset(
    {
        "path",
        "after_param",
        "size_param",
        "size",
        "entries_at",
        "last_at",
        "sequence_at",
        "kind",
        "operation",
        "subject_at",
        "reference_at",
        "version_at",
        "registered_at",
        "effective_at",
        "fields_at",
    }
)
OPERATIONS = frozenset({"created", "updated", "deleted"})
MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One change of the mapping's record type, as the feed says it."""

    sequence: int
    operation: str  # created | updated | deleted
    subject_id: str
    source_reference: str | None
    version: int | None
    registered_at: datetime | None
    effective_on: date | None
    changed_fields: tuple[str, ...]  # dictionary field names
    unmapped_fields: int  # changed source fields the record type does not read


@dataclass(frozen=True, slots=True)
class CompiledFeed:
    path: str
    after_param: str
    size_param: str
    size: int
    entries_at: tuple[str | int, ...]
    last_at: Getter | None
    _sequence: Getter
    _kind: Getter
    _kind_value: str
    _operation: Getter
    _operations: dict[str, str]
    _subject: Getter
    _reference: Getter | None
    _version: Getter | None
    _registered: Callable[[Any], datetime | None]
    _effective: Callable[[Any], date | None]
    _fields: Getter | None
    _field_names: dict[str, str]

    @property
    def key(self) -> tuple[str, str, str, tuple[str | int, ...]]:
        """Mappings whose feeds share this key read one and the same feed."""
        return self.path, self.after_param, self.size_param, self.entries_at

    def params(self, after: int) -> dict[str, Any]:
        return {self.after_param: after, self.size_param: self.size}

    def sequence_of(self, raw: Any) -> int | None:
        value = self._sequence(raw)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def last_of(self, body: Any) -> int | None:
        if self.last_at is None:
            return None
        value = self.last_at(body)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def entry(self, raw: Any) -> FeedEntry | None:
        """The entry as a change of this record type; None if it is another kind (or not a
        change this mapping can read: no sequence, subject or known operation)."""
        if str(self._kind(raw)) != self._kind_value:
            return None
        sequence = self.sequence_of(raw)
        operation = self._operations.get(str(self._operation(raw)))
        subject = self._subject(raw)
        if sequence is None or operation is None or subject in (None, ""):
            return None
        changed: list[str] = []
        unmapped = 0
        listed = self._fields(raw) if self._fields is not None else None
        for name in listed if isinstance(listed, list) else ():
            field_name = self._field_names.get(str(name))
            if field_name is None:
                unmapped += 1
            elif field_name not in changed:
                changed.append(field_name)
        reference = self._reference(raw) if self._reference is not None else None
        version = self._version(raw) if self._version is not None else None
        return FeedEntry(
            sequence=sequence,
            operation=operation,
            subject_id=str(subject),
            source_reference=str(reference) if reference not in (None, "") else None,
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            registered_at=self._registered(raw),
            effective_on=self._effective(raw),
            changed_fields=tuple(changed),
            unmapped_fields=unmapped,
        )


def _iso(text: str, _fmt: str) -> datetime:
    return datetime.fromisoformat(text)


def _moment(get: Getter, fmt: str, as_date: bool) -> Callable[[Any], Any]:
    parse = _iso if fmt == "iso" else date_parser(fmt)

    def read(raw: Any) -> Any:
        value = get(raw)
        if not isinstance(value, str) or not value.strip():
            return None
        try:
            moment = parse(value.strip(), fmt)
        except ValueError:
            return None
        if as_date:
            return moment.date()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SOURCE_TIMEZONE)
        return moment.astimezone(UTC)

    return read


def _absent(_raw: Any) -> None:
    return None


def compile_feed(
    spec: Any, read_fields: Mapping[str, Any], problems: _Problems
) -> CompiledFeed | None:
    """The ``changes`` section, checked; ``read_fields`` is the mapping's ``fields``."""
    if spec is None:
        return None
    where = "changes"
    if not isinstance(spec, Mapping):
        problems.add(where, "invalid_spec", "changes is an object")
        return None
    before = len(problems.items)
    for key in spec:
        if key not in FEED_KEYS and not str(key).startswith("x-"):
            problems.add(f"{where}.{key}", "unknown_key", f"unknown key {key!r}")

    def text(name: str) -> str:
        value = spec.get(name)
        if not isinstance(value, str) or not value:
            problems.add(f"{where}.{name}", "missing_key", f"{name} is required")
            return ""
        return value

    def getter(name: str, *, required: bool) -> Getter | None:
        value = spec.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            problems.add(f"{where}.{name}", "missing_key", f"{name} is a path into an entry")
            return None
        try:
            parse_path(value)
        except ValueError as exc:
            problems.add(f"{where}.{name}", "bad_path", str(exc))
            return None
        return make_getter(value)

    def moment(name: str, as_date: bool) -> Callable[[Any], Any]:
        value = spec.get(name)
        if value is None:
            return _absent
        if not isinstance(value, Mapping) or not isinstance(value.get("from"), str):
            problems.add(f"{where}.{name}", "invalid_spec", "{from: path, date_format: ...}")
            return _absent
        fmt = value.get("date_format", "iso")
        problem = None if fmt == "iso" else check_date_format(fmt)
        if problem:
            problems.add(f"{where}.{name}.date_format", "invalid_spec", problem)
            return _absent
        return _moment(make_getter(str(value["from"])), str(fmt), as_date)

    path = text("path")
    if path and not path.startswith("/"):
        problems.add(f"{where}.path", "bad_path", "path starts with '/'")
    after_param, size_param = text("after_param"), text("size_param")
    size = spec.get("size", 100)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
        problems.add(f"{where}.size", "invalid_spec", f"size is 1..{MAX_PAGE}")
        size = 100
    entries_at_text = spec.get("entries_at", "")
    try:
        entries_at = parse_path(entries_at_text) if entries_at_text else ()
    except ValueError as exc:
        problems.add(f"{where}.entries_at", "bad_path", str(exc))
        entries_at = ()
    sequence = getter("sequence_at", required=True)
    subject = getter("subject_at", required=True)
    kind_spec = spec.get("kind")
    if not isinstance(kind_spec, Mapping) or not isinstance(kind_spec.get("at"), str):
        problems.add(f"{where}.kind", "missing_key", "kind is {at: path, equals: value}")
        kind_spec = {"at": "_", "equals": ""}
    operation_spec = spec.get("operation")
    operations: dict[str, str] = {}
    if not isinstance(operation_spec, Mapping) or not isinstance(
        operation_spec.get("codes"), Mapping
    ):
        problems.add(f"{where}.operation", "missing_key", "operation is {at: path, codes: {...}}")
        operation_spec = {"at": "_", "codes": {}}
    for code, meaning in operation_spec["codes"].items():
        if meaning not in OPERATIONS:
            problems.add(
                f"{where}.operation.codes.{code}",
                "invalid_spec",
                f"an operation is one of {', '.join(sorted(OPERATIONS))}",
            )
        operations[str(code)] = str(meaning)
    field_names: dict[str, str] = {}
    for name, field_spec in read_fields.items():
        source = read_source_field(field_spec)
        if source is not None:
            field_names.setdefault(source, str(name))
    if len(problems.items) > before or sequence is None or subject is None:
        return None
    return CompiledFeed(
        path=path,
        after_param=after_param,
        size_param=size_param,
        size=int(size),
        entries_at=entries_at,
        last_at=getter("last_at", required=False),
        _sequence=sequence,
        _kind=make_getter(str(kind_spec["at"])),
        _kind_value=str(kind_spec.get("equals")),
        _operation=make_getter(str(operation_spec.get("at", "_"))),
        _operations=operations,
        _subject=subject,
        _reference=getter("reference_at", required=False),
        _version=getter("version_at", required=False),
        _registered=moment("registered_at", as_date=False),
        _effective=moment("effective_at", as_date=True),
        _fields=getter("fields_at", required=False),
        _field_names=field_names,
    )
