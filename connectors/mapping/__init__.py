"""Declarative mappings from a source system's own fields onto a dictionary record version.

A mapping is data (docs/contracts.md section 4). ``compile_mapping`` checks it once against
the dictionary, listing every problem, and turns each field into a getter plus a tuple of
small step functions, so ``CompiledMapping.apply`` on the hot path is one loop with no
parsing, no lookups by name and no per-call objects beyond the output dict.

Absent values: a source value that is missing, ``null`` or an empty string (also after a
step such as ``strip``, or a code table entry mapped to ``null``) is *absent*. An absent
field is omitted from the record, or takes the field's ``default``; it is never set to null,
because no dictionary element admits null. A required field left absent is then reported by
validation as ``required``.

A step that cannot convert a present value (a date that does not parse, a number with
letters) does not raise: the field is left out and the record carries an issue with code
``mapping.<step>``, which the connector reports with the validation issues as
``source_invalid_record``.
"""

from .apply import CompiledMapping, MappedRecord
from .compiler import TOP_LEVEL_KEYS, compile_mapping
from .envelope import PAGINATION_STYLES, ListingSpec, NotFoundSpec, Pagination
from .errors import MappingError
from .feed import CompiledFeed, FeedEntry
from .fields import FIELD_KEYS
from .paths import Getter, _walk, get_path, make_getter, parse_path
from .transforms import (
    DICT_TRANSFORMS,
    NAMED_TRANSFORMS,
    NUMBER_STYLES,
    SOURCE_TIMEZONE,
    Step,
    check_date_format,
    date_parser,
)
from .write import (
    CompiledCorrection,
    CompiledWrite,
    CorrectionAnswer,
    NotEncodable,
    SourceRequest,
)

__all__ = [
    "DICT_TRANSFORMS",
    "FIELD_KEYS",
    "NAMED_TRANSFORMS",
    "NUMBER_STYLES",
    "PAGINATION_STYLES",
    "SOURCE_TIMEZONE",
    "TOP_LEVEL_KEYS",
    "CompiledCorrection",
    "CompiledFeed",
    "CompiledMapping",
    "CompiledWrite",
    "CorrectionAnswer",
    "FeedEntry",
    "Getter",
    "ListingSpec",
    "MappedRecord",
    "MappingError",
    "NotEncodable",
    "NotFoundSpec",
    "Pagination",
    "SourceRequest",
    "Step",
    "_walk",
    "check_date_format",
    "compile_mapping",
    "date_parser",
    "get_path",
    "make_getter",
    "parse_path",
]
