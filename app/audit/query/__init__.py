"""Reading the access log: filters, keyset pagination, streaming export, statistics, and the
citizen's own view. No FastAPI here; the router hands over raw query strings and this module
parses them, so every refusal has one stable code wherever the parameter appears.

Pagination is a keyset on ``seq``. A cursor carries the last ``seq`` served, signed (the one
codec of ``app.cursors``) for the scope, the order and the filters of its query; the next page
asks for ``seq < last`` (newest first, the default) or ``seq > last`` (oldest first). Events
appended between two pages therefore never shift a page: newest first they sit before the
first page, oldest first they arrive at the end. No event is served twice or skipped.

One limit, by design of the ids: they come from the database at insert, so on PostgreSQL with
several instances an event's transaction can commit a few milliseconds after one with a
higher id. Newest first, such an event is simply newer than the walk (as if appended after
the first page). Oldest first, a reader paging at the very head of the log could pass it; a
complete oldest-first sweep therefore sets ``until`` to a settled time (a few seconds ago), or
uses the export with seals, whose chain order is the sealer's.

The subject is searched by its keyed HMAC. A citizen ID given to a search is turned into its
HMAC at once and is never stored, echoed or logged.

- ``parsing``: raw query strings to dates, limits, order, export format;
- ``rows``: the events table and an event row as returned;
- ``filters``: ``EventFilters``, ``parse_filters`` and their SQL conditions;
- ``paging``: signed keyset cursors and one page (``parse_page``);
- ``search``: ``search_events`` and the citizen's ``citizen_access_log``;
- ``export``: the streaming export (``plan_export``, ``export_body``; ``EXPORT_PAGE_SIZE``
  lives there);
- ``stats``: ``event_stats``.
"""

from app.audit.query.export import (
    EXPORT_PAGE_SIZE,
    ExportPlan,
    csv_chunks,
    export_body,
    export_pages,
    high_water_mark,
    jsonl_chunks,
    parse_flag,
    plan_export,
    sealed_export,
)
from app.audit.query.filters import (
    CITIZEN_HIDDEN_KIND_PREFIXES,
    FILTER_NAMES,
    EventFilters,
    parse_filters,
)
from app.audit.query.paging import PageRequest, decode_cursor, parse_page
from app.audit.query.parsing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ExportFormat,
    Order,
    parse_datetime,
    parse_export_format,
    parse_limit,
    parse_order,
)
from app.audit.query.rows import COLUMNS, EVENTS
from app.audit.query.search import citizen_access_log, citizen_page, search_events
from app.audit.query.stats import event_stats

__all__ = [
    "CITIZEN_HIDDEN_KIND_PREFIXES",
    "COLUMNS",
    "DEFAULT_LIMIT",
    "EVENTS",
    "EXPORT_PAGE_SIZE",
    "FILTER_NAMES",
    "MAX_LIMIT",
    "EventFilters",
    "ExportFormat",
    "ExportPlan",
    "Order",
    "PageRequest",
    "citizen_access_log",
    "citizen_page",
    "csv_chunks",
    "decode_cursor",
    "event_stats",
    "export_body",
    "export_pages",
    "high_water_mark",
    "jsonl_chunks",
    "parse_datetime",
    "parse_export_format",
    "parse_filters",
    "parse_flag",
    "parse_limit",
    "parse_order",
    "parse_page",
    "plan_export",
    "sealed_export",
    "search_events",
]
