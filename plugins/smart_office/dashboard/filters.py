"""The dashboard's filters and their URL form, so that a view can be shared as a link.

`?customer=<tenant id>&from=2026-08-01&to=2026-10-31&severity=high,medium&source=microsoftDefenderForEndpoint`
`&segment=industry:healthcare` (a customer segment, dim_customer_segments: every page shows only its customers).
Values that do not parse are dropped (and reported), never passed to SQL; an absent date range means "the 90
days up to the newest data", so a shared link without dates keeps showing the latest quarter.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

SEVERITIES: tuple[str, ...] = ("high", "medium", "low", "informational")
DEFAULT_RANGE_DAYS = 90
_SOURCE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")
_SEGMENT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEYS = ("customer", "from", "to", "severity", "source", "segment")


@dataclass(frozen=True, slots=True)
class Segment:
    """A customer segment: an attribute and its value (dim_customer_segments), `industry:healthcare` in the URL."""

    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Segment:
        """`key:value`; ValueError when it cannot be one (the rules of `smart-office segments`)."""
        key, separator, value = text.partition(":")
        key, value = key.strip(), value.strip()
        if (
            not separator
            or not _SEGMENT_KEY.match(key)
            or not 0 < len(value) <= 100
            or _CONTROL.search(value)
        ):
            raise ValueError(f"segment {text!r} is not attribute:value (e.g. industry:healthcare)")
        return cls(key, value)

    def __str__(self) -> str:
        return f"{self.key}:{self.value}"

    @property
    def label(self) -> str:
        return f"{self.key.replace('_', ' ').capitalize()}: {self.value}"


@dataclass(frozen=True, slots=True)
class Filters:
    """What the user is looking at. Empty tuples mean "all"."""

    customer: str | None = None
    start: date | None = None
    end: date | None = None
    severities: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    segment: Segment | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str | list[str]]) -> tuple[Filters, list[str]]:
        """Filters from URL query parameters, and a note for each value that was ignored."""
        problems: list[str] = []

        def text(key: str) -> str:
            value = params.get(key, "")
            if isinstance(value, list):  # a repeated key: the last one wins, as in st.query_params
                value = value[-1] if value else ""
            return value.strip()

        customer: str | None = text("customer") or None
        if customer is not None:
            try:
                customer = str(uuid.UUID(customer))
            except ValueError:
                problems.append(f"customer {customer!r} is not a tenant id")
                customer = None
        start, end = _date(text("from"), "from", problems), _date(text("to"), "to", problems)
        if start and end and start > end:
            start, end = end, start
        severities = []
        for item in _items(text("severity")):
            if item.lower() in SEVERITIES:
                severities.append(item.lower())
            else:
                problems.append(f"severity {item!r} is not one of {', '.join(SEVERITIES)}")
        sources = []
        for item in _items(text("source")):
            if _SOURCE.match(item):
                sources.append(item)
            else:
                problems.append(f"service source {item!r} is not a product name")
        segment: Segment | None = None
        if text("segment"):
            try:
                segment = Segment.parse(text("segment"))
            except ValueError as exc:
                problems.append(str(exc))
        return (
            cls(
                segment=segment,
                customer=customer,
                start=start,
                end=end,
                severities=tuple(s for s in SEVERITIES if s in severities),
                sources=tuple(sorted(set(sources))),
            ),
            problems,
        )

    def to_query(self) -> dict[str, str]:
        """The URL form: only what differs from the defaults, so links stay short."""
        query: dict[str, str] = {}
        if self.customer:
            query["customer"] = self.customer
        if self.start:
            query["from"] = self.start.isoformat()
        if self.end:
            query["to"] = self.end.isoformat()
        if self.severities and set(self.severities) != set(SEVERITIES):
            query["severity"] = ",".join(self.severities)
        if self.sources:
            query["source"] = ",".join(self.sources)
        if self.segment:
            query["segment"] = str(self.segment)
        return query

    def date_range(self, latest: date, days: int = DEFAULT_RANGE_DAYS) -> tuple[date, date]:
        """The range to show: the chosen one, or the `days` up to the newest data."""
        end = self.end or latest
        start = self.start or end - timedelta(days=days - 1)
        return (start, end) if start <= end else (end, start)

    def with_range(self, start: date, end: date, latest: date) -> Filters:
        """Set a range; the default range is stored as "no range" so the link keeps following new data."""
        if (start, end) == Filters().date_range(latest):
            return replace(self, start=None, end=None)
        return replace(self, start=start, end=end)

    def severity_list(self) -> list[str]:
        return list(self.severities or SEVERITIES)


def query_keys() -> tuple[str, ...]:
    """The URL parameters the filters own (others are left alone)."""
    return _KEYS


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _date(value: str, key: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{key} {value!r} is not a date (YYYY-MM-DD)")
        return None
