"""The OData layer of the emulator's Graph: `$filter` parsing and evaluation, query options, nextLinks, tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from emulator.fidelity import SchemaRegistry
from emulator.graph.odata import (
    Comparison,
    Logical,
    QueryError,
    QueryOptions,
    collection_body,
    compile_filter,
    conjuncts,
    datetime_literal_ticks,
    datetime_ticks,
    decode_offset,
    filter_schema,
    first_page_link,
    next_link,
    offset_page,
    offset_token,
    parse_filter,
    parse_options,
    select_members,
    string_filter_schema,
    strip_variant,
    time_window,
    variant_of,
    with_variant,
)

MODEL = SchemaRegistry.load().model
ALERT = filter_schema(
    MODEL,
    "microsoft.graph.security.alert",
    ("assignedTo", "createdDateTime", "lastUpdateDateTime", "severity", "serviceSource", "status"),
)
CONTRACT = filter_schema(
    MODEL, "microsoft.graph.contract", ("customerId", "displayName"), functions=("startswith",)
)
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

ITEMS = [
    {
        "severity": "high",
        "status": "new",
        "assignedTo": None,
        "createdDateTime": datetime_ticks(T0),
        "id": "a",
    },
    {
        "severity": "low",
        "status": "resolved",
        "assignedTo": "x@contoso.com",
        "createdDateTime": datetime_ticks(T0) + 10,
        "id": "b",
    },
    {
        "severity": "medium",
        "status": "inProgress",
        "assignedTo": "Y@contoso.com",
        "createdDateTime": datetime_ticks(T0) - 10,
        "id": "c",
    },
    {
        "severity": "high",
        "status": "resolved",
        "assignedTo": "x@contoso.com",
        "createdDateTime": datetime_ticks(T0) + 1,
        "id": "d",
    },
]
GETTERS = {
    name: (lambda item, key=name: item.get(key))
    for name in ("severity", "status", "assignedTo", "createdDateTime")
}


def _matching(expression: str) -> list[str]:
    keep = compile_filter(parse_filter(expression, ALERT), GETTERS)
    return [item["id"] for item in ITEMS if keep(item)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("severity eq 'high'", ["a", "d"]),
        ("severity ne 'high'", ["b", "c"]),
        ("SEVERITY eq 'high'", ["a", "d"]),  # property names are case-insensitive
        ("severity eq 'high' and status eq 'new'", ["a"]),
        ("severity eq 'low' or status eq 'new'", ["a", "b"]),
        ("(severity eq 'low' or severity eq 'medium') and status ne 'resolved'", ["c"]),
        ("not (status eq 'resolved')", ["a", "c"]),
        ("severity eq 'high' or severity eq 'low' and status eq 'new'", ["a", "d"]),  # `and` binds tighter
        ("assignedTo eq null", ["a"]),
        ("assignedTo ne null", ["b", "c", "d"]),
        ("assignedTo eq 'X@CONTOSO.COM'", ["b", "d"]),  # string comparison ignores case
        ("createdDateTime gt 2026-11-01T12:00:00Z", ["b", "d"]),
        ("createdDateTime ge 2026-11-01T12:00:00Z", ["a", "b", "d"]),
        ("createdDateTime lt 2026-11-01T12:00:00.0000001Z", ["a", "c"]),  # 100-ns precision
        ("createdDateTime le 2026-11-01T14:00:00+02:00", ["a", "c"]),  # offsets are honoured
        ("severity eq microsoft.graph.security.alertSeverity'medium'", ["c"]),
        ("status eq 'resolved' and (severity eq 'high')", ["d"]),
    ],
)
def test_filters_select_what_graph_would(expression: str, expected: list[str]) -> None:
    assert _matching(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "investigationState eq 'queued'",
            "The property 'investigationState' cannot be used in the $filter query option.",
        ),
        (
            "nonsense eq 1",
            "Could not find a property named 'nonsense' on type 'microsoft.graph.security.alert'.",
        ),
        (
            "severity gt 'low'",
            "The operator 'gt' is not supported on property 'severity' of type 'microsoft.graph.security.alertSeverity'.",
        ),
        ("severity eq 'extreme'", "The string 'extreme' is not a valid enumeration type constant."),
        (
            "severity has 'high'",
            "The operator 'has' is not allowed on property 'severity'. Supported operators: eq, ne, gt, ge, lt, le.",
        ),
        (
            "severity eq 3",
            "A binary operator with incompatible types was detected. Found operand types 'microsoft.graph.security.alertSeverity' and 'Edm.Int32' for operator kind 'Equal'.",
        ),
        (
            "createdDateTime gt '2026-11-01T00:00:00Z'",
            "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThan'.",
        ),
        (
            "createdDateTime gt 2026-11-01",
            "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.Date' for operator kind 'GreaterThan'.",
        ),
        ("status eq null", "The property 'status' is not nullable and cannot be compared with null."),
        (
            "assignedTo gt null",
            "A binary operator with incompatible types was detected. Found operand types 'Edm.String' and 'null' for operator kind 'GreaterThan'.",
        ),
        (
            "severity eq microsoft.graph.security.alertStatus'new'",
            "A binary operator with incompatible types was detected. Found operand types 'microsoft.graph.security.alertSeverity' and 'microsoft.graph.security.alertStatus' for operator kind 'Equal'.",
        ),
        ("startswith(assignedTo,'x')", "Function 'startswith' is not allowed in the $filter query option."),
        (
            "evidence/any(e: e/verdict eq 'malicious')",
            "Lambda operators (any/all) are not supported by this endpoint in the emulator.",
        ),
        (
            "'high' eq severity",
            "Only comparisons of a property with a literal are supported; found ''high'' at position 0.",
        ),
        ("(severity eq 'high'", "Expression expected at position 19 in '(severity eq 'high''."),
        ("severity eq 'high')", "Syntax error at position 18 in 'severity eq 'high')'."),
        ("severity eq 'high' # x", "Syntax error at position 19 in 'severity eq 'high' # x'."),
        ("severity 'high'", "Syntax error at position 9 in 'severity 'high''."),
        ("   ", "The $filter query option cannot be empty."),
    ],
)
def test_refused_filters_say_why(expression: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_filter(expression, ALERT)
    assert raised.value.message == message


def test_guid_and_startswith_on_directory_fields() -> None:
    items = [
        {"customerId": "5d027261-d21f-4aa9-b7db-7fa1f56fb163", "displayName": "Contoso"},
        {"customerId": "1041ef52-a99b-4245-a3be-cbd3fa7c5ed1", "displayName": "Fabrikam"},
    ]
    getters = {"customerId": lambda i: i["customerId"], "displayName": lambda i: i["displayName"]}
    for expression in (
        "customerId eq 5D027261-D21F-4AA9-B7DB-7FA1F56FB163",
        "customerId eq '5d027261-d21f-4aa9-b7db-7fa1f56fb163'",
        "startswith(displayName,'con')",
    ):
        keep = compile_filter(parse_filter(expression, CONTRACT), getters)
        assert [i["displayName"] for i in items if keep(i)] == ["Contoso"]
    with pytest.raises(QueryError, match="incompatible types"):
        parse_filter("customerId eq 'not-a-guid'", CONTRACT)


def test_the_ast_exposes_conjuncts_and_time_windows() -> None:
    node = parse_filter(
        "createdDateTime gt 2026-11-01T00:00:00Z and status eq 'new' and createdDateTime le 2026-11-02T00:00:00Z",
        ALERT,
    )
    terms = conjuncts(node)
    assert [t.field.path for t in terms if isinstance(t, Comparison)] == [
        "createdDateTime",
        "status",
        "createdDateTime",
    ]
    low, high = time_window(node, "createdDateTime")
    assert low == datetime_literal_ticks("2026-11-01T00:00:00Z") + 1
    assert high == datetime_literal_ticks("2026-11-02T00:00:00Z")
    either = parse_filter("createdDateTime gt 2026-11-01T00:00:00Z or status eq 'new'", ALERT)
    assert isinstance(either, Logical)
    assert time_window(either, "createdDateTime") == (None, None)  # an `or` bounds nothing


def test_datetime_literals_keep_100ns_precision() -> None:
    assert datetime_literal_ticks("1970-01-01T00:00:00.0000001Z") == 1
    assert datetime_literal_ticks("1970-01-01T01:00:00+01:00") == 0
    assert datetime_literal_ticks("2026-11-01T12:00:00Z") == datetime_ticks(T0)


def test_query_options_are_read_strictly() -> None:
    options = parse_options(
        [("$top", "5"), ("$Skip", "2"), ("$count", "TRUE"), ("$filter", "x"), ("custom", "kept")],
        ("$top", "$skip", "$count", "$filter"),
    )
    assert (options.top, options.skip, options.count, options.filter) == (5, 2, True, "x")
    assert options.params[-1] == ("custom", "kept")
    for params, message in (
        ([("$top", "x")], "Invalid value 'x' for $top query option found."),
        ([("$top", "1"), ("$TOP", "2")], "Query option '$TOP' was specified more than once"),
        ([("$count", "yes")], "'yes' is not a valid count option."),
        ([("$orderby", "id")], "Query option '$orderby' is not allowed."),
    ):
        with pytest.raises(QueryError) as raised:
            parse_options(params, ("$top", "$count"))
        assert raised.value.message.startswith(message)


def test_next_links_carry_the_original_query_and_a_new_skiptoken() -> None:
    params = [("$top", "10"), ("$filter", "status eq 'new'"), ("$skiptoken", "old")]
    link = next_link("https://graph.example", "/v1.0/security/alerts_v2", params, "new")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "graph.example", "/v1.0/security/alerts_v2")
    assert parse_qsl(parts.query) == [("$top", "10"), ("$filter", "status eq 'new'"), ("$skiptoken", "new")]
    assert "$filter=status%20eq%20'new'" in parts.query  # spaces as %20, `$` and quotes kept readable
    assert (
        first_page_link("https://g", "/v1.0/x", params)
        == "https://g/v1.0/x?$top=10&$filter=status%20eq%20'new'"
    )
    assert first_page_link("https://g", "/v1.0/x", [("$skiptoken", "t")]) == "https://g/v1.0/x"


@pytest.mark.parametrize(
    ("total", "options", "page_size", "expected"),
    [
        (250, QueryOptions(), 100, (0, 100, True)),
        (250, QueryOptions(skiptoken=offset_token(200)), 100, (200, 250, False)),
        (250, QueryOptions(top=150), 100, (0, 100, True)),  # $top caps the whole result
        (250, QueryOptions(top=150, skiptoken=offset_token(100)), 100, (100, 150, False)),
        (90, QueryOptions(top=3, skip=2), None, (2, 5, False)),
        (90, QueryOptions(), None, (0, 90, False)),
        (5, QueryOptions(skip=9), None, (9, 9, False)),
    ],
)
def test_offset_pages(total: int, options: QueryOptions, page_size: int | None, expected: tuple) -> None:
    page = offset_page(total, options, page_size)
    assert (page.start, page.end, page.more) == expected


def test_skiptokens_are_opaque_but_checked() -> None:
    token = offset_token(300)
    assert decode_offset(token) == 300
    spelled = with_variant(token, 2)
    assert spelled != token
    assert (decode_offset(spelled), variant_of(spelled), strip_variant(spelled)) == (300, 2, token)
    for bad in ("!!", offset_token(3).upper(), "b3RoZXI6MQ"):
        with pytest.raises(QueryError, match=r"\$skiptoken"):
            decode_offset(bad)


def test_collection_bodies_splice_serialised_items() -> None:
    body = collection_body("ctx", b'[{"id":"a"}]', count=1, next_link="https://n")
    assert (
        body
        == b'{"@odata.context":"ctx","@odata.count":1,"@odata.nextLink":"https://n","value":[{"id":"a"}]}'
    )
    assert collection_body("ctx", b"[]") == b'{"@odata.context":"ctx","value":[]}'


# -- directory objects: string properties, a subset of the operators, open-type $select --------------------
DIRECTORY = string_filter_schema(
    "microsoft.graph.application",
    ("appId", "displayName", "notes"),
    functions=("startswith",),
    operators=("eq",),
    connectives=("and",),
)
APPS = [
    {"id": "1", "appId": "a-1", "displayName": "Smart Office", "notes": None},
    {"id": "2", "appId": "a-2", "displayName": "smart office (test)", "notes": "x"},
    {"id": "3", "appId": "a-3", "displayName": "Other", "notes": None, "tags": ["x"]},
]
APP_GETTERS = {f.path: (lambda item, key=f.path: item.get(key)) for f in DIRECTORY.fields.values()}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("displayName eq 'SMART OFFICE'", ["1"]),
        ("DisplayName eq 'smart office'", ["1"]),  # property names are case-insensitive too
        ("startswith(displayName,'smart')", ["1", "2"]),
        ("startswith(displayName,'smart') and appId eq 'A-2'", ["2"]),
        ("(displayName eq 'Other')", ["3"]),
        ("notes eq null", ["1", "3"]),
        ("notes eq 'X'", ["2"]),
    ],
)
def test_directory_filters_compare_strings_without_regard_to_case(
    expression: str, expected: list[str]
) -> None:
    keep = compile_filter(parse_filter(expression, DIRECTORY), APP_GETTERS)
    assert [a["id"] for a in APPS if keep(a)] == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "displayName ne 'x'",
            "The operator 'ne' is not supported on property 'displayName' by this endpoint. Supported operators: eq.",
        ),
        (
            "displayName ge 'x'",
            "The operator 'ge' is not supported on property 'displayName' by this endpoint.",
        ),
        (
            "appId eq 'a' or appId eq 'b'",
            "The logical operator 'or' at position 13 is not supported by this endpoint.",
        ),
        ("not (appId eq 'a')", "The logical operator 'not' at position 0 is not supported by this endpoint."),
        ("tags eq 'x'", "Could not find a property named 'tags' on type 'microsoft.graph.application'."),
        ("appId eq 1", "A binary operator with incompatible types was detected."),
    ],
)
def test_directory_filters_refuse_what_the_endpoint_does_not_take(expression: str, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_filter(expression, DIRECTORY)
    assert raised.value.message.startswith(message)


def test_string_filter_schemas_take_only_known_operators() -> None:
    with pytest.raises(ValueError, match="unknown operators"):
        string_filter_schema("t", ("a",), operators=("eq", "like"))
    unrestricted = string_filter_schema("t", ("a",))
    assert unrestricted.operators == frozenset(("eq", "ne", "gt", "ge", "lt", "le"))
    assert parse_filter("a ne 'x' or not (a eq 'y')", unrestricted) is not None


def test_select_on_a_closed_type_checks_names_and_keeps_id() -> None:
    item = {"@odata.type": "#t", "id": "1", "displayName": "A", "notes": None}
    assert select_members(item, "displayName", frozenset({"id", "displayname", "notes"}), "t") == {
        "@odata.type": "#t",
        "id": "1",
        "displayName": "A",
    }
    with pytest.raises(QueryError, match="Could not find a property named 'nope' on type 't'"):
        select_members(item, "nope", frozenset({"id"}), "t")


def test_select_on_an_open_type_keeps_only_what_it_names() -> None:
    item = {"@odata.type": "#t", "id": "1", "appId": "a", "displayName": "A"}
    assert select_members(item, "DISPLAYNAME, appId, missing", None, "t", always=()) == {
        "@odata.type": "#t",
        "appId": "a",
        "displayName": "A",
    }
