"""Stable randomness: every choice is a function of (seed, purpose, ...), never of process state or wall time."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence, Sized
from typing import TypeVar

T = TypeVar("T")


def _digest(seed: int, parts: tuple[object, ...], size: int) -> bytes:
    text = "\x1f".join([str(seed), *map(str, parts)])
    return hashlib.blake2b(text.encode(), digest_size=size).digest()


def rng_for(seed: int, *parts: object) -> random.Random:
    """A Random seeded by a stable hash of seed and parts (Python's hash() is salted per process)."""
    return random.Random(int.from_bytes(_digest(seed, parts, 8), "big"))


def stable_uuid(seed: int, *parts: object) -> str:
    """A version-4-shaped UUID derived from seed and parts."""
    return str(uuid.UUID(bytes=_digest(seed, parts, 16), version=4))


def stable_fraction(seed: int, *parts: object) -> float:
    """A number in [0, 1) derived from seed and parts, cheaper than building a Random."""
    return int.from_bytes(_digest(seed, parts, 8), "big") / 2**64


# Hot-path draws: random() is implemented in C, several times cheaper than randrange()/choice().


def between(rng: random.Random, low: int, high: int) -> int:
    """An int in [low, high)."""
    return low + int(rng.random() * (high - low))


def index_in(rng: random.Random, options: Sized) -> int:
    """A valid index into `options`."""
    return int(rng.random() * len(options))


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One element of a non-empty sequence."""
    return options[int(rng.random() * len(options))]
