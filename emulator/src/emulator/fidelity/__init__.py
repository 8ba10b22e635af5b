"""Validator of JSON payloads against Microsoft Graph's CSDL-derived schemas (`emulator/schemas/graph`).

It proves the emulator's Graph responses are faithful: property names, Edm types, nullability, enum
members (including evolvable members and `Prefer: include-unknown-enum-members`), derived types
selected by `@odata.type`, navigation properties and entity keys.
"""

from __future__ import annotations

from emulator.fidelity.endpoints import (
    ENTITY_SETS,
    Endpoint,
    UnknownEndpointError,
    prefers_unknown_enum_members,
    resolve_endpoint,
)
from emulator.fidelity.issues import IssueCode, ValidationIssue
from emulator.fidelity.registry import SchemaRegistry
from emulator.fidelity.schema import SchemaError, SchemaModel, UnknownTypeError

__all__ = [
    "ENTITY_SETS",
    "Endpoint",
    "IssueCode",
    "SchemaError",
    "SchemaModel",
    "SchemaRegistry",
    "UnknownEndpointError",
    "UnknownTypeError",
    "ValidationIssue",
    "prefers_unknown_enum_members",
    "resolve_endpoint",
]
