"""Steps: each takes a present value and returns the converted value, or None for absent.
A step that cannot convert a present value raises ``_StepFailed``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from dictionary.formats import nfc

from .errors import _StepFailed

# Legacy systems keep local time without an offset; the hub reads it as Vietnam time.
SOURCE_TIMEZONE = timezone(timedelta(hours=7))

Step = Callable[[Any], Any]

NAMED_TRANSFORMS = frozenset(
    {
        "strip",
        "nfc",
        "upper",
        "lower",
        "title",
        "int",
        "decimal",
        "decimal_comma",
        "string",
        "boolean",
        "iso_date",
        "iso_datetime",
        "digits",
    }
)
DICT_TRANSFORMS = frozenset({"split", "codes", "date_format", "datetime_format", "zfill", "number"})
NUMBER_STYLES = frozenset({"decimal_comma", "decimal_point", "plain"})


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        raise _StepFailed("mapping.text", f"expected text, got {type(value).__name__}")
    return str(value)


def _strip(value: Any) -> Any:
    return _text(value).strip()


def _nfc(value: Any) -> Any:
    return nfc(_text(value))


def _upper(value: Any) -> Any:
    return _text(value).upper()


def _lower(value: Any) -> Any:
    return _text(value).lower()


def _title(value: Any) -> Any:
    return " ".join(w[:1].upper() + w[1:].lower() for w in _text(value).split())


def _digits(value: Any) -> Any:
    return "".join(c for c in _text(value) if c.isdigit())


def _string(value: Any) -> Any:
    return _text(value)


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str:
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    raise _StepFailed("mapping.int", f"{value!r} is not an integer")


def _decimal_point(value: Any) -> Any:
    if type(value) in (int, float):
        return value
    if type(value) is str:
        text = value.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
        if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text):
            number = float(text)
            return int(number) if "." not in text else number
    raise _StepFailed("mapping.number", f"{value!r} is not a number")


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+")


def _decimal_comma(value: Any) -> Any:
    """``1.234,5`` -> 1234.5; a dot is a thousands separator only in groups of three."""
    if type(value) in (int, float):
        return value
    if type(value) is not str:
        raise _StepFailed("mapping.number", f"{value!r} is not a number")
    text = value.strip().replace(" ", "").replace("\u00a0", "")
    whole, comma, fraction = text.partition(",")
    if "." in whole:
        if not _THOUSANDS.fullmatch(whole):
            raise _StepFailed(
                "mapping.number", f"{value!r} is not a decimal-comma number (ambiguous dot)"
            )
        whole = whole.replace(".", "")
    if not re.fullmatch(r"[+-]?\d+", whole) or (comma and not re.fullmatch(r"\d+", fraction)):
        raise _StepFailed("mapping.number", f"{value!r} is not a decimal-comma number")
    return float(f"{whole}.{fraction}") if comma else int(whole)


_TRUE = frozenset({"1", "true", "yes", "y", "t", "co", "có"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "khong", "không"})


def _boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if type(value) is str:
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _StepFailed("mapping.boolean", f"{value!r} is not a yes/no value")


def _iso_date(value: Any) -> Any:
    text = _text(value).strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise _StepFailed("mapping.date_format", f"{value!r} is not an ISO date") from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SOURCE_TIMEZONE)


def _iso_datetime(value: Any) -> Any:
    text = _text(value).strip()
    try:
        return _aware(datetime.fromisoformat(text)).isoformat()
    except ValueError:
        raise _StepFailed("mapping.date_format", f"{value!r} is not an ISO date-time") from None


_NAMED_STEPS: dict[str, tuple[Step, str]] = {
    "strip": (_strip, "string"),
    "nfc": (_nfc, "string"),
    "upper": (_upper, "string"),
    "lower": (_lower, "string"),
    "title": (_title, "string"),
    "digits": (_digits, "string"),
    "string": (_string, "string"),
    "int": (_int, "integer"),
    "decimal": (_decimal_point, "number"),
    "decimal_comma": (_decimal_comma, "number"),
    "boolean": (_boolean, "boolean"),
    "iso_date": (_iso_date, "date"),
    "iso_datetime": (_iso_datetime, "date"),
}


_FAST_DIRECTIVES = {
    "d": r"(?P<d>\d{1,2})",
    "m": r"(?P<m>\d{1,2})",
    "Y": r"(?P<Y>\d{4})",
    "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})",
    "S": r"(?P<S>\d{1,2})",
}


def date_parser(fmt: str) -> Callable[[str, str], datetime]:
    """A parser equivalent to ``datetime.strptime(text, fmt)``, several times faster for
    formats made only of %d %m %Y %H %M %S and literals (the usual legacy ones)."""
    pattern: list[str] = []
    seen: set[str] = set()
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%":
            pattern.append(re.escape(char))
            index += 1
            continue
        directive = fmt[index + 1 : index + 2]
        if directive not in _FAST_DIRECTIVES or directive in seen:
            return datetime.strptime
        seen.add(directive)
        pattern.append(_FAST_DIRECTIVES[directive])
        index += 2
    if not {"d", "m", "Y"} <= seen:
        return datetime.strptime
    match = re.compile("".join(pattern)).fullmatch

    def parse(text: str, _fmt: str) -> datetime:
        found = match(text)
        if found is None:
            raise ValueError(f"{text!r} does not match format {fmt!r}")
        parts = found.groupdict()
        return datetime(
            int(parts["Y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts.get("H") or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
        )

    return parse


def _date_step(fmt: str, as_datetime: bool) -> Step:
    parse = date_parser(fmt)

    def convert(value: Any) -> Any:
        try:
            moment = parse(_text(value).strip(), fmt)
        except ValueError:
            raise _StepFailed(
                "mapping.date_format", f"{value!r} does not match date format {fmt!r}"
            ) from None
        return _aware(moment).isoformat() if as_datetime else moment.date().isoformat()

    return convert


def _split_step(sep: str | None, index: int) -> Step:
    def split(value: Any) -> Any:
        parts = _text(value).split(sep)
        if -len(parts) <= index < len(parts):
            return parts[index]
        return None

    return split


def _codes_step(table: dict[str, Any]) -> Step:
    def translate(value: Any) -> Any:
        key = value if type(value) is str else _text(value)
        try:
            return table[key]
        except KeyError:
            # Passed on untranslated: validation then names it as a code not in the list.
            return value

    return translate


def _zfill_step(width: int) -> Step:
    def zfill(value: Any) -> Any:
        return _text(value).zfill(width)

    return zfill


def _integral(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


def check_date_format(fmt: object) -> str | None:
    """Why ``fmt`` is not a usable strptime format, or None when it is."""
    if not isinstance(fmt, str) or not fmt:
        return "a date format is a non-empty strptime string such as '%d/%m/%Y'"
    if "%" not in fmt:
        return f"date format {fmt!r} has no % directive"
    sample = datetime(2001, 2, 3, 4, 5, 6)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)
    except (ValueError, TypeError) as exc:
        return f"date format {fmt!r} is not valid: {exc}"
    return None


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "any"
