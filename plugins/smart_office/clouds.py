"""Endpoint sets: where identity, Graph, Partner Center and Key Vault live, per named cloud or explicit config.

Resource identifiers (token audiences) are separate from base URLs: the emulator serves public-cloud
resources on its own hosts, exactly as a client of Microsoft would see them. See docs/architecture.md §1.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Cloud:
    """One endpoint set. `ca_bundle` None means the system trust store."""

    name: str
    authority_host: str
    graph_url: str
    graph_resource: str
    partner_center_url: str
    partner_center_resource: str
    key_vault_suffix: str | None = None
    ca_bundle: str | None = None
    # Azure Database for PostgreSQL's Entra ID resource: the audience of the tokens used as passwords.
    postgres_resource: str = "https://ossrdbms-aad.database.windows.net"
    management_resource: str = "https://management.azure.com"
    key_vault_resource: str = "https://vault.azure.net"

    def authority(self, tenant: str) -> str:
        """The MSAL authority for a tenant id or domain."""
        return f"{self.authority_host.rstrip('/')}/{tenant}"

    @property
    def graph_base(self) -> str:
        """Base URL for Graph v1.0 requests."""
        return f"{self.graph_url.rstrip('/')}/v1.0"

    @property
    def graph_scope(self) -> str:
        return f"{self.graph_resource}/.default"

    @property
    def partner_center_scope(self) -> str:
        return f"{self.partner_center_resource}/user_impersonation"

    @property
    def postgres_scope(self) -> str:
        """The scope of an access token that Azure Database for PostgreSQL accepts as a password."""
        return f"{self.postgres_resource}/.default"

    def resources(self) -> dict[str, str]:
        """Short names a person may give for this cloud's resources (`smart-office token --resource graph`)."""
        return {
            "graph": self.graph_resource,
            "partnercenter": self.partner_center_resource,
            "management": self.management_resource,
            "keyvault": self.key_vault_resource,
            "postgres": self.postgres_resource,
        }

    def scope_for(self, resource: str) -> str:
        """A resource alias, URI or app id as the v2 scope to ask for: `<resource>/.default`; a scope that
        already names a permission (`https://graph.microsoft.com/User.Read`, `…/.default`) stays as given."""
        resource = resource.strip()
        aliases = self.resources()
        if resource.lower() in aliases:
            return f"{aliases[resource.lower()]}/.default"
        if "://" not in resource and not _is_guid(resource):
            raise UnknownResourceError(
                f"{resource!r} is neither a resource URI (https://…, api://…) nor one of {', '.join(aliases)}"
            )
        if resource.endswith("/.default"):
            return resource
        if _is_guid(resource):
            return f"{resource}/.default"
        scheme, _, rest = resource.partition("://")
        host, _, path = rest.partition("/")
        if path.strip("/"):
            return resource  # a named permission such as https://graph.microsoft.com/User.Read
        return f"{scheme}://{host}/.default"

    def with_overrides(self, **changes: Any) -> Cloud:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PUBLIC = Cloud(
    name="public",
    authority_host="https://login.microsoftonline.com",
    graph_url="https://graph.microsoft.com",
    graph_resource="https://graph.microsoft.com",
    partner_center_url="https://api.partnercenter.microsoft.com",
    partner_center_resource="https://api.partnercenter.microsoft.com",
    key_vault_suffix="vault.azure.net",
)
USGOV = Cloud(
    name="usgov",
    authority_host="https://login.microsoftonline.us",
    graph_url="https://graph.microsoft.us",
    graph_resource="https://graph.microsoft.us",
    partner_center_url="https://api.partnercenter.microsoft.com",
    partner_center_resource="https://api.partnercenter.microsoft.com",
    key_vault_suffix="vault.usgovcloudapi.net",
    postgres_resource="https://ossrdbms-aad.database.usgovcloudapi.net",
    management_resource="https://management.usgovcloudapi.net",
    key_vault_resource="https://vault.usgovcloudapi.net",
)
CHINA = Cloud(
    name="china",
    authority_host="https://login.chinacloudapi.cn",
    graph_url="https://microsoftgraph.chinacloudapi.cn",
    graph_resource="https://microsoftgraph.chinacloudapi.cn",
    partner_center_url="https://partner.partnercenterapi.microsoftonline.cn",
    partner_center_resource="https://api.partnercenter.microsoft.com",
    key_vault_suffix="vault.azure.cn",
    postgres_resource="https://ossrdbms-aad.database.chinacloudapi.cn",
    management_resource="https://management.chinacloudapi.cn",
    key_vault_resource="https://vault.azure.cn",
)
NAMED_CLOUDS: dict[str, Cloud] = {c.name: c for c in (PUBLIC, USGOV, CHINA)}


