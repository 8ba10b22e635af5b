"""OData query options as Graph's collection endpoints read them: a small, strict `$filter` parser, `$top`,
`$skip`, `$count`, `$skiptoken` and the absolute `@odata.nextLink` that carries them.

`$filter` grammar (what the documented filters need, nothing more): comparisons `prop op literal` with
eq/ne/gt/ge/lt/le, `and`, `or`, `not`, parentheses, and `startswith(prop,'text')` where an endpoint allows it.
Literals: quoted strings (`''` escapes a quote), DateTimeOffset (`2026-11-02T09:00:00Z`, unquoted as OData
writes them), GUIDs, `null`, `true`/`false`, numbers, and typed enum literals
(`microsoft.graph.security.alertSeverity'high'`). Property types come from the CSDL-derived schema, so a
comparison is checked the way Graph's OData layer checks it: an unknown property, a property the endpoint does
not filter on, an operator the type does not support, or a literal of the wrong type is a `QueryError` (the
endpoint turns it into a 400 in its own error shape). Errors use the wording of ASP.NET OData / ODataLib, the
stack behind the security API: the captured `$top` error (examples/graph_v1_error_400_top_exceeded_incidents.json)
is that library's message, so its siblings are inferred to be too.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from emulator.fidelity.schema import EnumType, SchemaModel

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_ORDERED = frozenset({"gt", "ge", "lt", "le"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class QueryError(ValueError):
    """A query option Graph would refuse with 400; `message` is what the service says about it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- fields ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Field:
    """A filterable property: its path (`customer/tenantId`), Edm or enum type, and what it can be compared with."""

    path: str
    type_name: str
    nullable: bool
    members: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        if self.members:
            return "enum"
        return {
            "Edm.DateTimeOffset": "datetime",
            "Edm.String": "string",
            "Edm.Guid": "guid",
            "Edm.Boolean": "bool",
            "Edm.Int32": "number",
            "Edm.Int64": "number",
            "Edm.Double": "number",
        }.get(self.type_name, "other")


@dataclass(frozen=True, slots=True)
class FilterSchema:
    """What `$filter` may use on one entity set: the entity type and its filterable fields."""

    type_name: str
    fields: Mapping[str, Field]
    known: frozenset[str]  # every property of the type (unknown ones get ODataLib's "could not find" error)
    functions: frozenset[str] = frozenset()  # e.g. {"startswith"}
    operators: frozenset[str] = frozenset(COMPARISONS)  # comparison operators the endpoint takes
    connectives: frozenset[str] = frozenset({"and", "or", "not"})  # logical operators the endpoint takes


def filter_schema(
    model: SchemaModel, type_name: str, filterable: Iterable[str], functions: Iterable[str] = ()
) -> FilterSchema:
    """A FilterSchema whose field types are read from the CSDL-derived `model`."""
    fields: dict[str, Field] = {}
    for path in filterable:
        owner = type_name
        prop = None
        for segment in path.split("/"):
            prop = model.properties(owner).get(segment)
            if prop is None:
                raise KeyError(f"{owner} has no property {segment!r}")
            owner = prop.type_name
        assert prop is not None
        enum = model.get(prop.type_name)
        members = enum.members if isinstance(enum, EnumType) else ()
        fields[path.lower()] = Field(path, prop.type_name, prop.nullable, members)
    known = frozenset(name.lower() for name in model.properties(type_name))
    return FilterSchema(type_name, fields, known, frozenset(f.lower() for f in functions))


def string_filter_schema(
    type_name: str,
    filterable: Iterable[str],
    *,
    functions: Iterable[str] = (),
    operators: Iterable[str] = COMPARISONS,
    connectives: Iterable[str] = ("and", "or", "not"),
) -> FilterSchema:
    """A FilterSchema for a type outside the CSDL extracts whose filterable properties are nullable strings
    (the directory's objects), limited to the operators the endpoint takes."""
    fields = {path.lower(): Field(path, "Edm.String", True) for path in filterable}
    unknown = sorted(set(operators) - set(COMPARISONS)) + sorted(set(connectives) - {"and", "or", "not"})
    if unknown:
        raise ValueError(f"unknown operators {unknown}")
    return FilterSchema(
        type_name,
        fields,
        frozenset(fields),
        frozenset(f.lower() for f in functions),
        frozenset(operators),
        frozenset(connectives),
    )


# -- AST ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Comparison:
    """`field op value`; datetimes are 100-ns ticks since 1970 (Graph's precision), enums/strings text."""

    field: Field
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class StartsWith:
    field: Field
    prefix: str


