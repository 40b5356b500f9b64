"""How the mocks answer correction requests (yêu cầu đính chính): the owner decides at once.

A citizen disputes a value a register holds ("the register says 120,5 m², it is 125,5"); the
hub forwards the dispute to the system that owns the record. Each mock takes it at its own
endpoint and in its own manners (key carrier, dry-run parameter, envelope, error format),
through :class:`~connectors.mocks.writes.WriteEndpoint`, so idempotency, dry runs, the
``/__stats`` counters and ``/__faults`` behave as for its other writes. The common body::

    {"maHoSo": "<the record's source reference as the reads serve it>"   (optional),
     "soDinhDanh": "<the subject's citizen ID>"       (civil status, land; the others: path),
     "truong": "<a dotted path in the system's own read JSON, e.g. thuaDat.dienTich>",
     "giaTriHienTai": <the value the citizen saw, in the system's format>   (optional),
     "giaTriDeNghi": <the claimed value, in the format the read serves that field in>,
     "lyDo": "<the citizen's note>"                   (optional)}

The record is the one ``maHoSo`` names among the subject's records, else the subject's one
record of the kind the field belongs to (a field only another kind of record has, such as a
residence's ``loaiCuTru``, finds that record). The answer, inside the system's success envelope::

    {"ketQua": "CHAP_NHAN", "maHoSo", "truong", "giaTriCu", "giaTriMoi"}
    {"ketQua": "TU_CHOI", "maHoSo", "truong", "lyDoTuChoi"}

Checks, in order: the record (404 when the subject or ``maHoSo`` is unknown); the field (422
when the record has no such field and it is not correctable); a record that takes no online
correction, an identity key (:data:`IDENTITY_KEYS`) or a field not correctable online:
``TU_CHOI`` (the citizen applies in person); a claimed value not valid in the system's format:
422; a ``giaTriHienTai`` that is not what the record holds, or a claimed value equal to it:
``TU_CHOI``; then the field's own rule. A decision of either kind is remembered under its
idempotency key and counted ``applied``; only ``CHAP_NHAN`` changes anything.

An accepted value goes into the system's :class:`CorrectionBook`, keyed by (record key,
field path), which the read endpoints lay over the raw JSON they are about to serve (the
record's last-updated stamp moves to the time of the correction), and the system's change feed
gets an update of the record naming the field (``connectors/mocks/feeds.py``). ``DELETE
/__writes`` clears it with the other overlays.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from connectors.mocks.formats import dmy
from connectors.mocks.server import Call, Refused, Reply
from connectors.mocks.writes import KeyFrom, Plan, WriteEndpoint, now, required_text, text

ACCEPTED: Final = "CHAP_NHAN"
REFUSED: Final = "TU_CHOI"
# The last segment of a path that identifies a record or a person: never corrected online.
IDENTITY_KEYS = frozenset(
    {"soDinhDanh", "mst", "mstCu", "maThua", "soPhatHanh", "soDangKy", "maHoSo", "soHoKhau"}
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def root_of(body: Mapping[str, Any]) -> str:
    """The first segment of the request's ``truong``: which kind of record it is about."""
    return str(body.get("truong") or "").split(".", 1)[0]


