"""A least-recently-used cache bounded by the total weight of its values (e.g. bytes, or items held)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class WeightedLRU(Generic[V]):
    """Evicts least recently used entries once the summed weight of values exceeds `capacity`."""

    def __init__(self, capacity: int, weigh: Callable[[V], int]) -> None:
        self.capacity = capacity
        self._weigh = weigh
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self.weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """The value for `key` (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, value: V) -> V:
        """Store `value` and evict the least recently used entries over capacity; returns `value`."""
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.weight -= self._weigh(previous)
        self._entries[key] = value
        self.weight += self._weigh(value)
        while self.weight > self.capacity and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self.weight -= self._weigh(evicted)
        return value

    def clear(self) -> None:
        """Drop everything."""
        self._entries.clear()
        self.weight = 0
