"""Exceptions raised by the dictionary engine. Every one carries what a caller needs to answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dictionary.compat import Violation


class DictionaryError(Exception):
    """Base of every dictionary error."""


class DictionaryLoadError(DictionaryError):
    """The YAML content cannot be read into the model; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{len(self.problems)} problem(s): {shown}{more}")


class UnknownRecordType(DictionaryError, KeyError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"The dictionary has no record type {name!r}.")

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownVersion(DictionaryError, KeyError):
    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        super().__init__(f"Record type {name!r} has no version {version!r}.")

    def __str__(self) -> str:
        return str(self.args[0])


class CompileError(DictionaryError):
    """A record version refers to something the dictionary does not hold."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class InvalidRecordVersion(DictionaryError):
    """A candidate version is malformed: bad references, or examples that misbehave."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class VersionConflict(DictionaryError):
    """Versions are immutable, and new ones must sort after every existing one."""

    def __init__(self, name: str, version: str, reason: str) -> None:
        self.name = name
        self.version = version
        self.reason = reason
        super().__init__(f"{name} {version}: {reason}")


class InvalidTransition(VersionConflict):
    """A version's status cannot move that way: draft -> published -> deprecated, one step."""

    def __init__(self, name: str, version: str, current: str, target: str, reason: str) -> None:
        self.current = current
        self.target = target
        super().__init__(name, version, reason)


class IncompatibleVersion(DictionaryError):
    """The candidate breaks the record type's compatibility mode; ``violations`` lists all."""

    def __init__(self, name: str, mode: str, violations: Sequence[Violation]) -> None:
        self.name = name
        self.mode = mode
        self.violations = list(violations)
        super().__init__(
            f"{name}: {len(self.violations)} {mode} compatibility violation(s): "
            + "; ".join(str(v) for v in self.violations)
        )
