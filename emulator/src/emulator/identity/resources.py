"""Resource applications (APIs) the emulated cloud issues tokens for, their published permissions, and the
first-party client applications every tenant trusts.

Permission ids are Microsoft's (the same GUIDs in every tenant), so an app registration written against the
real Graph service principal resolves identically here.
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
PARTNER_CENTER_APP_ID = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
AAD_GRAPH_APP_ID = "00000002-0000-0000-c000-000000000000"
ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"
OSSRDBMS_APP_ID = "123cd850-d9df-40bd-94d5-c9f07b7fa203"
POWER_BI_APP_ID = "00000009-0000-0000-c000-000000000000"
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


@dataclass(frozen=True, slots=True)
class Permission:
    id: str
    value: str
    display: str


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource (API) application: its app id, app ID URIs, delegated scopes and application roles."""

    app_id: str
    display_name: str
    identifier_uris: tuple[str, ...]
    scopes: tuple[Permission, ...]
    roles: tuple[Permission, ...] = ()

    @property
    def uri(self) -> str:
        """The primary app ID URI (what `aud` carries when the client asked by URI)."""
        return self.identifier_uris[0]

    def scope(self, value: str) -> Permission | None:
        lowered = value.lower()
        return next((p for p in self.scopes if p.value.lower() == lowered), None)

    def role(self, value: str) -> Permission | None:
        lowered = value.lower()
        return next((p for p in self.roles if p.value.lower() == lowered), None)

    def by_id(self, permission_id: str, kind: str) -> Permission | None:
        pool = self.scopes if kind == "Scope" else self.roles
        return next((p for p in pool if p.id == permission_id.lower()), None)


def _p(id_: str, value: str, display: str) -> Permission:
    return Permission(id_, value, display)