@dataclass(frozen=True, slots=True)
class Logical:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Negation:
    operand: Node


Node = Comparison | StartsWith | Logical | Negation


def conjuncts(node: Node) -> list[Node]:
    """The terms of a top-level `and` chain (a single term for anything else)."""
    if isinstance(node, Logical) and node.op == "and":
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def datetime_ticks(moment: datetime) -> int:
    """100-ns ticks since 1970 (exact for microsecond datetimes)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


# -- tokenizer ------------------------------------------------------------------------------------------
_DATETIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})"
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>"""
    + _DATETIME
    + r""")(?![\w:.-])
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:-])
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
  | (?P<typed>[A-Za-z_][\w.]*'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.])
  | (?P<name>[A-Za-z_][\w]*(?:/[A-Za-z_][\w]*)*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
  | (?P<colon>:)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise QueryError(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _unquote(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


# -- parser ---------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, schema: FilterSchema) -> None:
        self.text = text
        self.schema = schema
        self.tokens = _tokens(text)
        self.index = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise QueryError(f"Expression expected at position {len(self.text)} in '{self.text}'.")
        self.index += 1
        return token

    def _syntax(self, token: _Token) -> QueryError:
        return QueryError(f"Syntax error at position {token.position} in '{self.text}'.")

    def _keyword(self, *words: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind == "name" and token.text.lower() in words:
            self.index += 1
            return token.text.lower()
        return None

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token is not None:
            raise self._syntax(token)
        return node

    def _connective(self, word: str) -> bool:
        """Consume the logical operator `word` if it comes next; refuse it if the endpoint does not take it."""
        token = self._peek()
        if not self._keyword(word):
            return False
        if word not in self.schema.connectives:
            assert token is not None
            raise QueryError(
                f"The logical operator '{word}' at position {token.position} is not supported by this endpoint."
            )
        return True

    def _or(self) -> Node:
        node = self._and()
        while self._connective("or"):
            node = Logical("or", node, self._and())
        return node

    def _and(self) -> Node:
        node = self._unary()
        while self._connective("and"):
            node = Logical("and", node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._connective("not"):
            return Negation(self._unary())
        return self._primary()

    def _primary(self) -> Node:
        token = self._next()
        if token.kind == "open":
            node = self._or()
            close = self._next()
            if close.kind != "close":
                raise self._syntax(close)
            return node
        if token.kind != "name":
            # `'x' eq prop` and other literal-first forms are valid OData that Graph's security API does not take.
            raise QueryError(
                f"Only comparisons of a property with a literal are supported; found '{token.text}' "
                f"at position {token.position}."
            )
        following = self._peek()
        if following is not None and following.kind == "open":
            return self._function(token)
        field = self._field(token)
        op_token = self._next()
        op = op_token.text.lower() if op_token.kind == "name" else ""
        if op in ("has", "in", "add", "sub", "mul", "div", "mod"):
            raise QueryError(
                f"The operator '{op}' is not allowed on property '{field.path}'. Supported operators: "
                + ", ".join(COMPARISONS)
                + "."
            )
        if op not in COMPARISONS:
            raise self._syntax(op_token)
        if op not in self.schema.operators:
            raise QueryError(
                f"The operator '{op}' is not supported on property '{field.path}' by this endpoint. "
                "Supported operators: "
                + ", ".join(o for o in COMPARISONS if o in self.schema.operators)
                + "."
            )
        return self._comparison(field, op, self._next())

    def _field(self, token: _Token) -> Field:
        path = token.text
        field = self.schema.fields.get(path.lower())
        if field is not None:
            return field
        head = path.split("/", 1)[0].lower()
        if head not in self.schema.known:
            raise QueryError(f"Could not find a property named '{path}' on type '{self.schema.type_name}'.")
        raise QueryError(f"The property '{path}' cannot be used in the $filter query option.")

    def _function(self, name: _Token) -> Node:
        function = name.text.lower()
        if function in ("any", "all") or name.text.lower().endswith(("/any", "/all")):
            raise QueryError("Lambda operators (any/all) are not supported by this endpoint in the emulator.")
        if function not in self.schema.functions:
            raise QueryError(f"Function '{name.text}' is not allowed in the $filter query option.")
        self._next()  # "("
        field = self._field(self._next())
        if field.kind != "string":
            raise QueryError(
                f"'{name.text}' requires a string property; '{field.path}' is {field.type_name}."
            )
        comma = self._next()
        literal = self._next()
        close = self._next()
        if comma.kind != "comma" or literal.kind != "string" or close.kind != "close":
            raise self._syntax(literal)
        return StartsWith(field, _unquote(literal.text))

    def _comparison(self, field: Field, op: str, literal: _Token) -> Comparison:
        operator_name = {
            "eq": "Equal",
            "ne": "NotEqual",
            "gt": "GreaterThan",
            "ge": "GreaterThanOrEqual",
            "lt": "LessThan",
            "le": "LessThanOrEqual",
        }[op]

        def incompatible(found: str) -> QueryError:
            return QueryError(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{field.type_name}' and '{found}' for operator kind '{operator_name}'."
            )

        if literal.kind == "name" and literal.text.lower() == "null":
            if not field.nullable:
                raise QueryError(
                    f"The property '{field.path}' is not nullable and cannot be compared with null."
                )
            if op not in ("eq", "ne"):
                raise incompatible("null")
            return Comparison(field, op, None)
        kind = field.kind
        if kind == "datetime":
            if literal.kind != "datetime":
                raise incompatible(_literal_type(literal))
            return Comparison(field, op, datetime_literal_ticks(literal.text))
        if op in _ORDERED:
            raise QueryError(
                f"The operator '{op}' is not supported on property '{field.path}' of type '{field.type_name}'."
            )
        if kind == "enum":
            if literal.kind == "typed":
                type_name, _, quoted = literal.text.partition("'")
                if type_name != field.type_name:
                    raise incompatible(type_name)
                value = _unquote("'" + quoted)
            elif literal.kind == "string":
                value = _unquote(literal.text)
            else:
                raise incompatible(_literal_type(literal))
            if value not in field.members:
                raise QueryError(f"The string '{value}' is not a valid enumeration type constant.")
            return Comparison(field, op, value)
        if kind == "string":
            if literal.kind != "string":
                raise incompatible(_literal_type(literal))
            return Comparison(field, op, _unquote(literal.text))
        if kind == "guid":
            # Directory endpoints accept GUIDs quoted or bare; both compare case-insensitively.
            if literal.kind == "guid":
                return Comparison(field, op, literal.text.lower())
            if literal.kind == "string" and _GUID.fullmatch(_unquote(literal.text)):
                return Comparison(field, op, _unquote(literal.text).lower())
            raise incompatible(_literal_type(literal))
        if kind == "bool":
            if literal.kind == "name" and literal.text.lower() in ("true", "false"):
                return Comparison(field, op, literal.text.lower() == "true")
            raise incompatible(_literal_type(literal))
        raise QueryError(f"The property '{field.path}' cannot be used in the $filter query option.")


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _literal_type(token: _Token) -> str:
    return {
        "string": "Edm.String",
        "date": "Edm.Date",
        "datetime": "Edm.DateTimeOffset",
        "guid": "Edm.Guid",
        "number": "Edm.Int32" if token.text.lstrip("-").isdigit() else "Edm.Double",
        "typed": token.text.partition("'")[0],
    }.get(token.kind, "Edm.Boolean" if token.text.lower() in ("true", "false") else "Edm.Untyped")


def datetime_literal_ticks(text: str) -> int:
    """100-ns ticks of an OData DateTimeOffset literal (also Graph's own timestamps, up to 7 fraction digits)."""
    match = re.fullmatch(r"(.{10}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})", text)
    if match is None:
        raise QueryError(f"'{text}' is not a DateTimeOffset.")
    base, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise QueryError(
            f"The DateTimeOffset text '{text}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'."
        ) from None
    return datetime_ticks(moment.astimezone(UTC)) + int((fraction or "0").ljust(7, "0"))


def parse_filter(text: str, schema: FilterSchema) -> Node:
    """The AST of a `$filter` expression; raises QueryError for anything Graph would refuse."""
    if not text.strip():
        raise QueryError("The $filter query option cannot be empty.")
    return _Parser(text, schema).parse()


# -- evaluation -----------------------------------------------------------------------------------------
Getter = Callable[[Any], Any]


def compile_filter(node: Node, getters: Mapping[str, Getter]) -> Callable[[Any], bool]:
    """A predicate over items; `getters[path]` reads a field (datetimes as 100-ns ticks, see datetime_ticks)."""
    if isinstance(node, Logical):
        left, right = compile_filter(node.left, getters), compile_filter(node.right, getters)
        if node.op == "and":
            return lambda item: left(item) and right(item)
        return lambda item: left(item) or right(item)
    if isinstance(node, Negation):
        inner = compile_filter(node.operand, getters)
        return lambda item: not inner(item)
    getter = getters[node.field.path]
    if isinstance(node, StartsWith):
        prefix = node.prefix.lower()
        return lambda item: isinstance(value := getter(item), str) and value.lower().startswith(prefix)
    op, value = node.op, node.value
    if node.field.kind in ("string", "guid") and isinstance(value, str):
        # Directory and security string comparisons are case-insensitive.
        value = value.lower()
        if op == "eq":
            return lambda item: isinstance(v := getter(item), str) and v.lower() == value
        return lambda item: not (isinstance(v := getter(item), str) and v.lower() == value)
    if value is None:
        return (lambda item: getter(item) is None) if op == "eq" else (lambda item: getter(item) is not None)
    if op == "eq":
        return lambda item: getter(item) == value
    if op == "ne":
        return lambda item: getter(item) != value
    if op == "gt":
        return lambda item: (v := getter(item)) is not None and v > value
    if op == "ge":
        return lambda item: (v := getter(item)) is not None and v >= value
    if op == "lt":
        return lambda item: (v := getter(item)) is not None and v < value
    return lambda item: (v := getter(item)) is not None and v <= value


def time_window(node: Node, path: str) -> tuple[int | None, int | None]:
    """Inclusive [low, high] tick bounds on `path` implied by the top-level `and` terms (for pruning only)."""
    low: int | None = None
    high: int | None = None
    for term in conjuncts(node):
        if not isinstance(term, Comparison) or term.field.path != path or term.value is None:
            continue
        value = term.value
        if term.op in ("gt", "ge", "eq"):
            bound = value + 1 if term.op == "gt" else value
            low = bound if low is None else max(low, bound)
        if term.op in ("lt", "le", "eq"):
            bound = value - 1 if term.op == "lt" else value
            high = bound if high is None else min(high, bound)
    return low, high


# -- query options --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueryOptions:
    """System query options of one request (names case-insensitive, each at most once)."""

    top: int | None = None
    skip: int | None = None
    count: bool = False
    filter: str | None = None
    skiptoken: str | None = None
    expand: str | None = None
    select: str | None = None
    params: tuple[tuple[str, str], ...] = ()  # every query parameter as sent, in order


def parse_options(params: Sequence[tuple[str, str]], allowed: Iterable[str]) -> QueryOptions:
    """Read `$top`, `$skip`, `$count`, `$filter`, `$skiptoken`, `$expand`, `$select`; refuse options not `allowed`."""
    permitted = {name.lower() for name in allowed} | {"$skiptoken"}
    seen: dict[str, str] = {}
    for name, value in params:
        lowered = name.lower()
        if not lowered.startswith("$"):
            continue  # custom query parameters are ignored, as at Graph
        if lowered not in permitted:
            raise QueryError(
                f"Query option '{name}' is not allowed. To allow it, set the 'AllowedQueryOptions' property "
                "on EnableQueryAttribute or QueryValidationSettings."
            )
        if lowered in seen:
            raise QueryError(
                f"Query option '{name}' was specified more than once, but it must be specified at most once."
            )
        seen[lowered] = value
    count = seen.get("$count")
    if count is not None and count.lower() not in ("true", "false"):
        raise QueryError(f"'{count}' is not a valid count option.")
    return QueryOptions(
        top=_non_negative(seen, "$top"),
        skip=_non_negative(seen, "$skip"),
        count=(count or "").lower() == "true",
        filter=seen.get("$filter"),
        skiptoken=seen.get("$skiptoken"),
        expand=seen.get("$expand"),
        select=seen.get("$select"),
        params=tuple(params),
    )


def _non_negative(seen: Mapping[str, str], name: str) -> int | None:
    value = seen.get(name)
    if value is None:
        return None
    if not value.strip().isdigit():
        raise QueryError(
            f"Invalid value '{value}' for {name} query option found. The {name} query option requires a "
            "non-negative integer value."
        )
    return int(value)


def top_exceeded(limit: int, requested: int) -> QueryError:
    """ASP.NET OData's message for `$top` above the endpoint's MaxTop (captured for incidents)."""
    return QueryError(
        f"The limit of '{limit}' for Top query has been exceeded. The value from the incoming request is "
        f"'{requested}'."
    )


# -- paging ---------------------------------------------------------------------------------------------
def next_link(base: str, path: str, params: Sequence[tuple[str, str]], skiptoken: str) -> str:
    """Absolute `@odata.nextLink`: the request's own query parameters plus the new `$skiptoken`."""
    kept = [(k, v) for k, v in params if k.lower() != "$skiptoken"]
    kept.append(("$skiptoken", skiptoken))
    return f"{base}{path}?{urlencode(kept, quote_via=quote, safe=_SAFE)}"


def first_page_link(base: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    """The collection's first page: the request's parameters without `$skiptoken` (for the nextlink_loop fault)."""
    kept = [(k, v) for k, v in params if k.lower() != "$skiptoken"]
    return f"{base}{path}?{urlencode(kept, quote_via=quote, safe=_SAFE)}" if kept else f"{base}{path}"


_SAFE = "$'(),:/"
_VARIANT = "~"


def offset_token(offset: int, variant: int = 0) -> str:
    """An opaque `$skiptoken` for offset-paged collections."""
    token = base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")
    return f"{token}{_VARIANT}{variant}" if variant else token


def decode_offset(token: str) -> int:
    """The offset inside `offset_token(...)`; QueryError when the token is not one of ours."""
    core = strip_variant(token)
    try:
        raw = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise QueryError("The $skiptoken value is not valid.") from None
    kind, _, number = raw.partition(":")
    if kind != "offset" or not number.isdigit():
        raise QueryError("The $skiptoken value is not valid.")
    return int(number)


def with_variant(token: str, variant: int) -> str:
    """The same position under another spelling (an empty page's nextLink must differ from its own URL)."""
    return f"{strip_variant(token)}{_VARIANT}{variant}"


def strip_variant(token: str) -> str:
    return token.split(_VARIANT, 1)[0]


def variant_of(token: str | None) -> int:
    if not token or _VARIANT not in token:
        return 0
    tail = token.split(_VARIANT, 1)[1]
    return int(tail) if tail.isdigit() else 0


def select_members(
    item: Mapping[str, Any],
    select: str,
    known: frozenset[str] | None,
    type_name: str,
    *,
    always: Collection[str] = ("id",),
) -> dict[str, Any]:
    """`$select`: the named properties (plus `@odata.*` annotations and the `always` ones), in the item's order.

    `known` are the type's property names (lowercase): another name is a QueryError. With `known=None` (an
    open type, as the directory's objects are served) a name the item lacks selects nothing.
    """
    wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
    if known is not None:
        for name in wanted:
            if name not in known:
                raise QueryError(f"Could not find a property named '{name}' on type '{type_name}'.")
    return {k: v for k, v in item.items() if k.lower() in wanted or k.startswith("@odata.") or k in always}


# -- collection bodies ----------------------------------------------------------------------------------
def json_array(items: Iterable[bytes]) -> bytes:
    """A JSON array from already-serialised items (one copy)."""
    return b"[" + b",".join(items) + b"]"


def collection_body(
    context: str, array: bytes, *, count: int | None = None, next_link: str | None = None
) -> bytes:
    """`{"@odata.context", ["@odata.count",] ["@odata.nextLink",] "value"}` around a serialised array."""
    head: dict[str, Any] = {"@odata.context": context}
    if count is not None:
        head["@odata.count"] = count
    if next_link is not None:
        head["@odata.nextLink"] = next_link
    return orjson.dumps(head)[:-1] + b',"value":' + array + b"}"


def collection_of(
    context: str, items: Iterable[bytes], *, count: int | None = None, next_link: str | None = None
) -> bytes:
    """`collection_body` from serialised items, in a single join (a 1,000-alert page is ~4 MB: one copy)."""
    head = collection_body(context, b"", count=count, next_link=next_link)[:-1]
    parts = [head, b"["]
    for item in items:
        parts.append(item)
        parts.append(b",")
    if len(parts) > 2:
        parts.pop()
    parts.append(b"]}")
    return b"".join(parts)


@dataclass(frozen=True, slots=True)
class OffsetPage:
    """Items [start, end) of a collection of `total`; `more` when a nextLink is due."""

    start: int
    end: int
    more: bool


def offset_page(total: int, options: QueryOptions, page_size: int | None) -> OffsetPage:
    """Server-driven paging that honours `$top`/`$skip` as limits (OData: $top caps the whole result)."""
    skip = options.skip or 0
    start = decode_offset(options.skiptoken) if options.skiptoken else skip
    limit = total if options.top is None else min(total, skip + options.top)
    end = limit if page_size is None else min(limit, start + page_size)
    end = max(end, start)
    return OffsetPage(start, end, end < limit)
