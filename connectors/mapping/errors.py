"""The errors of a mapping: a spec that cannot be used (``MappingError``, its problems
collected by ``_Problems``) and a step that cannot convert a value (``_StepFailed``)."""

from __future__ import annotations


class MappingError(Exception):
    """A mapping that cannot be used; ``problems`` lists every one as {path, code, message}."""

    code = "invalid_mapping"

    def __init__(self, problems: list[dict[str, str]]) -> None:
        self.problems = problems
        summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"invalid mapping: {summary}{more}")


class _StepFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.items.append({"path": path, "code": code, "message": message})
