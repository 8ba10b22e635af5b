"""Emulated customers' company names read like real ones: no word twice in a row ("Medical Group Group")."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest

from emulator.data.names import company_for
from emulator.data.portfolio import Portfolio

# Large enough that every place, specialty and suffix meets every other at least once for any seed, and
# the numbered second generation of names starts.
COMBINATIONS_AND_MORE = 32_000


def _doubled_word(name: str) -> str | None:
    words = name.lower().replace(".", "").split()
    return next((a for a, b in pairwise(words) if a == b), None)


@pytest.mark.parametrize("name", ["Aspen Medical Group Group", "Cedar Labs labs Inc."])
def test_the_check_sees_a_doubled_word(name):
    assert _doubled_word(name) is not None


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 104_729])
def test_no_company_name_repeats_a_word_and_each_is_distinct(seed):
    names = [company_for(i, seed)[0] for i in range(COMBINATIONS_AND_MORE)]
    assert sorted(n for n in names if _doubled_word(n))[:5] == []
    assert len(set(names)) == len(names)


def test_no_portfolio_customer_name_repeats_a_word_over_many_seeds():
    anchor = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    names = [c.company_name for seed in range(40) for c in Portfolio(seed=seed, tenants=200, anchor=anchor)]
    assert len(names) == 8_000
    assert [n for n in names if _doubled_word(n)] == []