GRAPH = Resource(
    app_id=GRAPH_APP_ID,
    display_name="Microsoft Graph",
    identifier_uris=(
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "https://canary.graph.microsoft.com",
    ),
    scopes=(
        _p("37f7f235-527c-4136-accd-4a02d197296e", "openid", "Sign users in"),
        _p("14dad69e-099b-42c9-810b-d002981feec1", "profile", "View users' basic profile"),
        _p("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "email", "View users' email address"),
        _p(
            "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
            "offline_access",
            "Maintain access to data you have given it access to",
        ),
        _p("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", "Sign in and read user profile"),
        _p("a154be20-db9c-4678-8ab7-66f6cc099a59", "User.Read.All", "Read all users' full profiles"),
        _p("b340eb25-3456-403f-be2f-af7a0d370277", "User.ReadBasic.All", "Read all users' basic profiles"),
        _p("06da0dbc-49e2-44d2-8312-53f166ab848a", "Directory.Read.All", "Read directory data"),
        _p(
            "c5366453-9fb0-48a5-a156-24f0c49a4b84", "Directory.ReadWrite.All", "Read and write directory data"
        ),
        _p(
            "0e263e50-5827-48a4-b97c-d940288653c7",
            "Directory.AccessAsUser.All",
            "Access directory as the signed in user",
        ),
        _p("c79f8feb-a9db-4090-85f9-90d820caa0eb", "Application.Read.All", "Read applications"),
        _p(
            "bdfbf15f-ee85-4955-8675-146e8e5296b5",
            "Application.ReadWrite.All",
            "Read and write all applications",
        ),
        _p("5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Group.Read.All", "Read all groups"),
        _p("4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "Group.ReadWrite.All", "Read and write all groups"),
        _p("bc024368-1153-4739-b217-4326f2e966d0", "GroupMember.Read.All", "Read group memberships"),
        _p(
            "f81125ac-d3b7-4573-a3b2-7099cc39df9e",
            "GroupMember.ReadWrite.All",
            "Read and write group memberships",
        ),
        _p("4908d5b9-3fb2-4b1e-9336-1888b7937185", "Organization.Read.All", "Read organization information"),
        _p("bc257fb8-46b4-4b15-8713-01e91bfbe4ea", "SecurityAlert.Read.All", "Read all security alerts"),
        _p(
            "471f2a7f-2a42-4d45-a2bf-594d0838070d",
            "SecurityAlert.ReadWrite.All",
            "Read and write to all security alerts",
        ),
        _p("b9abcc4f-94fc-4457-9141-d20ce80ec952", "SecurityIncident.Read.All", "Read incidents"),
        _p(
            "64733abd-851e-478a-bffb-e47a14b18235",
            "SecurityEvents.Read.All",
            "Read your organization's security events",
        ),
        _p(
            "6aedf524-7e1c-45a7-bd76-ded8cab8d0fc",
            "SecurityEvents.ReadWrite.All",
            "Read and update your organization's security events",
        ),
        _p(
            "0c0064ea-477b-4130-82a5-4c2cc4ff68aa",
            "DelegatedAdminRelationship.Read.All",
            "Read Delegated Admin relationships with customers",
        ),
        _p("e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20", "AuditLog.Read.All", "Read audit log data"),
    ),
    roles=(
        _p("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"),
        _p("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"),
        _p("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"),
        _p(
            "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
            "Application.ReadWrite.All",
            "Read and write all applications",
        ),
        _p("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"),
        _p("62a82d76-70ea-41e2-9197-370581804d09", "Group.ReadWrite.All", "Read and write all groups"),
        _p("98830695-27a2-44f7-8c18-0c3ebc9698f6", "GroupMember.Read.All", "Read all group memberships"),
        _p(
            "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
            "GroupMember.ReadWrite.All",
            "Read and write all group memberships",
        ),
        _p("498476ce-e0fe-48b0-b801-37ba7e2685c6", "Organization.Read.All", "Read organization information"),
        _p("472e4a4d-bb4a-4026-98d1-0b0d74cb74a5", "SecurityAlert.Read.All", "Read all security alerts"),
        _p(
            "ed4fca05-be46-441f-9803-1873825f8fdb",
            "SecurityAlert.ReadWrite.All",
            "Read and write to all security alerts",
        ),
        _p(
            "45cc0394-e837-488b-a098-1918f48d186c", "SecurityIncident.Read.All", "Read all security incidents"
        ),
        _p(
            "bf394140-e372-4bf9-a898-299cfc7564e5",
            "SecurityEvents.Read.All",
            "Read your organization's security events",
        ),
        _p(
            "d903a879-88e0-4c09-b0c9-82f6a1333f84",
            "SecurityEvents.ReadWrite.All",
            "Read and update your organization's security events",
        ),
        _p(
            "f6e9e124-4586-492f-adc0-c6f96e4823fd",
            "DelegatedAdminRelationship.Read.All",
            "Read Delegated Admin relationships with customers",
        ),
        _p("b0afded3-3588-46d8-8b3d-9842eff778da", "AuditLog.Read.All", "Read all audit log data"),
    ),
)
PARTNER_CENTER = Resource(
    app_id=PARTNER_CENTER_APP_ID,
    display_name="Microsoft Partner Center",
    identifier_uris=("https://api.partnercenter.microsoft.com", "https://api.partnercenter.microsoft.com/"),
    scopes=(_p("1cebfa2a-fb4d-419e-b5f9-839b4383e05a", "user_impersonation", "Access Partner Center"),),
)
AAD_GRAPH = Resource(
    app_id=AAD_GRAPH_APP_ID,
    display_name="Windows Azure Active Directory",
    identifier_uris=("https://graph.windows.net", "https://graph.windows.net/"),
    scopes=(
        _p("311a71cc-e848-46a1-bdf8-97ff7156d8e6", "User.Read", "Sign in and read user profile"),
        _p(
            "a42657d6-7f20-40e3-b6f0-cee03008a62a",
            "Directory.AccessAsUser.All",
            "Access the directory as the signed-in user",
        ),
    ),
)
ARM = Resource(
    app_id=ARM_APP_ID,
    display_name="Windows Azure Service Management API",
    identifier_uris=(
        "https://management.azure.com",
        "https://management.azure.com/",
        "https://management.core.windows.net/",
    ),
    scopes=(
        _p(
            "41094075-9dad-400e-a0bd-54e686782033",
            "user_impersonation",
            "Access Azure Service Management as organization users",
        ),
    ),
)
KEY_VAULT = Resource(
    app_id=KEY_VAULT_APP_ID,
    display_name="Azure Key Vault",
    identifier_uris=("https://vault.azure.net", "https://vault.azure.net/"),
    scopes=(
        _p(
            "f53da476-18e3-4152-8e01-aec403e6edc0",
            "user_impersonation",
            "Have full access to the Azure Key Vault service",
        ),
    ),
)
# Azure Database for PostgreSQL (and MySQL) flexible server with Microsoft Entra authentication: a token for
# this resource is the password. Managed identities and service principals ask for `/.default` with client
# credentials and need no app role; the server maps the token's `oid` to a role made by
# pgaadauth_create_principal.
OSSRDBMS = Resource(
    app_id=OSSRDBMS_APP_ID,
    display_name="Azure OSSRDBMS Database",
    identifier_uris=(
        "https://ossrdbms-aad.database.windows.net",
        "https://ossrdbms-aad.database.windows.net/",
    ),
    scopes=(
        _p(
            "cef99a3a-4cd3-4408-8143-4375d1e38a17", "user_impersonation", "Access OSSRDBMS services as a user"
        ),
    ),
    roles=(
        _p(
            "017211c5-049f-46b5-a0f0-bcc46299e550",
            "app_impersonation",
            "Access OSSRDBMS services from the application",
        ),
    ),
)
# The Power BI service: service principals ask for `https://analysis.windows.net/powerbi/api/.default` with
# client credentials; Power BI publishes no application roles — a service principal's access is its workspace
# membership (FACTS.md §8).
POWER_BI = Resource(
    app_id=POWER_BI_APP_ID,
    display_name="Power BI Service",
    identifier_uris=("https://analysis.windows.net/powerbi/api", "https://analysis.windows.net/powerbi/api/"),
    scopes=(
        _p("7f33e027-4039-419b-938e-2f8ca153e68e", "Dataset.Read.All", "View all datasets"),
        _p("322b68b2-0804-416e-86a5-d772c567b6e6", "Dataset.ReadWrite.All", "Read and write all datasets"),
    ),
)
RESOURCES: tuple[Resource, ...] = (GRAPH, PARTNER_CENTER, AAD_GRAPH, ARM, KEY_VAULT, OSSRDBMS, POWER_BI)


@dataclass(frozen=True, slots=True)
class FirstPartyClient:
    """A Microsoft public client that exists in every tenant and may ask for any published delegated scope."""

    app_id: str
    display_name: str
    redirect_uris: tuple[str, ...] = (
        "http://localhost",
        "https://login.microsoftonline.com/common/oauth2/nativeclient",
    )


FIRST_PARTY_CLIENTS: dict[str, FirstPartyClient] = {
    c.app_id: c
    for c in (
        FirstPartyClient("14d82eec-204b-4c2f-b7e8-296a70dab67e", "Microsoft Graph Command Line Tools"),
        FirstPartyClient("04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Microsoft Azure CLI"),
        FirstPartyClient("1950a258-227b-4e31-a9cf-717495945fc2", "Microsoft Azure PowerShell"),
    )
}


class ResourceCatalogue:
    """Finds the resource a scope or `resource=` names; includes this emulator's vault challenge resource."""

    def __init__(self, key_vault_resource: str) -> None:
        self.key_vault_resource = key_vault_resource.rstrip("/").lower()
        self._by_uri: dict[str, Resource] = {}
        for resource in RESOURCES:
            self._by_uri[resource.app_id] = resource
            for uri in resource.identifier_uris:
                self._by_uri[uri.rstrip("/").lower()] = resource
        self._by_uri[self.key_vault_resource] = KEY_VAULT

    def find(self, identifier: str) -> Resource | None:
        return self._by_uri.get(identifier.rstrip("/").lower())

    def by_app_id(self, app_id: str) -> Resource | None:
        return self._by_uri.get(app_id.lower()) if app_id.lower() in {r.app_id for r in RESOURCES} else None

    def audiences(self, resource: Resource) -> frozenset[str]:
        """Every `aud` value a token for `resource` may carry."""
        values = {
            resource.app_id,
            *resource.identifier_uris,
            *(u.rstrip("/") for u in resource.identifier_uris),
        }
        if resource is KEY_VAULT:
            values.add(self.key_vault_resource)
        return frozenset(values)

    def split_scope(self, scope: str) -> tuple[Resource | None, str, str]:
        """(resource, permission value, resource identifier as written) of one v2 scope string.

        A bare value (`User.Read`, `.default`) means Microsoft Graph, as at Entra.
        """
        if "/" not in scope:
            return GRAPH, scope, GRAPH.uri
        identifier, _, value = scope.rpartition("/")
        return self.find(identifier), value, identifier
