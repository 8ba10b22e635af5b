"""OpenID Connect discovery, instance discovery and JWKS, shaped like login.microsoftonline.com's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import json_response, request_info
from emulator.identity.errors import AadError, aad_error_response
from emulator.identity.issuer import Issuer

_GENERIC = ("common", "organizations")


class DiscoveryEndpoints:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.ctx = issuer.ctx

    def _tenant_segment(self, request: Request, endpoint: str) -> tuple[str, str | None]:
        """(segment used in endpoint URLs, tenant id or None for common/organizations)."""
        name = request.path_params["tenant"]
        if name.lower() in _GENERIC:
            return name.lower(), None
        tenant = self.issuer.tenant(name, endpoint=endpoint, for_sign_in=False)
        return tenant.tenant_id, tenant.tenant_id

    def _invalid_tenant(self, request: Request, err: AadError) -> Response:
        # Captured shape: on the discovery URL the error is `invalid_tenant` and the description has no CRLFs.
        err.error = "invalid_tenant"
        err.single_line = True
        return aad_error_response(
            err,
            now=self.ctx.clock.now(),
            identity=self.ctx.endpoints.identity,
            correlation_id=request.headers.get("client-request-id"),
            trace_id=request_info(request).request_id,
        )

    async def openid_configuration_v2(self, request: Request) -> Response:
        try:
            segment, tenant_id = self._tenant_segment(request, "openid_configuration")
        except AadError as err:
            return self._invalid_tenant(request, err)
        base = f"{self.ctx.endpoints.identity}/{segment}"
        tenant = self.ctx.tenants.by_id(tenant_id) if tenant_id else None
        doc: dict[str, Any] = {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.ctx.endpoints.identity}/{tenant_id or '{tenantid}'}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.ctx.endpoints.graph}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": tenant.region_scope if tenant else None,
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
        return json_response(doc)

    async def openid_configuration_v1(self, request: Request) -> Response:
        try:
            segment, tenant_id = self._tenant_segment(request, "openid_configuration_v1")
        except AadError as err:
            return self._invalid_tenant(request, err)
        base = f"{self.ctx.endpoints.identity}/{segment}"
        return json_response(
            {
                "token_endpoint": f"{base}/oauth2/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                "issuer": f"https://sts.windows.net/{tenant_id or '{tenantid}'}/",
                "microsoft_multi_refresh_token": True,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "cloud_instance_name",
                    "cloud_instance_host_name",
                    "cloud_graph_host_name",
                    "msgraph_host",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "acr",
                    "amr",
                    "nonce",
                    "email",
                    "given_name",
                    "family_name",
                    "nickname",
                ],
                "check_session_iframe": f"{base}/oauth2/checksession",
                "userinfo_endpoint": f"{base}/openid/userinfo",
                "kerberos_endpoint": f"{base}/kerberos",
                "tenant_region_scope": None,
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        )

    async def keys(self, request: Request) -> Response:
        name = request.path_params.get("tenant", "common")
        if name.lower() not in _GENERIC:
            try:
                self.issuer.tenant(name, endpoint="keys", for_sign_in=False)
            except AadError as err:
                return self._invalid_tenant(request, err)
        issuer = f"{self.ctx.endpoints.identity}/{{tenantid}}/v2.0"
        return json_response(self.ctx.tokens.jwks(issuer))

    async def instance_discovery(self, request: Request) -> Response:
        """`/common/discovery/instance`: this host is its own (only) alias."""
        authorization_endpoint = request.query_params.get("authorization_endpoint", "")
        host = urlsplit(self.ctx.endpoints.identity).netloc
        if authorization_endpoint and urlsplit(authorization_endpoint).netloc.lower() != host.lower():
            return json_response(
                {
                    "error": "invalid_instance",
                    "error_description": "AADSTS50049: Unknown or invalid instance.",
                },
                400,
            )
        return json_response(
            {
                "tenant_discovery_endpoint": f"{self.ctx.endpoints.identity}/{{tenant}}/v2.0/.well-known/openid-configuration",
                "api-version": request.query_params.get("api-version", "1.1"),
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )
