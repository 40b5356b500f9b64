"""Validating records over HTTP: one record, a JSON array, or NDJSON streamed in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import date
from typing import Any

import orjson

from app.errors import HubError
from app.inputs import check_json, parse_json
from app.registry.errors import BatchNotArray, MalformedNdjson
from dictionary import RecordValidator

# NDJSON results are emitted per input chunk; a malformed line found before the first
# result leaves is answered 400 with its line number, later ones become a result line.
FIRST_RESULT_AFTER_LINES = 2000


def result_of(validator: RecordValidator, record: Any, as_of: date | None) -> dict[str, Any]:
    issues = validator.validate(record, as_of=as_of)
    return {"valid": not issues, "errors": [issue.as_dict() for issue in issues]}


def validate_array(
    validator: RecordValidator, records: Iterable[Any], as_of: date | None
) -> dict[str, Any]:
    results = []
    valid = 0
    for index, record in enumerate(records):
        issues = validator.validate(record, as_of=as_of)
        if not issues:
            valid += 1
            results.append({"index": index, "valid": True, "errors": []})
        else:
            errors = [issue.as_dict() for issue in issues]
            results.append({"index": index, "valid": False, "errors": errors})
    return {
        "record_type": validator.record_type,
        "version": validator.version,
        "total": len(results),
        "valid": valid,
        "invalid": len(results) - valid,
        "results": results,
    }


def parse_json_array(body: bytes) -> list[Any]:
    records = parse_json(body)
    if not isinstance(records, list):
        raise BatchNotArray("A JSON batch must be an array of records.")
    return records


class NdjsonValidation:
    """Validates an NDJSON request stream, yielding one NDJSON result line per record."""

    def __init__(
        self, validator: RecordValidator, stream: AsyncIterator[bytes], as_of: date | None
    ) -> None:
        self.validator = validator
        self.stream = stream
        self.as_of = as_of
        self.line_no = 0
        self._rest = b""
        self._first: list[bytes] = []
        self._done = False

    async def start(self) -> None:
        """Read and check the first lines, so a malformed start is a 400, not a stream."""
        lines_seen = 0
        async for lines in self._lines():
            self._first.append(self._process(lines, strict=True))
            lines_seen += len(lines)
            if lines_seen >= FIRST_RESULT_AFTER_LINES:
                return
        self._done = True

    async def results(self) -> AsyncIterator[bytes]:
        for chunk in self._first:
            if chunk:
                yield chunk
        self._first = []
        if self._done:
            return
        async for lines in self._lines():
            out = self._process(lines, strict=False)
            if out:
                yield out

    async def _lines(self) -> AsyncIterator[list[bytes]]:
        async for chunk in self.stream:
            if not chunk:
                continue
            data = self._rest + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                self._rest = data
                continue
            self._rest = data[cut + 1 :]
            yield data[:cut].split(b"\n")
        if self._rest.strip():
            tail, self._rest = self._rest, b""
            yield [tail]

    def _process(self, lines: list[bytes], *, strict: bool) -> bytes:
        out: list[bytes] = []
        validate = self.validator.validate
        as_of = self.as_of
        for raw in lines:
            self.line_no += 1
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
                check_json(record, raw)
            except orjson.JSONDecodeError as exc:
                problem = MalformedNdjson(f"Line {self.line_no} is not valid JSON: {exc.msg}.")
                out.append(self._refused_line(problem, "malformed_json", strict=strict))
                continue
            except HubError as exc:
                exc.detail = f"Line {self.line_no}: {exc.detail}"
                out.append(self._refused_line(exc, exc.code, strict=strict))
                continue
            issues = validate(record, as_of=as_of)
            if not issues:
                out.append(b'{"line":%d,"valid":true,"errors":[]}' % self.line_no)
            else:
                out.append(
                    orjson.dumps(
                        {
                            "line": self.line_no,
                            "valid": False,
                            "errors": [issue.as_dict() for issue in issues],
                        }
                    )
                )
        if not out:
            return b""
        return b"\n".join(out) + b"\n"

    def _refused_line(self, problem: HubError, code: str, *, strict: bool) -> bytes:
        """A line the hub cannot validate: a 400 while the answer has not begun, else a
        result line carrying ``code``."""
        if strict and self.line_no <= FIRST_RESULT_AFTER_LINES:
            problem.extra = {**problem.extra, "line": self.line_no}
            raise problem
        error = {"path": "", "element": None, "code": code, "message": problem.detail}
        return orjson.dumps({"line": self.line_no, "valid": False, "errors": [error]})
