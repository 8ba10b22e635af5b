"""Stable randomness: every choice is a function of (seed, purpose, ...), never of process state or wall time."""

from __future__ import annotations

import hashlib
import random
import uuid


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
