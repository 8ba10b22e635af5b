"""What a source sent that JSON itself cannot say, kept as a marker between parsing and landing."""

from __future__ import annotations


class NonFiniteNumber(str):
    """`NaN`, `Infinity` or `-Infinity` as a bare token in a response (not JSON, but some services emit it).

    The lenient parser turns each into this marker: it lands as the string (so staging sees and flags it)
    and the loader records the repair, keeping the original token in the item's original bytes.
    """

    __slots__ = ()

    def as_float(self) -> float:
        return float(self)
