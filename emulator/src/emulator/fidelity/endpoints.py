"""Which Graph type a request URL returns, and what its query and headers change about validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

from emulator.fidelity.schema import SchemaModel

# Paths of the v1.0 entity sets the emulator serves → item type (FACTS.md §1: the `security` singleton's
# contained collections, `tenantRelationships`, and the `contracts` entity set).
ENTITY_SETS: Mapping[str, str] = MappingProxyType(
    {
        "/security/alerts_v2": "microsoft.graph.security.alert",
        "/security/incidents": "microsoft.graph.security.incident",
        "/security/secureScores": "microsoft.graph.secureScore",
        "/security/secureScoreControlProfiles": "microsoft.graph.secureScoreControlProfile",
        "/security/alerts": "microsoft.graph.alert",
        "/tenantRelationships/delegatedAdminRelationships": "microsoft.graph.delegatedAdminRelationship",
        "/tenantRelationships/delegatedAdminCustomers": "microsoft.graph.delegatedAdminCustomer",
        "/contracts": "microsoft.graph.contract",
    }
)
_VERSION_PREFIX = "v1.0"
_INCLUDE_UNKNOWN_ENUM_MEMBERS = "include-unknown-enum-members"


class UnknownEndpointError(LookupError):
    """The URL is not an entity set (or an item or navigation of one) that the validator knows."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What a request URL returns: items of `type_name`, as a collection or a single entity."""

    type_name: str
    is_collection: bool
    expanded: frozenset[str]


def _segments(path: str) -> list[str]:
    parts = [unquote(part) for part in path.split("/") if part]
    if parts and parts[0].lower() == _VERSION_PREFIX:
        parts = parts[1:]
    # OData key syntax `alerts_v2('id')` is equivalent to the `alerts_v2/id` form Graph documents.
    if parts and parts[-1].endswith(")") and "(" in parts[-1]:
        name, _, key = parts[-1][:-1].partition("(")
        parts[-1:] = [name, key.strip("'")]
    return parts


def _expanded_names(query: str) -> frozenset[str]:
    """Top-level navigation names in `$expand` (Graph also accepts `expand`, any case)."""
    names: set[str] = set()
    for option, value in parse_qsl(query, keep_blank_values=True):
        if option.lower().lstrip("$") != "expand":
            continue
        depth, current = 0, []
        for char in value + ",":
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif char == "," and depth == 0:
                names.add("".join(current).split("/")[0].strip())
                current = []
                continue
            if depth == 0 and char != ")":
                current.append(char)
    names.discard("")
    return frozenset(names)


def resolve_endpoint(model: SchemaModel, url: str) -> Endpoint:
    """Resolve `/v1.0/security/incidents/{id}?$expand=alerts` (absolute URLs too) to what it returns."""
    parts = urlsplit(url)
    segments = _segments(parts.path)
    expanded = _expanded_names(parts.query)
    lowered = [segment.lower() for segment in segments]
    for set_path, type_name in ENTITY_SETS.items():
        set_segments = [segment.lower() for segment in set_path.strip("/").split("/")]
        # Graph matches resource path segments case-insensitively.
        if lowered[: len(set_segments)] != set_segments:
            continue
        rest = segments[len(set_segments) :]
        if not rest:
            return Endpoint(type_name, is_collection=True, expanded=expanded)
        if len(rest) == 1:
            return Endpoint(type_name, is_collection=False, expanded=expanded)
        if len(rest) in (2, 3):
            navigation = {name.lower(): prop for name, prop in model.properties(type_name).items()}
            prop = navigation.get(rest[1].lower())
            if prop is not None and prop.is_navigation and (len(rest) == 2 or prop.is_collection):
                # `{set}/{id}/{navigation}` and, for a contained collection, one of its items `…/{item id}`.
                return Endpoint(
                    prop.type_name, is_collection=prop.is_collection and len(rest) == 2, expanded=expanded
                )
    raise UnknownEndpointError(f"no known Graph v1.0 entity set serves {parts.path!r}")


def prefers_unknown_enum_members(prefer_headers: str | Iterable[str] | None) -> bool:
    """Whether `Prefer` header value(s) ask for evolvable enum members (`include-unknown-enum-members`)."""
    if prefer_headers is None:
        return False
    values = [prefer_headers] if isinstance(prefer_headers, str) else list(prefer_headers)
    for header in values:
        for preference in header.split(","):
            name = preference.split(";")[0].split("=")[0].strip()
            if name.lower() == _INCLUDE_UNKNOWN_ENUM_MEMBERS:
                return True
    return False
