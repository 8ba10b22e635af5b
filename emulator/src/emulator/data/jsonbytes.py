"""JSON serialisation for values that are kept in caches."""

from __future__ import annotations

import orjson


def dumps_compact(value: object) -> bytes:
    """orjson.dumps copied into an exact-size bytes object.

    orjson returns small results backed by a buffer of at least 4 KB; harmless for a response, but a cache of
    thousands of such values would hold ten times the memory its contents need.
    """
    return bytes(memoryview(orjson.dumps(value)))