def lookup(body: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or :data:`MISSING`."""
    node: Any = body
    for name in path.split("."):
        if not isinstance(node, Mapping) or name not in node:
            return MISSING
        node = node[name]
    return node


@dataclass(slots=True)
class CorrectionBook:
    """One mock's accepted corrections: record key -> {field path: value as the reads serve it}."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    stamps: dict[str, datetime] = field(default_factory=dict)  # record key -> last correction

    def clear(self) -> None:
        self.values.clear()
        self.stamps.clear()

    def record(self, key: str, path: str, value: Any, stamp: datetime) -> None:
        self.values.setdefault(key, {})[path] = value
        self.stamps[key] = stamp

    def value(self, key: str, path: str, default: Any = None) -> Any:
        corrected = self.values.get(key)
        return default if corrected is None else corrected.get(path, default)

    def patch(
        self,
        key: str,
        body: dict[str, Any],
        *,
        prefix: str = "",
        stamp: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """``body`` with the record's corrections laid over it (a copy; ``body`` is untouched).

        ``prefix`` places the book's paths inside another view of the record (a certificate
        shows its parcel under ``thuaDat.``); ``stamp`` is (field, strftime format) of the
        record's last-updated time, moved forward to the last correction."""
        corrected = self.values.get(key)
        if not corrected:
            return body
        patched = dict(body)
        for path, value in corrected.items():
            _set(patched, prefix + path, value)
        if stamp is not None:
            name, fmt = stamp
            when = self.stamps[key]
            try:
                served = datetime.strptime(str(patched.get(name)), fmt)
            except ValueError:
                served = None
            if served is None or served < when:
                patched[name] = when.strftime(fmt)
        return patched


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, copying each nested object on the way (cached bodies stay intact)."""
    *parents, leaf = path.split(".")
    node = body
    for name in parents:
        child = node.get(name)
        child = dict(child) if isinstance(child, dict) else {}
        node[name] = child
        node = child
    node[leaf] = value


# -- field rules --------------------------------------------------------------------------------

Decide = Callable[[Any, Any, Mapping[str, Any]], str | None]  # (current, claimed, record) -> reason


@dataclass(frozen=True, slots=True)
class FieldRule:
    """A field correctable online: how to read a value in the system's format, how to serve
    it, and the rule (``None`` accepts, a string is the reason for ``TU_CHOI``)."""

    parse: Callable[[Any], Any]  # raises ValueError for a value not valid in the system's format
    render: Callable[[Any], Any]
    decide: Decide
    book_path: str | None = None  # where the book keeps it when the view nests it elsewhere


def accept(current: Any, claimed: Any, record: Mapping[str, Any]) -> str | None:
    return None


def parse_name(value: Any) -> str:
    """A person's name: letters and single spaces, NFC, 2 to 100 characters."""
    if not isinstance(value, str):
        raise ValueError("họ tên phải là chuỗi")
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not 2 <= len(name) <= 100 or not all(c.isalpha() or c == " " for c in name):
        raise ValueError("họ tên chỉ gồm chữ cái và dấu cách, từ 2 đến 100 ký tự")
    return name


def fold(name: str) -> str:
    """The name without diacritics, case or extra spaces: what a spelling fix keeps."""
    bare = "".join(
        c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c)
    )  # fmt: skip
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").lower().split())


def spelling_fix_only(current: Any, claimed: Any, record: Mapping[str, Any]) -> str | None:
    """Accepts a name that differs only in diacritics, case or spacing (a clerical slip)."""
    if isinstance(current, str) and fold(current) == fold(claimed):
        return None
    return (
        "Đề nghị là thay đổi họ, chữ đệm, tên chứ không phải sửa lỗi chính tả; "
        "công dân cần nộp hồ sơ thay đổi hộ tịch trực tiếp"
    )


_DMY = re.compile(r"^\d{2}/\d{2}/\d{4}$")


def parse_day(value: Any) -> date:
    """dd/mm/yyyy, a real date, not after today."""
    if not isinstance(value, str) or not _DMY.match(value):
        raise ValueError("ngày phải theo định dạng dd/mm/yyyy")
    day = datetime.strptime(value, "%d/%m/%Y").date()  # ValueError for 31/02/2000
    if day > now().date():
        raise ValueError("ngày không được sau hôm nay")
    return day


def name_rule(decide: Decide = accept) -> FieldRule:
    return FieldRule(parse_name, lambda name: name, decide)


def date_rule(decide: Decide) -> FieldRule:
    return FieldRule(parse_day, dmy, decide)


def code_rule(codes: Mapping[str, str] | frozenset[str], decide: Decide = accept) -> FieldRule:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or value not in codes:
            raise ValueError(f"mã {value!r} không có trong danh mục")
        return value

    return FieldRule(parse, lambda code: code, decide)


# -- the endpoint --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """The record a correction is about, as the read endpoints now serve it."""

    key: str  # the book's record key
    reference: str  # maHoSo
    body: Mapping[str, Any]
    rules: Mapping[str, FieldRule]  # its fields correctable online, by path in ``body``
    refusal: str | None = None  # set when no field of this record is corrected online


def correction_endpoint(
    *,
    template: str,
    key: KeyFrom,
    dry_run_param: str,
    locate: Callable[[Call, dict[str, Any]], Found],
    book: CorrectionBook,
    in_person: str,
    answer: Callable[[dict[str, Any]], Reply],
    dry_run_answer: Callable[[dict[str, Any]], Reply],
    announce: Callable[[Found, str, dict[str, Any]], None] | None = None,
) -> WriteEndpoint:
    """A system's correction endpoint. ``locate`` finds the record (raising ``Refused(404)``);
    ``in_person`` names where a refused citizen applies; ``answer`` wraps the decision in the
    system's success envelope, ``dry_run_answer`` in its dry-run envelope; ``announce`` (the
    record, the book path, the request body) puts an accepted correction in the change feed."""

    def plan(call: Call, body: dict[str, Any]) -> Plan:
        found = locate(call, body)
        path = required_text(body, "truong")
        if body.get("giaTriDeNghi") is None:
            raise Refused(422, "Trường giaTriDeNghi là bắt buộc")
        text(body, "lyDo", required=False)
        decision, change = _decide(found, path, body, in_person)

        def apply() -> Reply:
            if change is not None:
                book.record(found.key, *change, now())
                if announce is not None:
                    announce(found, change[0], body)
            return answer(decision)

        return Plan(decision, apply)

    return WriteEndpoint("POST", template, key, dry_run_param, plan, dry_run_answer)


def _decide(
    found: Found, path: str, body: dict[str, Any], in_person: str
) -> tuple[dict[str, Any], tuple[str, Any] | None]:
    """The decision and, when accepted, (book path, value to serve)."""
    about = {"maHoSo": found.reference, "truong": path}

    def refuse(reason: str) -> tuple[dict[str, Any], None]:
        return {"ketQua": REFUSED, **about, "lyDoTuChoi": reason}, None

    if found.refusal is not None:
        return refuse(f"{found.refusal}; công dân cần nộp hồ sơ trực tiếp tại {in_person}")
    current = lookup(found.body, path)
    rule = found.rules.get(path)
    if rule is None and current is MISSING:
        raise Refused(422, f"Hồ sơ {found.reference} không có trường {path}")
    if path.rsplit(".", 1)[-1] in IDENTITY_KEYS:
        return refuse(
            f"Trường {path} là thông tin định danh, không điều chỉnh trực tuyến; "
            f"công dân cần nộp hồ sơ trực tiếp tại {in_person}"
        )
    if rule is None:
        return refuse(
            f"Trường {path} không được điều chỉnh trực tuyến; "
            f"công dân cần nộp hồ sơ trực tiếp tại {in_person}"
        )
    try:
        claimed = rule.parse(body["giaTriDeNghi"])
    except ValueError as exc:
        raise Refused(422, f"giaTriDeNghi không hợp lệ cho trường {path}: {exc}") from None
    recorded = _parsed(rule, current)
    seen = body.get("giaTriHienTai")
    if seen is not None and (recorded is None or _parsed(rule, seen) != recorded):
        shown = "trống" if current is MISSING else current
        return refuse(f"Giá trị hiện tại không khớp với hồ sơ (hồ sơ đang ghi: {shown})")
    if claimed == recorded:
        return refuse("Giá trị đề nghị trùng với giá trị hồ sơ đang ghi")
    reason = rule.decide(recorded, claimed, found.body)
    if reason is not None:
        return refuse(reason)
    value = rule.render(claimed)
    old = None if current is MISSING else current
    decision = {"ketQua": ACCEPTED, **about, "giaTriCu": old, "giaTriMoi": value}
    return decision, (rule.book_path or path, value)


def _parsed(rule: FieldRule, value: Any) -> Any:
    if value is MISSING or value is None:
        return None
    try:
        return rule.parse(value)
    except ValueError:
        return None
