"""Walks a JSON payload alongside the schema and collects every deviation."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

from emulator.fidelity.issues import IssueCode, ValidationIssue, join_index, join_property
from emulator.fidelity.primitives import SUPPORTED_PRIMITIVE_TYPES, check_primitive
from emulator.fidelity.schema import (
    UNKNOWN_FUTURE_VALUE,
    EnumType,
    PropertyDef,
    SchemaModel,
    StructuredType,
)

ODATA_TYPE = "@odata.type"
_LINK_ANNOTATIONS = frozenset({"@odata.nextLink", "@odata.deltaLink"})
_STRING_ANNOTATIONS = _LINK_ANNOTATIONS | {"@odata.context", "@odata.etag", "@odata.id", "@odata.editLink"}
_PREFER_HEADER = "Prefer: include-unknown-enum-members"


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class PayloadValidator:
    """One validation run; `issues` collects what it finds, in payload order."""

    def __init__(self, model: SchemaModel, *, include_unknown_enum_members: bool) -> None:
        self._model = model
        self._include_unknown_enum_members = include_unknown_enum_members
        self.issues: list[ValidationIssue] = []

    def _report(self, path: str, code: IssueCode, message: str) -> None:
        self.issues.append(ValidationIssue(path=path, code=code, message=message))

    def collection_response(
        self, payload: object, type_name: str, *, expanded: Collection[str] | None = None
    ) -> None:
        """Check `{"@odata.context", "@odata.nextLink"?, "value": [...]}` holding `type_name` items."""
        if not isinstance(payload, Mapping):
            self._report(
                "",
                IssueCode.COLLECTION,
                f"a collection response must be a JSON object, got {_describe(payload)}",
            )
            return
        for name, value in payload.items():
            if name == "value":
                continue
            if name.startswith("@"):
                self._instance_annotation("", name, value)
            else:
                self._report(
                    name, IssueCode.UNKNOWN_PROPERTY, f"{name!r} is not part of an OData collection response"
                )
        items = payload.get("value")
        if not isinstance(items, list):
            self._report(
                "value", IssueCode.COLLECTION, f"'value' must be a JSON array, got {_describe(items)}"
            )
            return
        for index, item in enumerate(items):
            path = join_index("value", index)
            if item is None:
                self._report(path, IssueCode.NULL, "items of an entity collection are never null")
            else:
                self.structured_value(item, type_name, path, expanded=expanded)

    def structured_value(
        self, payload: object, declared: str, path: str, *, expanded: Collection[str] | None = None
    ) -> None:
        """Check one entity or complex instance declared as `declared` (its @odata.type may narrow it)."""
        if not isinstance(payload, Mapping):
            self._report(
                path, IssueCode.TYPE, f"expected a JSON object for {declared}, got {_describe(payload)}"
            )
            return
        concrete, trusted = self._concrete_type(payload, declared, path)
        properties = self._model.properties(concrete)
        # After a bad @odata.type the real shape is unknown: report that once, not every property.
        open_type = self._model.is_open(concrete) or not trusted
        for name, value in payload.items():
            member_path = join_property(path, name)
            if "@" in name:
                self._annotation(path, name, value, properties, open_type)
            elif name in properties:
                prop = properties[name]
                if prop.is_navigation and expanded is not None and name not in expanded:
                    self._report(
                        member_path,
                        IssueCode.NAVIGATION,
                        f"navigation property {name!r} is returned only when requested with $expand={name}",
                    )
                self._property_value(value, prop, member_path)
            elif not open_type:
                self._report(
                    member_path,
                    IssueCode.UNKNOWN_PROPERTY,
                    f"{name!r} is not a property of {concrete} or its base types (and it is not an OpenType)",
                )
        if self._model.structured(concrete).kind == "EntityType":
            for key in self._model.key(concrete):
                if key not in payload:
                    self._report(
                        join_property(path, key),
                        IssueCode.MISSING_KEY,
                        f"entity {concrete} must carry its key {key!r}",
                    )

    def _concrete_type(self, payload: Mapping[str, object], declared: str, path: str) -> tuple[str, bool]:
        """The type named by @odata.type if it is valid here, else `declared`; and whether to trust it."""
        type_path = join_property(path, ODATA_TYPE)
        if ODATA_TYPE not in payload:
            if self._model.structured(declared).abstract:
                self._report(
                    type_path, IssueCode.ODATA_TYPE, f"{declared} is abstract: instances need @odata.type"
                )
            return declared, True
        annotation = payload[ODATA_TYPE]
        if not isinstance(annotation, str) or not annotation.startswith("#"):
            self._report(
                type_path,
                IssueCode.ODATA_TYPE,
                f"@odata.type must be a string '#namespace.type', got {_describe(annotation)}",
            )
            return declared, False
        named = annotation[1:]
        found = self._model.get(named)
        if not isinstance(found, StructuredType):
            self._report(
                type_path,
                IssueCode.ODATA_TYPE,
                f"{annotation!r} is not an entity or complex type in the schema",
            )
            return declared, False
        if not self._model.derives_from(named, declared):
            self._report(
                type_path, IssueCode.ODATA_TYPE, f"{named} does not derive from the declared type {declared}"
            )
            return declared, False
        if found.abstract:
            self._report(type_path, IssueCode.ODATA_TYPE, f"{named} is abstract and cannot be instantiated")
        return named, True

    def _annotation(
        self,
        path: str,
        name: str,
        value: object,
        properties: Mapping[str, PropertyDef],
        open_type: bool,
    ) -> None:
        annotated, _, _term = name.partition("@")
        if not annotated:
            if name != ODATA_TYPE:
                self._instance_annotation(path, name, value)
            return
        # "prop@odata.type" and similar annotate a property, which must exist (or the type be open).
        if annotated not in properties and not open_type:
            self._report(
                join_property(path, name),
                IssueCode.UNKNOWN_PROPERTY,
                f"annotation {name!r} refers to {annotated!r}, which is not a declared property",
            )

    def _instance_annotation(self, path: str, name: str, value: object) -> None:
        member_path = join_property(path, name)
        if name == "@odata.count":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self._report(
                    member_path,
                    IssueCode.TYPE,
                    f"@odata.count must be a non-negative integer, got {_describe(value)}",
                )
        elif name in _STRING_ANNOTATIONS:
            if not isinstance(value, str):
                self._report(member_path, IssueCode.TYPE, f"{name} must be a string, got {_describe(value)}")
            elif name in _LINK_ANNOTATIONS:
                # Graph's paging links are absolute URLs that clients follow verbatim.
                parts = urlsplit(value)
                if parts.scheme not in ("https", "http") or not parts.netloc:
                    self._report(
                        member_path, IssueCode.TYPE, f"{name} must be an absolute URL, got {_describe(value)}"
                    )

    def _property_value(self, value: object, prop: PropertyDef, path: str) -> None:
        if not prop.is_collection:
            if value is None:
                if not prop.nullable:
                    self._report(path, IssueCode.NULL, f'{prop.name!r} is declared Nullable="false"')
                return
            self._single_value(value, prop.type_name, path, prop)
            return
        if value is None:
            self._report(
                path, IssueCode.NULL, f"collection {prop.name!r} must be [] rather than null (OData)"
            )
            return
        if not isinstance(value, list):
            self._report(
                path,
                IssueCode.TYPE,
                f"expected a JSON array for Collection({prop.type_name}), got {_describe(value)}",
            )
            return
        for index, item in enumerate(value):
            item_path = join_index(path, index)
            if item is None:
                if not prop.nullable:
                    self._report(
                        item_path, IssueCode.NULL, f'items of {prop.name!r} are declared Nullable="false"'
                    )
                continue
            self._single_value(item, prop.type_name, item_path, prop)

    def _single_value(self, value: object, type_name: str, path: str, prop: PropertyDef) -> None:
        if type_name in SUPPORTED_PRIMITIVE_TYPES:
            problem = check_primitive(value, type_name)
            if problem is not None:
                self._report(path, IssueCode.TYPE, problem)
            return
        found = self._model.get(type_name)
        if isinstance(found, EnumType):
            self._enum_value(value, found, path)
        elif isinstance(found, StructuredType):
            # Expanded navigation targets are full entities; nested levels are not $expand-checked.
            self.structured_value(value, type_name, path)
        else:
            self._report(
                path,
                IssueCode.SCHEMA_GAP,
                f"{prop.name!r} has type {type_name}, which the extracted schemas do not include",
            )

    def _enum_value(self, value: object, enum: EnumType, path: str) -> None:
        if not isinstance(value, str):
            self._report(
                path,
                IssueCode.TYPE,
                f"enum {enum.name} is serialized as a member name string, got {_describe(value)}",
            )
            return
        names = value.split(",") if enum.is_flags else [value]
        for member in names:
            if member not in enum.members:
                hint = next((m for m in enum.members if m.lower() == member.lower()), None)
                suggestion = f" (did you mean {hint!r}? members are case-sensitive)" if hint else ""
                self._report(path, IssueCode.ENUM, f"{member!r} is not a member of {enum.name}{suggestion}")
            elif member in enum.evolvable_members and not self._include_unknown_enum_members:
                self._report(
                    path,
                    IssueCode.EVOLVABLE_ENUM,
                    f"{member!r} is an evolvable member of {enum.name} (declared after {UNKNOWN_FUTURE_VALUE}); "
                    f"without '{_PREFER_HEADER}' Graph sends {UNKNOWN_FUTURE_VALUE!r} instead",
                )
