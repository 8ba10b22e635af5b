"""Cached access to the marts for the Streamlit pages: one reader per warehouse, results cached by filters.

Results are cached for a minute (`st.cache_data`, keyed by the query's name, its arguments and the source),
so several people opening the portfolio page cost one set of queries, and a new dbt build shows up quickly.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from smart_office.dashboard import queries
from smart_office.dashboard.connection import MartsReader, MartsSource, marts_source_from_env

CACHE_TTL_SECONDS = 60


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
def _query(source_key: str, name: str, args: tuple[Any, ...]) -> Any:
    return getattr(queries, name)(reader(), *args)


def load(name: str, *args: Any) -> Any:
    """`queries.<name>(reader, *args)`, cached per warehouse and arguments."""
    return _query(source().cache_key, name, args)
