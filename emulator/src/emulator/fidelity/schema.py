"""The Graph type model read from the CSDL-derived JSON summaries in `emulator/schemas/graph`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from emulator.fidelity.primitives import SUPPORTED_PRIMITIVE_TYPES

UNKNOWN_FUTURE_VALUE = "unknownFutureValue"
_COLLECTION_PREFIX = "Collection("


class SchemaError(ValueError):
    """The schema files are inconsistent (unresolvable type, conflicting definitions, cycle)."""


class UnknownTypeError(KeyError):
    """A caller asked for a type name that the schema does not define."""


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """One declared (structural or navigation) property; `type_name` is the item type of a collection."""

    name: str
    type_name: str
    is_collection: bool
    nullable: bool
    is_navigation: bool


@dataclass(frozen=True, slots=True)
class StructuredType:
    """An EntityType or ComplexType with only its own (not inherited) properties."""

    name: str
    kind: Literal["EntityType", "ComplexType"]
    base_type: str | None
    open_type: bool
    abstract: bool
    key: tuple[str, ...]
    own_properties: Mapping[str, PropertyDef]


@dataclass(frozen=True, slots=True)
class EnumType:
    """An EnumType; `members` keeps CSDL declaration order, which defines the evolvable members."""

    name: str
    members: tuple[str, ...]
    is_flags: bool

    @property
    def evolvable_members(self) -> frozenset[str]:
        """Members declared after `unknownFutureValue`: sent only with `Prefer: include-unknown-enum-members`."""
        if UNKNOWN_FUTURE_VALUE not in self.members:
            return frozenset()
        return frozenset(self.members[self.members.index(UNKNOWN_FUTURE_VALUE) + 1 :])


SchemaType = StructuredType | EnumType


def split_collection(type_expr: str) -> tuple[str, bool]:
    """`Collection(X)` → (X, True); `X` → (X, False)."""
    if type_expr.startswith(_COLLECTION_PREFIX) and type_expr.endswith(")"):
        return type_expr[len(_COLLECTION_PREFIX) : -1], True
    return type_expr, False


def _parse_property(name: str, raw: Mapping[str, object]) -> PropertyDef:
    type_name, is_collection = split_collection(str(raw["type"]))
    return PropertyDef(
        name=name,
        type_name=type_name,
        is_collection=is_collection,
        # CSDL: Nullable defaults to true; on a collection it governs the items, never the collection.
        nullable=raw.get("nullable", True) is not False,
        is_navigation=bool(raw.get("navigation", False)),
    )


def _parse_type(name: str, raw: Mapping[str, object]) -> SchemaType:
    kind = raw["kind"]
    if kind == "EnumType":
        members = raw["members"]
        if not isinstance(members, Mapping):
            raise SchemaError(f"{name}: members must be a name → value map")
        return EnumType(name=name, members=tuple(members), is_flags=bool(raw.get("isFlags", False)))
    if kind not in ("EntityType", "ComplexType"):
        raise SchemaError(f"{name}: unsupported kind {kind!r}")
    properties = raw.get("properties", {})
    if not isinstance(properties, Mapping):
        raise SchemaError(f"{name}: properties must be an object")
    base_type = raw.get("baseType")
    key = raw.get("key", ())
    return StructuredType(
        name=name,
        kind=kind,
        base_type=str(base_type) if base_type else None,
        open_type=bool(raw.get("openType", False)),
        abstract=bool(raw.get("abstract", False)),
        key=tuple(str(part) for part in key) if isinstance(key, list) else (),
        own_properties={prop: _parse_property(prop, spec) for prop, spec in properties.items()},
    )


class SchemaModel:
    """All types from the schema files, with inheritance resolved on demand."""

    def __init__(self, types: Mapping[str, SchemaType]) -> None:
        self._types = dict(types)
        self._properties_cache: dict[str, Mapping[str, PropertyDef]] = {}
        self._check_consistency()

    @classmethod
    def from_documents(cls, documents: Iterable[tuple[str, str]]) -> SchemaModel:
        """Build from (source name, JSON text) pairs; the same type in two files must agree."""
        raw_types: dict[str, tuple[str, object]] = {}
        for source, text in documents:
            for name, raw in json.loads(text).items():
                if name in raw_types and raw_types[name][1] != raw:
                    raise SchemaError(f"{name} is defined differently in {raw_types[name][0]} and {source}")
                raw_types[name] = (source, raw)
        return cls({name: _parse_type(name, raw) for name, (_, raw) in raw_types.items()})

    @classmethod
    def from_directory(cls, directory: Traversable | None = None) -> SchemaModel:
        """Load every `*.json` in `directory` (default: the schemas packaged with the emulator)."""
        folder = directory if directory is not None else resources.files("emulator") / "schemas" / "graph"
        files = sorted(
            (entry for entry in folder.iterdir() if entry.name.endswith(".json")), key=lambda e: e.name
        )
        if not files:
            raise SchemaError(f"no schema files in {folder}")
        return cls.from_documents((entry.name, entry.read_text(encoding="utf-8")) for entry in files)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def get(self, name: str) -> SchemaType | None:
        """The type called `name`, or None."""
        return self._types.get(name)

    def structured(self, name: str) -> StructuredType:
        """The entity or complex type called `name`."""
        found = self._types.get(name)
        if not isinstance(found, StructuredType):
            raise UnknownTypeError(f"{name} is not an entity or complex type in the schema")
        return found

    def ancestry(self, name: str) -> list[StructuredType]:
        """`name` and its base types, most derived first."""
        chain: list[StructuredType] = []
        current: str | None = name
        while current is not None:
            if any(ancestor.name == current for ancestor in chain):
                raise SchemaError(f"base-type cycle through {current}")
            found = self._types.get(current)
            if not isinstance(found, StructuredType):
                if not chain:
                    raise UnknownTypeError(f"{current} is not an entity or complex type in the schema")
                raise SchemaError(f"{chain[-1].name}: base type {current} is not in the schema")
            chain.append(found)
            current = found.base_type
        return chain

    def properties(self, name: str) -> Mapping[str, PropertyDef]:
        """Declared properties of `name`, inherited ones included."""
        cached = self._properties_cache.get(name)
        if cached is None:
            merged: dict[str, PropertyDef] = {}
            for ancestor in reversed(self.ancestry(name)):
                merged.update(ancestor.own_properties)
            cached = self._properties_cache[name] = merged
        return cached

    def is_open(self, name: str) -> bool:
        """Whether instances may carry undeclared (dynamic) properties: the type or a base is OpenType."""
        return any(ancestor.open_type for ancestor in self.ancestry(name))

    def key(self, name: str) -> tuple[str, ...]:
        """Key properties of an entity type (declared on it or inherited)."""
        return next((ancestor.key for ancestor in self.ancestry(name) if ancestor.key), ())

    def derives_from(self, name: str, base: str) -> bool:
        """Whether `name` is `base` or (transitively) derived from it."""
        return any(ancestor.name == base for ancestor in self.ancestry(name))

    def _check_consistency(self) -> None:
        for schema_type in self._types.values():
            if not isinstance(schema_type, StructuredType):
                continue
            self.ancestry(schema_type.name)  # raises on a missing base type or a cycle
            for prop in schema_type.own_properties.values():
                resolvable = prop.type_name in SUPPORTED_PRIMITIVE_TYPES or prop.type_name in self._types
                # The extracts stop at navigation targets outside our endpoints; those are reported
                # as schema gaps only if a payload actually expands them.
                if not resolvable and not prop.is_navigation:
                    raise SchemaError(f"{schema_type.name}.{prop.name}: unknown type {prop.type_name}")
