"""What every query module shares: the reader they run on and the marts they name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from types import ModuleType
from typing import Any, Protocol

import pandas as pd
from psycopg import sql

SCHEMA = "marts"


class Reader(Protocol):
    def frame(self, query: sql.Composable, params: dict[str, Any] | None = None) -> pd.DataFrame: ...

    def copy_csv(self, query: sql.Composable, params: dict[str, Any] | None = None) -> bytes: ...


class Mart(sql.Identifier):
    """`marts.<name>`, composed into a query like any identifier, and knowing its name."""

    def __init__(self, name: str) -> None:
        super().__init__(SCHEMA, name)
        self.name = name


def mart(name: str) -> Mart:
    """A mart, as a module constant of the query module that reads it (what `marts_named_in` finds)."""
    return Mart(name)


def mart_name(value: object) -> str | None:
    """The mart's name when `value` is a `mart(...)` constant, else None."""
    return value.name if isinstance(value, Mart) else None


def marts_named_in(modules: Iterable[ModuleType]) -> set[str]:
    """The marts the given query modules name (their `mart(...)` constants)."""
    return {name for module in modules for value in vars(module).values() if (name := mart_name(value))}


def as_timestamp(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def as_date(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return (
        value if isinstance(value, date) and not isinstance(value, datetime) else pd.Timestamp(value).date()
    )
