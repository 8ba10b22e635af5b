"""What the validator reports: one problem at one JSON path."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IssueCode(StrEnum):
    """Kinds of schema deviation; members compare equal to their string values."""

    TYPE = "type"
    NULL = "null"
    UNKNOWN_PROPERTY = "unknown-property"
    ENUM = "enum"
    EVOLVABLE_ENUM = "evolvable-enum"
    ODATA_TYPE = "odata-type"
    MISSING_KEY = "missing-key"
    NAVIGATION = "navigation"
    COLLECTION = "collection"
    SCHEMA_GAP = "schema-gap"


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """A deviation from the schema at `path` (e.g. `value[3].evidence[1].fileDetails.fileSize`)."""

    path: str
    code: IssueCode
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: [{self.code}] {self.message}"


def join_property(path: str, name: str) -> str:
    """Path of property `name` inside the object at `path`."""
    return f"{path}.{name}" if path else name


def join_index(path: str, index: int) -> str:
    """Path of item `index` of the array at `path`."""
    return f"{path}[{index}]"
