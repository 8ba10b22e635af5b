"""Register the Secure Application Model app through Microsoft Graph — idempotently.

Re-running finds the app by display name (or by app id) and brings it to the desired state; it never
creates a duplicate. Permissions are named (e.g. `SecurityAlert.Read.All`) and resolved to their ids from
the resource's service principal, as Microsoft publishes them, instead of hard-coding GUIDs.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from smart_office.auth.stores import CLIENT_CERTIFICATE_NAME, CLIENT_SECRET_NAME, SecretStore
from smart_office.clouds import Cloud
from smart_office.redaction import Secret

log = logging.getLogger(__name__)

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
PARTNER_CENTER_APP_ID = "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd"
# Microsoft Graph Command Line Tools: a first-party public client any tenant can sign in to, used only to
# call Graph as the partner admin while registering our own app (as Create-AzureADApplication.ps1 did
# with Connect-AzureAD).
BOOTSTRAP_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
BOOTSTRAP_SCOPES = [
    "https://graph.microsoft.com/Application.ReadWrite.All",
    "https://graph.microsoft.com/Directory.Read.All",
    "https://graph.microsoft.com/GroupMember.ReadWrite.All",
]

GRAPH_DELEGATED = (
    "SecurityAlert.Read.All",
    "SecurityIncident.Read.All",
    "SecurityEvents.Read.All",  # Secure Score and control profiles
    "DelegatedAdminRelationship.Read.All",
    "Directory.Read.All",
    "offline_access",
    "openid",
    "profile",
)
PARTNER_CENTER_DELEGATED = ("user_impersonation",)
# Application permissions for app-only direct tenants (`register-app --app-only-permissions`): what the pipeline
# reads, and nothing else. Granted per tenant by that tenant's admin (`smart-office tenants consent-url`), never
# in the partner tenant by `consent`.
GRAPH_APPLICATION = ("SecurityEvents.Read.All", "SecurityAlert.Read.All", "SecurityIncident.Read.All")
REDIRECT_PORTS = range(8400, 8410)
DEFAULT_DISPLAY_NAME = "Partner Smart Office"


class RegistrationError(RuntimeError):
    """Graph refused a registration step; the message says which and why."""


@dataclass(slots=True)
class RegistrationResult:
    app_id: str
    object_id: str
    service_principal_id: str
    created: bool
    credential_kind: str
    credential_created: bool
    credential_location: str
    admin_agents_member: bool | None = None
    changes: list[str] = field(default_factory=list)
    secret: Secret | None = None


class GraphDirectory:
    """The few directory calls registration needs, over a requests session with a delegated token."""

    def __init__(self, cloud: Cloud, token: str, session: requests.Session) -> None:
        self._base = cloud.graph_base
        self._session = session
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        response = self._session.request(
            method, f"{self._base}{path}", json=body, params=params, headers=self._headers
        )
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise RegistrationError(
                f"{method} {path}: HTTP {response.status_code} {error.get('code', '')}: {error.get('message', '')}"
            )
        return response.json() if response.content else None

    def find(self, collection: str, filter_: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/{collection}", params={"$filter": filter_}).get("value", []))


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def resolve_permissions(
    directory: GraphDirectory, resource_app_id: str, names: tuple[str, ...], kind: str = "Scope"
) -> list[dict[str, str]]:
    """Turn permission names into resourceAccess entries using the resource's published delegated scopes
    (`kind` Scope) or application roles (`kind` Role)."""
    sps = directory.find("servicePrincipals", f"appId eq {_odata_string(resource_app_id)}")
    if not sps:
        raise RegistrationError(f"resource {resource_app_id} has no service principal in the partner tenant")
    published = sps[0].get("oauth2PermissionScopes" if kind == "Scope" else "appRoles", [])
    ids = {s.get("value"): s.get("id") for s in published}
    missing = [n for n in names if n not in ids]
    if missing:
        what = "delegated permissions" if kind == "Scope" else "application permissions"
        raise RegistrationError(f"resource {resource_app_id} does not publish {what} {missing}")
    return [{"id": ids[n], "type": kind} for n in names]


def desired_application(
    display_name: str, graph_access: list[dict[str, str]], pc_access: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "displayName": display_name,
        "signInAudience": "AzureADMultipleOrgs",
        # Loopback redirects for the auth-code consent; any port in the range may be the free one.
        "publicClient": {"redirectUris": [f"http://localhost:{p}" for p in REDIRECT_PORTS]},
        # Device code needs public-client flows enabled on the app.
        "isFallbackPublicClient": True,
        "requiredResourceAccess": [
            {"resourceAppId": GRAPH_APP_ID, "resourceAccess": graph_access},
            {"resourceAppId": PARTNER_CENTER_APP_ID, "resourceAccess": pc_access},
        ],
    }


def _differences(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in sorted(value.items())}
        if isinstance(value, list):
            return sorted((norm(v) for v in value), key=repr)
        return value

    return {k: v for k, v in desired.items() if norm(current.get(k)) != norm(v)}


def register_app(
    *,
    cloud: Cloud,
    admin_token: str,
    session: requests.Session,
    store: SecretStore,
    display_name: str = DEFAULT_DISPLAY_NAME,
    app_id: str | None = None,
    credential: str = "certificate",
    rotate_credential: bool = False,
    preconsent: bool = False,
    app_only_permissions: bool = False,
    now: dt.datetime | None = None,
) -> RegistrationResult:
    """Create or update the app, its service principal and credential; optionally add it to AdminAgents, and
    ask for the application permissions app-only direct tenants consent to (`app_only_permissions`)."""
    if credential not in {"certificate", "secret"}:
        raise ValueError("credential must be 'certificate' or 'secret'")
    now = now or dt.datetime.now(dt.UTC)
    directory = GraphDirectory(cloud, admin_token, session)
    graph_access = resolve_permissions(directory, GRAPH_APP_ID, GRAPH_DELEGATED)
    if app_only_permissions:
        graph_access += resolve_permissions(directory, GRAPH_APP_ID, GRAPH_APPLICATION, kind="Role")
    desired = desired_application(
        display_name,
        graph_access,
        resolve_permissions(directory, PARTNER_CENTER_APP_ID, PARTNER_CENTER_DELEGATED),
    )
    filter_ = (
        f"appId eq {_odata_string(app_id)}" if app_id else f"displayName eq {_odata_string(display_name)}"
    )
    found = directory.find("applications", filter_)
    if len(found) > 1:
        raise RegistrationError(
            f"{len(found)} applications are named {display_name!r}; pass --app-id to say which one to manage"
        )
    changes: list[str] = []
    if found:
        application = found[0]
        diff = _differences(application, desired)
        if diff:
            directory.call("PATCH", f"/applications/{application['id']}", diff)
            changes.append(f"updated {', '.join(sorted(diff))}")
        created = False
    else:
        application = directory.call("POST", "/applications", desired)
        changes.append("created application")
        created = True
    object_id, client_id = application["id"], application["appId"]

    sps = directory.find("servicePrincipals", f"appId eq {_odata_string(client_id)}")
    if sps:
        sp_id = sps[0]["id"]
    else:
        sp_id = directory.call("POST", "/servicePrincipals", {"appId": client_id})["id"]
        changes.append("created service principal")

    kind, made, secret = _ensure_credential(
        directory,
        store,
        object_id,
        credential=credential,
        rotate=rotate_credential,
        display_name=display_name,
        now=now,
    )
    if made:
        changes.append(f"added {kind} credential")
    member = None
    if preconsent:
        added = _ensure_admin_agents(directory, cloud, sp_id)
        member = True
        if added:
            changes.append("added service principal to AdminAgents")
    return RegistrationResult(
        app_id=client_id,
        object_id=object_id,
        service_principal_id=sp_id,
        created=created,
        credential_kind=kind,
        credential_created=made,
        credential_location=store.describe(),
        admin_agents_member=member,
        changes=changes,
        secret=secret,
    )


def _ensure_credential(
    directory: GraphDirectory,
    store: SecretStore,
    object_id: str,
    *,
    credential: str,
    rotate: bool,
    display_name: str,
    now: dt.datetime,
) -> tuple[str, bool, Secret | None]:
    app = directory.call("GET", f"/applications/{object_id}")
    name = CLIENT_CERTIFICATE_NAME if credential == "certificate" else CLIENT_SECRET_NAME
    stored = store.get(name)
    if stored is not None and not rotate and _credential_registered(app, credential, stored.value.reveal()):
        return credential, False, None
    if credential == "secret":
        result = directory.call(
            "POST",
            f"/applications/{object_id}/addPassword",
            {
                "passwordCredential": {
                    "displayName": f"{display_name} ({now:%Y-%m-%d})",
                    "endDateTime": (now + dt.timedelta(days=365)).isoformat(),
                }
            },
        )
        secret = Secret(result["secretText"])
        _store(store, name, secret.reveal(), now)
        return credential, True, secret
    pem, cert_b64, thumbprint = _self_signed_certificate(display_name, now)
    keys = [k for k in app.get("keyCredentials", []) if isinstance(k, dict)]
    keys.append(
        {
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "key": cert_b64,
            "displayName": f"CN={display_name} {thumbprint[:8]}",
            "customKeyIdentifier": thumbprint,
        }
    )
    directory.call("PATCH", f"/applications/{object_id}", {"keyCredentials": keys})
    _store(store, name, pem, now)
    return credential, True, None


def _store(store: SecretStore, name: str, value: str, now: dt.datetime) -> None:
    existing = store.get(name)
    store.put(name, value, issued_at=now, expected_version=existing.version if existing else None)


def _credential_registered(app: dict[str, Any], kind: str, stored: str) -> bool:
    """Whether the stored credential still exists on the app (secrets can only be matched by hint)."""
    if kind == "secret":
        hints = {p.get("hint") for p in app.get("passwordCredentials", [])}
        return stored[:3] in hints
    from cryptography import x509

    marker = "-----BEGIN CERTIFICATE-----"
    if marker not in stored:
        return False
    cert = x509.load_pem_x509_certificate((marker + stored.split(marker, 1)[1]).encode())
    from cryptography.hazmat.primitives import hashes

    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra identifies certs by SHA-1 thumbprint
    return any(
        str(k.get("customKeyIdentifier", "")).upper() == thumbprint for k in app.get("keyCredentials", [])
    )


def _self_signed_certificate(display_name: str, now: dt.datetime) -> tuple[str, str, str]:
    """(private key + certificate PEM, base64 DER for keyCredentials, SHA-1 thumbprint)."""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, display_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int >> 1)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Entra's certificate id
    return key_pem + cert_pem, base64.b64encode(der).decode(), thumbprint


def _ensure_admin_agents(directory: GraphDirectory, cloud: Cloud, sp_id: str) -> bool:
    """DAP-era preconsent: put the service principal into the partner's AdminAgents group (idempotent).

    Returns True when it was added now, False when it already was a member.
    """
    groups = directory.find("groups", "displayName eq 'AdminAgents'")
    if not groups:
        raise RegistrationError(
            "the partner tenant has no AdminAgents group (DAP); use GDAP security groups instead"
        )
    group_id = groups[0]["id"]
    members = directory.call("GET", f"/groups/{group_id}/members").get("value", [])
    if any(m.get("id") == sp_id for m in members):
        return False
    directory.call(
        "POST",
        f"/groups/{group_id}/members/$ref",
        {"@odata.id": f"{cloud.graph_base}/directoryObjects/{sp_id}"},
    )
    return True
