"""Checked, typed reading of catalogue files: CSV rows and JSON records.

A catalogue loader reads each record through a `Row`, whose accessors check one field each (present, of the
right type, in range, one of a vocabulary) and convert it. Every problem is a `CatalogueError` naming the file,
the record (CSV line and row number, or JSON section and index, with the record's id once known) and the field,
so a bad edit to a data file fails at import with a message that says where to look.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any


class CatalogueError(ValueError):
    """A catalogue file that does not say what its loader expects."""

    def __init__(self, file: str, record: str, field: str | None, problem: str) -> None:
        where = f"{file}, {record}" + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}")
        self.file, self.record, self.field, self.problem = file, record, field, problem


class Row:
    """One record of a catalogue file. CSV values are text and are parsed; JSON values must have their type."""

    def __init__(self, file: str, record: str, values: Mapping[str, Any], *, typed: bool) -> None:
        self.file = file
        self.record = record
        self.values = values
        self.typed = typed

    def error(self, field: str | None, problem: str) -> CatalogueError:
        return CatalogueError(self.file, self.record, field, problem)

    def named(self, record_id: str) -> None:
        """Add the record's id to the location in later messages."""
        self.record = f"{self.record}, id {record_id!r}"

    def expect_fields(self, required: Collection[str], optional: Collection[str] = ()) -> None:
        """Refuse missing required fields and fields the loader does not know (typos)."""
        missing = [f for f in required if f not in self.values]
        if missing:
            raise self.error(missing[0], "missing")
        unknown = sorted(set(self.values) - set(required) - set(optional))
        if unknown:
            raise self.error(unknown[0], "not a field of this catalogue")

    def _raw(self, field: str) -> Any:
        if field not in self.values or self.values[field] is None:
            raise self.error(field, "missing")
        return self.values[field]

    def has(self, field: str) -> bool:
        """Whether the field is present with a value (a CSV cell that is not blank)."""
        value = self.values.get(field)
        return value is not None and not (isinstance(value, str) and not value.strip() and not self.typed)

    def text(self, field: str) -> str:
        """A non-blank string, kept exactly as written."""
        value = self._raw(field)
        if not isinstance(value, str):
            raise self.error(field, f"expected text, found {type(value).__name__} {value!r}")
        if not value.strip():
            raise self.error(field, "must not be blank")
        return value

    def optional_text(self, field: str) -> str | None:
        """A non-blank string, or None when the field is absent or (in a CSV) blank."""
        return self.text(field) if self.has(field) else None

    def choice(self, field: str, options: Collection[str], *, casefold: bool = False) -> str:
        """Text that is one of `options` (compared ignoring case with `casefold`, kept as written)."""
        value = self.text(field)
        known = {o.casefold() for o in options} if casefold else set(options)
        if (value.casefold() if casefold else value) not in known:
            raise self.error(field, f"{value!r} is not one of {sorted(options)}")
        return value

    def number(self, field: str, *, low: float | None = None, high: float | None = None) -> float:
        """A finite number in [low, high], as a float."""
        value = self._raw(field)
        if self.typed:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.error(field, f"expected a number, found {value!r}")
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                raise self.error(field, f"expected a number, found {value!r}") from None
        if not math.isfinite(number):
            raise self.error(field, f"expected a finite number, found {value!r}")
        if (low is not None and number < low) or (high is not None and number > high):
            raise self.error(field, f"{number!r} is outside {low} to {high}")
        return number

    def integer(self, field: str, *, low: int | None = None) -> int:
        """A whole number (written without a fraction), at least `low`."""
        value = self._raw(field)
        if self.typed:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(field, f"expected a whole number, found {value!r}")
            number = value
        else:
            text = str(value).strip()
            if not text.lstrip("-").isdigit():
                raise self.error(field, f"expected a whole number, found {value!r}")
            number = int(text)
        if low is not None and number < low:
            raise self.error(field, f"{number} is below {low}")
        return number

    def flag(self, field: str) -> bool:
        """true/false (JSON booleans; TRUE/FALSE in a CSV)."""
        value = self._raw(field)
        if self.typed:
            if not isinstance(value, bool):
                raise self.error(field, f"expected true or false, found {value!r}")
            return value
        text = str(value).strip().upper()
        if text not in ("TRUE", "FALSE"):
            raise self.error(field, f"expected TRUE or FALSE, found {value!r}")
        return text == "TRUE"

    def items(self, field: str, *, separator: str = ",") -> tuple[str, ...]:
        """A list of non-blank texts: a JSON array of strings, or separated text in a CSV cell (may be empty)."""
        if not self.has(field):
            if field not in self.values:
                raise self.error(field, "missing")
            return ()
        value = self.values[field]
        if self.typed:
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise self.error(field, f"expected a list of non-blank texts, found {value!r}")
            return tuple(value)
        parts = tuple(p.strip() for p in str(value).split(separator))
        if any(not p for p in parts):
            raise self.error(field, f"an empty item in {value!r}")
        return parts

    def mapping(self, field: str) -> Mapping[str, Any]:
        """A JSON object (typed records only)."""
        value = self._raw(field)
        if not isinstance(value, Mapping):
            raise self.error(field, f"expected an object, found {type(value).__name__}")
        return value


def csv_rows(path: Path, columns: Collection[str]) -> Iterator[Row]:
    """The data rows of a UTF-8 CSV whose header is exactly `columns` (any order); 'line N' is where a row starts."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if sorted(header) != sorted(columns) or len(set(header)) != len(header):
            missing = sorted(set(columns) - set(header))
            extra = sorted(set(header) - set(columns))
            raise CatalogueError(
                path.name, "line 1 (header)", None, f"columns differ: missing {missing}, unexpected {extra}"
            )
        start = reader.line_num + 1
        for number, values in enumerate(reader, start=1):
            if None in values or any(v is None for v in values.values()):
                raise CatalogueError(path.name, f"line {start} (row {number})", None, "wrong number of cells")
            yield Row(path.name, f"line {start} (row {number})", values, typed=False)
            start = reader.line_num + 1


def json_document(path: Path) -> dict[str, Any]:
    """A UTF-8 JSON object; duplicate keys anywhere in it are refused (the last would silently win)."""

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in pairs:
            if key in found:
                raise CatalogueError(path.name, "document", key, "duplicate key")
            found[key] = value
        return found

    try:
        document = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=unique)
    except json.JSONDecodeError as error:
        raise CatalogueError(
            path.name, f"line {error.lineno}", None, f"not valid JSON: {error.msg}"
        ) from None
    if not isinstance(document, dict):
        raise CatalogueError(path.name, "document", None, "expected a JSON object")
    return document


def json_records(path: Path, section: str, records: Any) -> Iterator[Row]:
    """Each object of the list `records` (the document's `section`) as a typed Row."""
    if not isinstance(records, list):
        raise CatalogueError(path.name, "document", section, "expected a list of objects")
    for index, values in enumerate(records):
        where = f"{section}[{index}]"
        if not isinstance(values, dict):
            raise CatalogueError(path.name, where, None, "expected an object")
        yield Row(path.name, where, values, typed=True)
