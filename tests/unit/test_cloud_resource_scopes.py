"""`token --resource` takes a cloud's alias, a resource URI or an app id, and asks for `<resource>/.default`."""

from __future__ import annotations

import pytest

from smart_office.clouds import CHINA, PUBLIC, USGOV, Cloud, UnknownResourceError


@pytest.mark.parametrize(
    ("cloud", "resource", "scope"),
    [
        (PUBLIC, "graph", "https://graph.microsoft.com/.default"),
        (PUBLIC, "Graph", "https://graph.microsoft.com/.default"),
        (PUBLIC, "partnercenter", "https://api.partnercenter.microsoft.com/.default"),
        (PUBLIC, "management", "https://management.azure.com/.default"),
        (PUBLIC, "keyvault", "https://vault.azure.net/.default"),
        (PUBLIC, "postgres", "https://ossrdbms-aad.database.windows.net/.default"),
        (USGOV, "graph", "https://graph.microsoft.us/.default"),
        (USGOV, "management", "https://management.usgovcloudapi.net/.default"),
        (CHINA, "graph", "https://microsoftgraph.chinacloudapi.cn/.default"),
        (CHINA, "keyvault", "https://vault.azure.cn/.default"),
        # A URI with or without its trailing slash: the slash used to hide the missing /.default.
        (PUBLIC, "https://management.azure.com/", "https://management.azure.com/.default"),
        (PUBLIC, "https://management.azure.com", "https://management.azure.com/.default"),
        (PUBLIC, "api://my-api", "api://my-api/.default"),
        (
            PUBLIC,
            "00000003-0000-0000-c000-000000000000",
            "00000003-0000-0000-c000-000000000000/.default",
        ),
        # Already a scope: kept as given.
        (PUBLIC, "https://graph.microsoft.com/.default", "https://graph.microsoft.com/.default"),
        (PUBLIC, "https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/User.Read"),
    ],
)
def test_a_resource_becomes_a_scope(cloud: Cloud, resource: str, scope: str) -> None:
    assert cloud.scope_for(resource) == scope


@pytest.mark.parametrize("resource", ["grph", "graph.microsoft.com", ""])
def test_an_unknown_alias_lists_the_aliases(resource: str) -> None:
    with pytest.raises(UnknownResourceError) as raised:
        PUBLIC.scope_for(resource)
    assert str(raised.value) == (
        f"{resource!r} is neither a resource URI (https://…, api://…) nor one of graph, partnercenter, "
        "management, keyvault, postgres"
    )
