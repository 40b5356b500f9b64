"""Data-quality figures of a connector: the counters, how they add up, and the scores.

The seeds ask that data be correct, sufficient, clean, live, unified and shared. Per
connector and record type the hub measures:

- correct / unified: the share of fetched records that validate against the dictionary;
- sufficient: the share of required and of optional fields that carry a value;
- live: the age of ``last_updated`` (p50 and p90 in days, the share older than a year),
  kept as a histogram so instances can add their counts;
- clean: cross-source conflicts (population Person against civil-status
  BirthRegistration disagreeing on name or birth date), listed by record reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.timestamps import utcnow

# Upper bounds (days, exclusive) of the age buckets; one more bucket holds the rest.
AGE_EDGES_DAYS: tuple[int, ...] = (
    1, 2, 4, 7, 14, 30, 60, 90, 120, 180, 270, 365, 450, 540, 730, 1095, 1460, 1825, 2555,
    3650, 5475, 7300,
)  # fmt: skip
STALE_DAYS = 365
MAX_EXAMPLES = 20


def _present(value: object) -> bool:
    return value is not None and value != "" and value != []


@dataclass(slots=True)
class QualityCounters:
    fetched: int = 0
    valid: int = 0
    required_present: int = 0
    required_expected: int = 0
    optional_present: int = 0
    optional_expected: int = 0
    dated: int = 0
    stale: int = 0
    age_histogram: list[int] = field(default_factory=lambda: [0] * (len(AGE_EDGES_DAYS) + 1))
    conflicts_checked: int = 0
    conflicts: int = 0
    conflict_examples: list[dict[str, Any]] = field(default_factory=list)
    invalid_codes: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.fetched == 0 and self.conflicts_checked == 0

    def observe(
        self,
        record: dict[str, Any],
        *,
        required: tuple[str, ...],
        optional: tuple[str, ...],
        last_updated: datetime | None,
        now: datetime | None = None,
    ) -> None:
        """Count one record that validated."""
        self.fetched += 1
        self.valid += 1
        self.required_expected += len(required)
        self.required_present += sum(1 for name in required if _present(record.get(name)))
        self.optional_expected += len(optional)
        self.optional_present += sum(1 for name in optional if _present(record.get(name)))
        if last_updated is not None:
            self.observe_age(last_updated, now or utcnow())

    def observe_invalid(self, codes: list[str]) -> None:
        self.fetched += 1
        for code in codes or ["invalid"]:
            self.invalid_codes[code] = self.invalid_codes.get(code, 0) + 1

    def observe_age(self, last_updated: datetime, now: datetime) -> None:
        if last_updated.tzinfo is None:
            last_updated = last_updated.replace(tzinfo=UTC)
        days = max((now - last_updated).total_seconds() / 86400.0, 0.0)
        self.dated += 1
        if days > STALE_DAYS:
            self.stale += 1
        self.age_histogram[_bucket(days)] += 1

    def observe_conflict_check(self, conflict: dict[str, Any] | None) -> None:
        self.conflicts_checked += 1
        if conflict is not None:
            self.conflicts += 1
            if len(self.conflict_examples) < MAX_EXAMPLES:
                self.conflict_examples.append(conflict)

    def merge(self, other: QualityCounters) -> None:
        self.fetched += other.fetched
        self.valid += other.valid
        self.required_present += other.required_present
        self.required_expected += other.required_expected
        self.optional_present += other.optional_present
        self.optional_expected += other.optional_expected
        self.dated += other.dated
        self.stale += other.stale
        self.age_histogram = [
            a + b
            for a, b in zip(self.age_histogram, fit_histogram(other.age_histogram), strict=True)
        ]
        self.conflicts_checked += other.conflicts_checked
        self.conflicts += other.conflicts
        room = MAX_EXAMPLES - len(self.conflict_examples)
        if room > 0:
            self.conflict_examples.extend(other.conflict_examples[:room])
        for code, count in other.invalid_codes.items():
            self.invalid_codes[code] = self.invalid_codes.get(code, 0) + count

    def scores(self) -> dict[str, Any]:
        return {
            "correct": {
                "fetched": self.fetched,
                "valid": self.valid,
                "valid_share": _share(self.valid, self.fetched),
                "invalid_by_code": dict(sorted(self.invalid_codes.items())),
            },
            "sufficient": {
                "required_completeness": _share(self.required_present, self.required_expected),
                "optional_completeness": _share(self.optional_present, self.optional_expected),
            },
            "live": {
                "dated": self.dated,
                "p50_age_days": percentile_days(self.age_histogram, 0.5),
                "p90_age_days": percentile_days(self.age_histogram, 0.9),
                "older_than_1y_share": _share(self.stale, self.dated),
            },
            "clean": {
                "checked": self.conflicts_checked,
                "conflicts": self.conflicts,
                "conflict_rate": _share(self.conflicts, self.conflicts_checked),
                "conflict_rate_percent": (
                    round(100.0 * self.conflicts / self.conflicts_checked, 3)
                    if self.conflicts_checked
                    else None
                ),
                "examples": list(self.conflict_examples),
            },
        }


def fit_histogram(histogram: list[Any]) -> list[int]:
    size = len(AGE_EDGES_DAYS) + 1
    values = [int(v) for v in histogram[:size]]
    return values + [0] * (size - len(values))


def _bucket(days: float) -> int:
    for index, edge in enumerate(AGE_EDGES_DAYS):
        if days < edge:
            return index
    return len(AGE_EDGES_DAYS)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def percentile_days(histogram: list[int], q: float) -> float | None:
    """The q-quantile of ages, interpolated inside its bucket (open last bucket: its floor)."""
    total = sum(histogram)
    if total == 0:
        return None
    target = q * total
    running = 0
    for index, count in enumerate(histogram):
        if count and running + count >= target:
            low = 0 if index == 0 else AGE_EDGES_DAYS[index - 1]
            if index >= len(AGE_EDGES_DAYS):
                return float(low)
            high = AGE_EDGES_DAYS[index]
            return round(low + (high - low) * (target - running) / count, 1)
        running += count
    return float(AGE_EDGES_DAYS[-1])
