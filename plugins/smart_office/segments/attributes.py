"""What a customer attribute is: a key (`industry`), a value (`healthcare`) and the tenant it describes.

The rules are checked here, before anything is written, so that an error names the argument or CSV row; the
warehouse's check constraints (migration 0009) hold the same rules against any other writer.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# The attributes dim_customers has a column for; any other key is a free tag (dim_customer_segments).
WELL_KNOWN_KEYS: tuple[str, ...] = ("service_model", "industry", "contract_tier", "seat_band")
MAX_VALUE_LENGTH = 100
# Columns of the CSV that are not attributes.
RESERVED_COLUMNS: tuple[str, ...] = ("tenant_id", "company_name")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidAttributeError(ValueError):
    """Bad input: says what is wrong with it and what would be right."""


@dataclass(frozen=True, slots=True, order=True)
class Attribute:
    """One attribute of one customer."""

    tenant_id: str
    key: str
    value: str


def parse_tenant(text: str) -> str:
    """A tenant id in its canonical form (lowercase, hyphenated)."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        raise InvalidAttributeError(f"{text.strip()!r} is not a tenant id (a GUID)") from None


def check_key(text: str) -> str:
    key = text.strip().lower()
    if not _KEY.match(key):
        raise InvalidAttributeError(
            f"attribute name {text.strip()!r} is not lowercase letters, digits and _ (starting with a letter, "
            "at most 40)"
        )
    if key in RESERVED_COLUMNS:
        raise InvalidAttributeError(f"{key} is not an attribute name (it is a column of the CSV)")
    return key


def check_value(key: str, text: str) -> str:
    value = text.strip()
    if not value:
        raise InvalidAttributeError(f"{key}: empty value (untag the attribute to remove it)")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidAttributeError(f"{key}: value longer than {MAX_VALUE_LENGTH} characters")
    if _CONTROL.search(value):
        raise InvalidAttributeError(f"{key}: value holds a control character")
    return value


def parse_assignment(text: str) -> tuple[str, str]:
    """`key=value` from the command line."""
    key, separator, value = text.partition("=")
    if not separator:
        raise InvalidAttributeError(f"{text!r} is not key=value (e.g. industry=healthcare)")
    checked = check_key(key)
    return checked, check_value(checked, value)
