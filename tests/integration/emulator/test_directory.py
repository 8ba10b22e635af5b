"""An app registration done through Graph by the partner admin, then used as a client of the identity service."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.integration.emulator.conftest import GRAPH_DEFAULT, admin_graph_token, confidential_app
from tests.integration.emulator.test_identity_errors import assert_entra_error
from tests.support.emulator import EmulatorHandle, jwt_claims, sign_in_as_partner_admin

pytestmark = pytest.mark.integration
GRAPH_APP = "00000003-0000-0000-c000-000000000000"
PC_APP = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
ADMIN_SCOPES = [
    "https://graph.microsoft.com/Application.ReadWrite.All",
    "https://graph.microsoft.com/Directory.Read.All",
    "https://graph.microsoft.com/GroupMember.ReadWrite.All",
]


class Graph:
    """A tiny Graph client with the partner admin's delegated token."""

    def __init__(self, emulator: EmulatorHandle) -> None:
        self.base = f"{emulator.graph}/v1.0"
        self.session = emulator.http_session()
        self.session.headers["Authorization"] = f"Bearer {admin_graph_token(emulator, ADMIN_SCOPES)}"

    def __call__(self, method: str, path: str, json=None, params=None) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", json=json, params=params)

    def find(self, collection: str, filter_: str) -> list[dict]:
        response = self(method="GET", path=f"/{collection}", params={"$filter": filter_})
        assert response.status_code == 200, response.text
        return response.json()["value"]


@pytest.fixture
def graph(emulator) -> Graph:
    return Graph(emulator)


def _scope_ids(graph: Graph, app_id: str, names: list[str]) -> list[dict[str, str]]:
    [principal] = graph.find("servicePrincipals", f"appId eq '{app_id}'")
    published = {s["value"]: s["id"] for s in principal["oauth2PermissionScopes"]}
    return [{"id": published[n], "type": "Scope"} for n in names]


def _register(graph: Graph, name: str, audience: str = "AzureADMultipleOrgs") -> dict:
    body = {
        "displayName": name,
        "signInAudience": audience,
        "publicClient": {"redirectUris": ["http://localhost:8400"]},
        "requiredResourceAccess": [
            {
                "resourceAppId": GRAPH_APP,
                "resourceAccess": _scope_ids(
                    graph, GRAPH_APP, ["SecurityAlert.Read.All", "Directory.Read.All", "offline_access"]
                ),
            },
            {"resourceAppId": PC_APP, "resourceAccess": _scope_ids(graph, PC_APP, ["user_impersonation"])},
        ],
    }
    created = graph("POST", "/applications", body)
    assert created.status_code == 201, created.text
    return created.json()


def test_first_party_service_principals_publish_microsofts_permission_ids(graph) -> None:
    ids = {
        s["value"]: s["id"]
        for s in graph.find("servicePrincipals", f"appId eq '{GRAPH_APP}'")[0]["oauth2PermissionScopes"]
    }
    assert ids["SecurityAlert.Read.All"] == "bc257fb8-46b4-4b15-8713-01e91bfbe4ea"
    assert ids["offline_access"] == "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"
    [pc] = graph.find("servicePrincipals", f"appId eq '{PC_APP}'")
    assert [s["value"] for s in pc["oauth2PermissionScopes"]] == ["user_impersonation"]


