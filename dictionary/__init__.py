"""The national data dictionary: model, loader, lint and compiled validators.

This package never imports ``app``. See docs/contracts.md section 3 for the API.
"""

from dictionary.compat import Violation
from dictionary.compile import RecordValidator
from dictionary.errors import (
    CompileError,
    DictionaryError,
    DictionaryLoadError,
    IncompatibleVersion,
    InvalidRecordVersion,
    InvalidTransition,
    UnknownRecordType,
    UnknownVersion,
    VersionConflict,
)
from dictionary.lint import LintProblem, lint_dictionary
from dictionary.loader import NATIONAL_PATH, load_dictionary
from dictionary.model import (
    CodeList,
    CodeListEntry,
    CodeListVersion,
    CompatibilityMode,
    Element,
    Examples,
    FieldSpec,
    InvalidExample,
    RecordType,
    RecordVersion,
    Status,
    ValidationIssue,
)
from dictionary.registry import Dictionary, PublishResult, RecordTypeSummary

__all__ = [
    "NATIONAL_PATH",
    "CodeList",
    "CodeListEntry",
    "CodeListVersion",
    "CompatibilityMode",
    "CompileError",
    "Dictionary",
    "DictionaryError",
    "DictionaryLoadError",
    "Element",
    "Examples",
    "FieldSpec",
    "IncompatibleVersion",
    "InvalidExample",
    "InvalidRecordVersion",
    "InvalidTransition",
    "LintProblem",
    "PublishResult",
    "RecordType",
    "RecordTypeSummary",
    "RecordValidator",
    "RecordVersion",
    "Status",
    "UnknownRecordType",
    "UnknownVersion",
    "ValidationIssue",
    "VersionConflict",
    "Violation",
    "lint_dictionary",
    "load_dictionary",
]
