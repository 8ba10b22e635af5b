"""Query options of the directory lists over HTTPS, now answered by the shared OData parser and pager.

`$filter` takes `eq` and `startswith` joined by `and`, compared without regard to case; `$top` is the page size
(1-999); pages chain by `@odata.nextLink`; `$select` keeps what it names; errors use the directory's codes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from tests.integration.emulator.conftest import admin_graph_token
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration
SCOPES = [
    "https://graph.microsoft.com/Application.Read.All",
    "https://graph.microsoft.com/Directory.Read.All",
]
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
MICROSOFT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # the owner of first-party apps


class Directory:
    def __init__(self, emulator: EmulatorHandle) -> None:
        self.origin = emulator.graph
        self.session = emulator.http_session()
        self.session.headers["Authorization"] = f"Bearer {admin_graph_token(emulator, SCOPES)}"

    def get(self, path_or_url: str, **params: str) -> requests.Response:
        url = path_or_url if path_or_url.startswith("https://") else f"{self.origin}/v1.0{path_or_url}"
        return self.session.get(url, params=params or None, timeout=60)

    def ok(self, path: str, **params: str) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def refused(self, path: str, **params: str) -> tuple[int, str, str]:
        response = self.get(path, **params)
        error = response.json()["error"]
        return response.status_code, error["code"], error["message"]


@pytest.fixture(scope="module")
def directory(emulator) -> Directory:
    return Directory(emulator)


def test_top_pages_the_list_and_next_links_keep_the_query(directory, emulator) -> None:
    first_party = f"appOwnerOrganizationId eq '{MICROSOFT}'"  # other tests may add principals of their own
    everything = directory.ok("/servicePrincipals", **{"$filter": first_party})["value"]
    assert len(everything) == 10  # Graph, Partner Center, …, Power BI
    query = urlencode({"$filter": first_party, "$top": "4", "$select": "appId,displayName"})
    pages, url = [], f"{emulator.graph}/v1.0/servicePrincipals?{query}"
    while url:
        body = directory.ok(url)
        pages.append(body["value"])
        url = body.get("@odata.nextLink")
        if url:
            kept = dict(parse_qsl(urlsplit(url).query))
            assert (kept["$filter"], kept["$select"]) == (first_party, "appId,displayName")
    assert [len(p) for p in pages] == [4, 4, 2]
    assert [i for p in pages for i in p] == [
        {"appId": s["appId"], "displayName": s["displayName"]} for s in everything
    ]


def test_eq_and_startswith_ignore_case_and_combine_with_and(directory) -> None:
    [graph] = directory.ok("/servicePrincipals", **{"$filter": f"APPID eq '{GRAPH_APP.upper()}'"})["value"]
    assert graph["appId"] == GRAPH_APP
    prefix = graph["displayName"][:5].lower()
    started = directory.ok("/servicePrincipals", **{"$filter": f"startswith(displayName,'{prefix}')"})[
        "value"
    ]
    assert graph in started
    assert all(s["displayName"].lower().startswith(prefix) for s in started)
    both = f"startswith(displayName,'{prefix}') and appId eq '{GRAPH_APP}'"
    assert directory.ok("/servicePrincipals", **{"$filter": both})["value"] == [graph]
    agents = directory.ok(
        "/groups", **{"$filter": "startswith(displayName,'admin')", "$select": "displayName"}
    )
    assert agents["value"] == [{"displayName": "AdminAgents"}]
    assert agents["@odata.context"].endswith("$metadata#groups(displayName)")


@pytest.mark.parametrize(
    ("filter_", "fragment"),
    [
        ("displayName ne 'x'", "The operator 'ne' is not supported on property 'displayName'"),
        ("displayName eq 'a' or displayName eq 'b'", "The logical operator 'or'"),
        ("not startswith(displayName,'a')", "The logical operator 'not'"),
        ("tags eq 'x'", "Could not find a property named 'tags' on type 'microsoft.graph.servicePrincipal'"),
        ("endswith(displayName,'a')", "Function 'endswith' is not allowed"),
        ("appId eq 00000003-0000-0000-c000-000000000000", "incompatible types"),
        ("displayName eq", "Expression expected"),
    ],
)
def test_filters_the_directory_does_not_take_are_unsupported_queries(directory, filter_, fragment) -> None:
    status, code, message = directory.refused("/servicePrincipals", **{"$filter": filter_})
    assert (status, code) == (400, "Request_UnsupportedQuery")
    assert fragment in message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"$top": "0"}, "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."),
        ({"$top": "1000"}, "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."),
        ({"$skiptoken": "bm90LW91cnM"}, "The $skiptoken value is not valid."),
        ({"$orderby": "displayName"}, "Query option '$orderby' is not allowed."),
    ],
)
def test_paging_options_it_cannot_take_are_bad_requests(directory, params, message) -> None:
    status, code, text = directory.refused("/applications", **params)
    assert (status, code) == (400, "Request_BadRequest")
    assert text.startswith(message)


def test_the_paging_faults_apply_to_directory_lists(directory, emulator) -> None:
    everything = directory.ok("/groups")["value"]
    emulator.add_fault(kind="empty_page", service="graph", endpoint="groups", count=1)
    first = directory.ok("/groups", **{"$top": "2"})
    assert first["value"] == []
    resumed, url = [], first["@odata.nextLink"]
    while url:
        body = directory.ok(url)
        resumed += body["value"]
        url = body.get("@odata.nextLink")
    assert resumed == everything
