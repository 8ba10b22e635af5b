"""Counts in words: the number and the noun that agrees with it (`1 alert`, `2 alerts`), for every message."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 open alert`, `1,204 customers`: `n` with thousands separators and `singular`, or `plural` (default:
    `singular` + "s") unless `n` is exactly 1."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