def test_register_an_app_and_use_it_as_a_client(emulator, graph) -> None:
    name = f"Registration test {uuid.uuid4().hex[:8]}"
    assert graph.find("applications", f"displayName eq '{name}'") == []
    app = _register(graph, name)
    assert app["@odata.context"].endswith("$metadata#applications/$entity")
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    assert app["passwordCredentials"] == []
    assert [a["id"] for a in graph.find("applications", f"appId eq '{app['appId']}'")] == [app["id"]]
    selected = graph(
        "GET", "/applications", params={"$filter": f"displayName eq '{name}'", "$select": "appId,displayName"}
    ).json()
    assert selected["value"] == [{"appId": app["appId"], "displayName": name}]

    password = graph(
        "POST", f"/applications/{app['id']}/addPassword", {"passwordCredential": {"displayName": "pipeline"}}
    ).json()
    secret = password["secretText"]
    assert len(secret) == 40
    assert password["hint"] == secret[:3]
    stored = graph("GET", f"/applications/{app['id']}").json()["passwordCredentials"]
    assert [(p["keyId"], p["secretText"], p["hint"]) for p in stored] == [
        (password["keyId"], None, secret[:3])
    ]

    principal = graph("POST", "/servicePrincipals", {"appId": app["appId"]})
    assert principal.status_code == 201, principal.text
    assert graph("POST", "/servicePrincipals", {"appId": app["appId"]}).status_code == 409
    [agents] = graph.find("groups", "displayName eq 'AdminAgents'")
    reference = {"@odata.id": f"{emulator.graph}/v1.0/directoryObjects/{principal.json()['id']}"}
    assert graph("POST", f"/groups/{agents['id']}/members/$ref", reference).status_code == 204
    again = graph("POST", f"/groups/{agents['id']}/members/$ref", reference)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "Request_BadRequest"
    members = graph("GET", f"/groups/{agents['id']}/members").json()["value"]
    assert {"#microsoft.graph.user", "#microsoft.graph.servicePrincipal"} == {
        m["@odata.type"] for m in members
    }

    # The partner admin consents through the new app's own sign-in; its refresh token then works at customers.
    session = emulator.http_session()
    signed_in = sign_in_as_partner_admin(
        confidential_app(emulator, emulator.partner_tenant_id, app["appId"], secret, session),
        ["https://api.partnercenter.microsoft.com/user_impersonation"],
        session,
    )
    assert "refresh_token" in signed_in, signed_in
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    graph_token = confidential_app(
        emulator, customer, app["appId"], secret, session
    ).acquire_token_by_refresh_token(signed_in["refresh_token"], GRAPH_DEFAULT)
    # .default = the app's static Graph permissions plus what the sign-in consented (MSAL adds openid, profile).
    assert set(jwt_claims(graph_token["access_token"])["scp"].split()) == {
        "SecurityAlert.Read.All",
        "Directory.Read.All",
        "openid",
        "profile",
    }

    # Removing the password, then the app, takes the client away.
    assert (
        graph("POST", f"/applications/{app['id']}/removePassword", {"keyId": password["keyId"]}).status_code
        == 204
    )
    gone = confidential_app(
        emulator, emulator.partner_tenant_id, app["appId"], secret, session
    ).acquire_token_by_refresh_token(signed_in["refresh_token"], GRAPH_DEFAULT)
    assert gone["error_codes"] == [7000215]
    assert graph("DELETE", f"/applications(appId='{app['appId']}')").status_code == 204
    assert graph("GET", f"/applications/{app['id']}").status_code == 404
    unknown = confidential_app(
        emulator, emulator.partner_tenant_id, app["appId"], secret, session
    ).acquire_token_by_refresh_token(signed_in["refresh_token"], GRAPH_DEFAULT)
    assert unknown["error_codes"] == [700016]


def test_a_single_tenant_app_is_unknown_in_customer_tenants(emulator, graph) -> None:
    app = _register(graph, f"Single tenant {uuid.uuid4().hex[:8]}", audience="AzureADMyOrg")
    secret = graph("POST", f"/applications/{app['id']}/addPassword", {}).json()["secretText"]
    session = emulator.http_session()
    at_home = confidential_app(
        emulator, emulator.partner_tenant_id, app["appId"], secret, session
    ).acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in at_home, at_home
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    abroad = confidential_app(emulator, customer, app["appId"], secret, session).acquire_token_for_client(
        GRAPH_DEFAULT
    )
    assert abroad["error_codes"] == [700016]


def test_updates_are_validated_like_graph(graph) -> None:
    app = _register(graph, f"Validation {uuid.uuid4().hex[:8]}")
    unknown = graph("PATCH", f"/applications/{app['id']}", {"notAProperty": 1})
    assert unknown.status_code == 400
    assert "notAProperty" in unknown.json()["error"]["message"]
    secrets = graph("PATCH", f"/applications/{app['id']}", {"passwordCredentials": []})
    assert secrets.status_code == 400
    bad_key = graph(
        "PATCH",
        f"/applications/{app['id']}",
        {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "Zm9v"}]},
    )
    assert bad_key.status_code == 400
    assert graph("PATCH", f"/applications/{app['id']}", {"isFallbackPublicClient": True}).status_code == 204
    assert graph("GET", f"/applications/{app['id']}").json()["isFallbackPublicClient"] is True
    unsupported = graph("GET", "/applications", params={"$filter": "displayName ne 'x'"})
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["code"] == "Request_UnsupportedQuery"
    missing = graph("GET", f"/applications/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_organization_and_me_describe_the_partner(emulator, graph) -> None:
    portfolio = emulator.admin_get("/portfolio")["partner"]
    [org] = graph("GET", "/organization").json()["value"]
    assert org["id"] == emulator.partner_tenant_id
    assert org["displayName"] == portfolio["display_name"]
    assert org["verifiedDomains"][0]["name"] == portfolio["default_domain"]
    me = graph("GET", "/me").json()
    assert me["userPrincipalName"] == portfolio["admin_user_principal_name"]


def test_a_credential_less_request_is_7000218_until_the_app_allows_public_client_flows(
    emulator, graph
) -> None:
    app = _register(graph, f"Confidential {uuid.uuid4().hex[:8]}")

    def refresh_without_a_secret() -> requests.Response:
        return emulator.http_session().post(
            f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token",
            data={
                "client_id": app["appId"],
                "grant_type": "refresh_token",
                "refresh_token": "0.AAAA-fake-refresh-token",
                "scope": GRAPH_DEFAULT[0],
            },
        )

    assert_entra_error(emulator, refresh_without_a_secret(), code=7000218, error="invalid_client", status=401)
    # `register-app` allows public-client flows (device code consent); then Entra reads the client as public and
    # goes on to the refresh token itself.
    assert graph("PATCH", f"/applications/{app['id']}", {"isFallbackPublicClient": True}).status_code == 204
    assert_entra_error(emulator, refresh_without_a_secret(), code=70000, error="invalid_grant")
