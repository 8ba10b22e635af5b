"""Cached access to the marts for the Streamlit pages: one reader per warehouse, results cached by query and arguments.

A page calls `load(queries.portfolio.coverage, run_id)`: the query function itself, not its name. Results are
cached for a minute (`st.cache_data`, keyed by the function's qualified name, its arguments and the source), so
several people opening the portfolio page cost one set of queries, and a new dbt build shows up quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from smart_office.dashboard.connection import MartsReader, MartsSource, marts_source_from_env

CACHE_TTL_SECONDS = 60

T = TypeVar("T")


def source() -> MartsSource:
    return marts_source_from_env()


@st.cache_resource(show_spinner=False)
def _cached_reader(key: str, _source: MartsSource) -> MartsReader:
    # Keyed by the source's hash: the URL itself is never hashed into a cache key or shown.
    return MartsReader(_source)


def reader() -> MartsReader:
    found = source()
    return _cached_reader(found.cache_key, found)


@st.cache_data(ttl=CACHE_TTL_SECONDS, show_spinner=False, max_entries=1000)
def _cached(source_key: str, query_name: str, args: tuple[Any, ...], _query: Callable[..., Any]) -> Any:
    # `_query` is left out of the key (its name is in it): functions are not hashed by their code.
    return _query(reader(), *args)


def load(query: Callable[..., T], *args: Any) -> T:
    """`query(reader, *args)`, cached per warehouse, query and arguments."""
    return _cached(source().cache_key, f"{query.__module__}.{query.__qualname__}", args, query)