class CloudConfigError(ValueError):
    """The endpoint configuration is missing or inconsistent; the message names the setting."""


class UnknownResourceError(ValueError):
    """A resource given by a person is neither a URI nor a known alias; the message lists the aliases."""


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def named_cloud(name: str) -> Cloud:
    try:
        return NAMED_CLOUDS[name.lower()]
    except KeyError:
        raise CloudConfigError(
            f"SMART_OFFICE_CLOUD={name!r} is not a known cloud; use one of {sorted(NAMED_CLOUDS)} "
            "or point SMART_OFFICE_ENDPOINTS_FILE at an endpoint set"
        ) from None


def cloud_from_endpoints(endpoints: dict[str, Any], *, name: str = "custom") -> Cloud:
    """Build a Cloud from an endpoint set such as the line the emulator prints.

    Base URLs come from the set; resource identifiers stay those of the public cloud.
    """
    missing = [k for k in ("identity", "graph", "partner_center") if not endpoints.get(k)]
    if missing:
        raise CloudConfigError(f"endpoint set lacks {', '.join(missing)}")
    ca_bundle = endpoints.get("ca_bundle")
    if ca_bundle and not Path(ca_bundle).is_file():
        raise CloudConfigError(f"endpoint set names ca_bundle {ca_bundle!r}, which does not exist")
    return PUBLIC.with_overrides(
        name=name,
        authority_host=endpoints["identity"],
        graph_url=endpoints["graph"],
        partner_center_url=endpoints["partner_center"],
        key_vault_suffix=None,
        ca_bundle=ca_bundle,
    )


def cloud_from_endpoints_file(path: str | Path) -> Cloud:
    """Read an endpoint set (one JSON object) from a file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CloudConfigError(f"SMART_OFFICE_ENDPOINTS_FILE {str(path)!r} does not exist") from None
    except json.JSONDecodeError as exc:
        raise CloudConfigError(f"SMART_OFFICE_ENDPOINTS_FILE {str(path)!r} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CloudConfigError(f"SMART_OFFICE_ENDPOINTS_FILE {str(path)!r} must hold a JSON object")
    return cloud_from_endpoints(data, name="custom")


def cloud_from_env(env: Mapping[str, str]) -> Cloud:
    """The endpoint set the settings name: SMART_OFFICE_ENDPOINTS_FILE, else SMART_OFFICE_CLOUD (default public),
    with SMART_OFFICE_CA_BUNDLE as the extra trusted CA."""

    def get(name: str, default: str = "") -> str:
        return env.get(f"SMART_OFFICE_{name}", default).strip()

    endpoints_file = get("ENDPOINTS_FILE")
    cloud = (
        cloud_from_endpoints_file(endpoints_file) if endpoints_file else named_cloud(get("CLOUD", "public"))
    )
    ca_bundle = get("CA_BUNDLE")
    if ca_bundle:
        if not Path(ca_bundle).is_file():
            raise CloudConfigError(f"SMART_OFFICE_CA_BUNDLE={ca_bundle!r} does not exist")
        cloud = cloud.with_overrides(ca_bundle=ca_bundle)
    return cloud
