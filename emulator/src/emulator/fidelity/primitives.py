"""Checks of JSON values against the OData primitive types (Edm.*) as Graph serializes them.

Formats follow the OData 4.0 ABNF (odata-abnf-construction-rules) and the JSON format spec with
`IEEE754Compatible=false`, which is what Graph sends: 64-bit integers and decimals as JSON numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, time

_INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "Edm.Byte": (0, 2**8 - 1),
    "Edm.SByte": (-(2**7), 2**7 - 1),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_FLOATING_TYPES = frozenset({"Edm.Double", "Edm.Single", "Edm.Decimal"})
# OData JSON writes the IEEE special values as strings, since JSON numbers cannot express them.
_SPECIAL_FLOAT_STRINGS = frozenset({"INF", "-INF", "NaN"})

# Upper-case T and Z only: Graph never sends lower case, and the emulator must look like Graph.
_DATE_TIME_OFFSET = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})T(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<offset>Z|[+-](?P<offset_hour>\d{2}):(?P<offset_minute>\d{2}))"
)
# Microsoft serializes .NET DateTimeOffset ticks: at most 7 fractional digits (100 ns).
_MAX_FRACTION_DIGITS = 7
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Edm.Duration is xs:dayTimeDuration: days, hours, minutes, seconds only (no years or months), and at
# least one component ("P" and "PT" alone are invalid). Graph docs accept "P2Y" as *input* for GDAP
# durations, but responses carry the schema's form, e.g. "P730D" (the CSDL wins).
_DURATION = re.compile(r"-?P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TIME_OF_DAY = re.compile(r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,12})?)?")
_BASE64URL = re.compile(r"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?")


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_json_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_string(value: object, edm_type: str) -> str | None:
    return (
        None if isinstance(value, str) else f"expected a JSON string for {edm_type}, got {_describe(value)}"
    )


def _check_boolean(value: object, edm_type: str) -> str | None:
    return (
        None if isinstance(value, bool) else f"expected true or false for {edm_type}, got {_describe(value)}"
    )


def _check_integer(value: object, edm_type: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected a JSON integer for {edm_type}, got {_describe(value)}"
    low, high = _INTEGER_RANGES[edm_type]
    if not low <= value <= high:
        return f"{value} is outside the range of {edm_type} [{low}, {high}]"
    return None


def _check_floating(value: object, edm_type: str) -> str | None:
    if _is_json_integer(value):
        return None
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return (
            f"non-finite {edm_type} must be written as the string 'INF', '-INF' or 'NaN', not a bare {value}"
        )
    if isinstance(value, str) and value in _SPECIAL_FLOAT_STRINGS:
        return None
    return f"expected a JSON number (or 'INF', '-INF', 'NaN') for {edm_type}, got {_describe(value)}"


def _valid_calendar_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_clock(hour: str, minute: str, second: str | None) -> bool:
    try:
        time(int(hour), int(minute), int(second or 0))
    except ValueError:
        return False
    return True


def _check_date_time_offset(value: object, edm_type: str) -> str | None:
    if not isinstance(value, str):
        return f"expected an ISO 8601 string for {edm_type}, got {_describe(value)}"
    match = _DATE_TIME_OFFSET.fullmatch(value)
    if match is None:
        return f"{value!r} is not an {edm_type} (YYYY-MM-DDThh:mm[:ss[.fffffff]] followed by Z or ±hh:mm)"
    fraction = match["fraction"]
    if fraction is not None and len(fraction) > _MAX_FRACTION_DIGITS:
        return f"{value!r} has {len(fraction)} fractional-second digits; Microsoft sends at most 7"
    if not _valid_calendar_date(match["date"]) or not _valid_clock(
        match["hour"], match["minute"], match["second"]
    ):
        return f"{value!r} is not a real date and time"
    if match["offset"] != "Z" and not _valid_clock(match["offset_hour"], match["offset_minute"], None):
        return f"{value!r} has an invalid UTC offset"
    return None


def _check_date(value: object, edm_type: str) -> str | None:
    if isinstance(value, str) and _DATE.fullmatch(value) and _valid_calendar_date(value):
        return None
    return f"expected a calendar date YYYY-MM-DD for {edm_type}, got {_describe(value)}"


def _check_time_of_day(value: object, edm_type: str) -> str | None:
    if isinstance(value, str):
        match = _TIME_OF_DAY.fullmatch(value)
        if match and _valid_clock(match["hour"], match["minute"], match["second"]):
            return None
    return f"expected hh:mm[:ss[.fff]] for {edm_type}, got {_describe(value)}"


def _check_duration(value: object, edm_type: str) -> str | None:
    if isinstance(value, str) and _DURATION.fullmatch(value):
        return None
    return f"expected an ISO 8601 day-time duration such as 'P730D' or 'PT0S' for {edm_type}, got {_describe(value)}"


def _check_guid(value: object, edm_type: str) -> str | None:
    if isinstance(value, str) and _GUID.fullmatch(value):
        return None
    return f"expected a GUID (8-4-4-4-12 hex digits) for {edm_type}, got {_describe(value)}"


def _check_binary(value: object, edm_type: str) -> str | None:
    if isinstance(value, str) and _BASE64URL.fullmatch(value):
        return None
    return f"expected base64url text for {edm_type}, got {_describe(value)}"


_CHECKS: dict[str, Callable[[object, str], str | None]] = {
    "Edm.String": _check_string,
    "Edm.Boolean": _check_boolean,
    **dict.fromkeys(_INTEGER_RANGES, _check_integer),
    **dict.fromkeys(_FLOATING_TYPES, _check_floating),
    "Edm.DateTimeOffset": _check_date_time_offset,
    "Edm.Date": _check_date,
    "Edm.TimeOfDay": _check_time_of_day,
    "Edm.Duration": _check_duration,
    "Edm.Guid": _check_guid,
    "Edm.Binary": _check_binary,
}

SUPPORTED_PRIMITIVE_TYPES = frozenset(_CHECKS)


def check_primitive(value: object, edm_type: str) -> str | None:
    """Why a non-null `value` is not a valid `edm_type` (e.g. "Edm.Int32"), or None when it is."""
    return _CHECKS[edm_type](value, edm_type)
