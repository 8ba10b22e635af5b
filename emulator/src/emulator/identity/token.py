"""The token endpoints: v2 `/{tenant}/oauth2/v2.0/token` (refresh_token, authorization_code, device_code,
client_credentials) and v1 `/{tenant}/oauth2/token` (`resource=`, numbers as strings)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import json_response, request_info
from emulator.identity.clients import (
    ClientApp,
    ClientCredentials,
    authenticate_client,
    confidential_required,
    credentials_from,
    find_client,
)
from emulator.identity.errors import AadError, aad_error_response
from emulator.identity.issuer import (
    ACCESS_TOKEN_SECONDS,
    DEVICE_POLL_INTERVAL,
    Issued,
    Issuer,
    ScopeRequest,
    is_direct,
    pkce_matches,
)
from emulator.tenants import Tenant

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}


class TokenEndpoint:
    """Handlers bound to one `Issuer`."""

    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.ctx = issuer.ctx

    # -- shared steps -------------------------------------------------------------------------------------
    async def _form(self, request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def _error(self, request: Request, err: AadError) -> Response:
        return aad_error_response(
            err,
            now=self.ctx.clock.now(),
            identity=self.ctx.endpoints.identity,
            correlation_id=request.headers.get("client-request-id"),
            trace_id=request_info(request).request_id,
        )

    def _client(self, creds: ClientCredentials, tenant: Tenant, endpoint: str) -> ClientApp:
        if not creds.client_id:
            raise AadError(900144, "The request body must contain the following parameter: 'client_id'.")
        client = find_client(self.ctx.state, creds.client_id)
        injected = self.ctx.faults.take("identity", endpoint, tenant.tenant_id, ("app_not_found",))
        available = client is not None and (client.multi_tenant or client.home_tenant == tenant.tenant_id)
        if injected is not None or not available:
            raise AadError(
                700016,
                f"Application with identifier '{creds.client_id}' was not found in the directory '{tenant.display_name}'."
                " This can happen if the application has not been installed by the administrator of the tenant or "
                "consented to by any user in the tenant. You may have sent your authentication request to the wrong "
                "tenant.",
            )
        assert client is not None
        return client

    def _authenticate(
        self,
        client: ClientApp,
        creds: ClientCredentials,
        tenant: Tenant,
        endpoint: str,
        *,
        confidential: bool,
    ) -> str:
        identity = self.ctx.endpoints.identity
        audiences = (
            {
                f"{identity}/{name}/oauth2/v2.0/token"
                for name in (tenant.tenant_id, *tenant.domains, "common", "organizations")
            }
            | {f"{identity}/{name}/oauth2/token" for name in (tenant.tenant_id, *tenant.domains)}
            | {f"{identity}/{tenant.tenant_id}/v2.0"}
        )
        auth = authenticate_client(
            self.ctx.state, client, creds, now_ts=self.ctx.clock.now().timestamp(), audiences=audiences
        )
        if auth != "none" and self.ctx.faults.take(
            "identity", endpoint, tenant.tenant_id, ("invalid_client",)
        ):
            raise AadError(
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                f"not the client secret ID, for a secret added to app '{client.app_id}'.",
            )
        if auth == "none" and (confidential or not client.public_client):
            raise confidential_required()
        return auth

    def _scopes(self, form: dict[str, str], *, v1: bool) -> ScopeRequest:
        if v1:
            resource = form.get("resource")
            if not resource:
                raise AadError(900144, "The request body must contain the following parameter: 'resource'.")
            return self.issuer.parse_resource(resource, form.get("scope", ""))
        if form.get("resource"):
            raise AadError(901002, "The 'resource' request parameter is not supported.")
        return self.issuer.parse_scopes(form.get("scope", ""))

    # -- endpoints ----------------------------------------------------------------------------------------
    async def token_v2(self, request: Request) -> Response:
        return await self._token(request, v1=False)

    async def token_v1(self, request: Request) -> Response:
        return await self._token(request, v1=True)

    async def _token(self, request: Request, *, v1: bool) -> Response:
        endpoint = "token_v1" if v1 else "token"
        try:
            form = await self._form(request)
            tenant = self.issuer.tenant(request.path_params["tenant"], endpoint=endpoint)
            grant_type = form.get("grant_type")
            if not grant_type:
                raise AadError(900144, "The request body must contain the following parameter: 'grant_type'.")
            creds = credentials_from(form, request.headers.get("authorization"))
            handler = {
                "refresh_token": self._refresh_token,
                "authorization_code": self._authorization_code,
                DEVICE_GRANT: self._device_code,
                "client_credentials": self._client_credentials,
            }.get(grant_type)
            if handler is None or (v1 and grant_type == DEVICE_GRANT):
                raise AadError(
                    70003,
                    f"The app requested an unsupported grant type '{grant_type}'.",
                    error="unsupported_grant_type",
                )
            issued = handler(form, creds, tenant, endpoint, v1)
        except AadError as err:
            return self._error(request, err)
        return json_response(
            _v1_body(issued, self.ctx.clock.timestamp()) if v1 else _v2_body(issued), headers=_NO_STORE
        )

    def _refresh_token(
        self, form: dict[str, str], creds: ClientCredentials, tenant: Tenant, endpoint: str, v1: bool
    ) -> Issued:
        client = self._client(creds, tenant, endpoint)
        auth = self._authenticate(client, creds, tenant, endpoint, confidential=False)
        token = form.get("refresh_token")
        if not token:
            raise AadError(900144, "The request body must contain the following parameter: 'refresh_token'.")
        record = self.ctx.state.refresh_token(token)
        if record is None:
            if not token.startswith(("0.A", "1.A")):
                raise AadError(9002313, "Invalid request. Request is malformed or invalid.")
            raise AadError(
                70000,
                "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.",
            )
        if record["client_id"] != client.app_id:
            raise AadError(700007, "The refresh token was issued to a different client id.")
        home = str(record.get("home_tenant") or self.ctx.partner_tenant_id)
        home_tenant = self.ctx.tenants.by_id(home)
        if home != tenant.tenant_id and (
            is_direct(tenant) or (home_tenant is not None and is_direct(home_tenant))
        ):
            # A direct tenant's admin exists only there, and the partner's users have no access to it.
            user = self.issuer.user_for(home_tenant) if home_tenant is not None else self.issuer.user
            raise AadError(
                50020,
                f"User account '{user.upn}' from identity provider 'https://sts.windows.net/{home}/' does not exist "
                f"in tenant '{tenant.display_name}' and cannot access the application '{client.app_id}'"
                f"({client.display_name}) in that tenant. The account needs to be added as an external user in the "
                "tenant first. Sign out and sign in again with a different Microsoft Entra user account.",
            )
        now = self.ctx.clock.now()
        expired = now.timestamp() >= record["expires_ts"]
        if expired or self.ctx.faults.take(
            "identity", endpoint, tenant.tenant_id, ("refresh_token_expired",)
        ):
            issued = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record["issued_ts"]))
            raise AadError(
                700082,
                f"The refresh token has expired due to inactivity. The token was issued on {issued}.0000000Z and was "
                "inactive for 90.00:00:00.",
            )
        request = self._scopes(form, v1=v1)
        return self.issuer.issue_delegated(
            tenant=tenant,
            client=client,
            auth=auth,
            request=request,
            amr=record.get("amr", ["pwd"]),
            auth_time=int(record.get("auth_time", record["issued_ts"])),
            client_info=form.get("client_info") == "1",
            endpoint=endpoint,
            v1=v1,
        )

    def _authorization_code(
        self, form: dict[str, str], creds: ClientCredentials, tenant: Tenant, endpoint: str, v1: bool
    ) -> Issued:
        client = self._client(creds, tenant, endpoint)
        auth = self._authenticate(client, creds, tenant, endpoint, confidential=False)
        code = form.get("code")
        if not code:
            raise AadError(900144, "The request body must contain the following parameter: 'code'.")
        redeemed = self.ctx.state.redeem_auth_code(code)
        if redeemed is None:
            raise AadError(70000, "The provided value for the 'code' parameter is not valid.")
        data, expires_ts, already = redeemed
        if already:
            raise AadError(
                54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or "
                "use an existing refresh token.",
            )
        if self.ctx.clock.now().timestamp() > expires_ts:
            raise AadError(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send "
                "a new interactive authorization request for this user and resource.",
            )
        if data["client_id"] != client.app_id:
            raise AadError(
                70000,
                "The provided value for the 'code' parameter is not valid. The code was issued to a "
                "different client.",
            )
        if form.get("redirect_uri", "") != data["redirect_uri"]:
            raise AadError(
                500112,
                f"The reply address '{form.get('redirect_uri', '')}' does not match the reply address "
                f"'{data['redirect_uri']}' provided when requesting Authorization code.",
            )
        challenge = data.get("code_challenge")
        if challenge:
            verifier = form.get("code_verifier", "")
            if not verifier or not pkce_matches(
                verifier, challenge, data.get("code_challenge_method", "plain")
            ):
                raise AadError(
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request.",
                )
        scope_text = form.get("scope") or data["scope"]
        request = self._scopes({**form, "scope": scope_text}, v1=v1)
        return self.issuer.issue_delegated(
            tenant=tenant,
            client=client,
            auth=auth,
            request=request,
            amr=["pwd", "mfa"],
            auth_time=int(data["auth_time"]),
            nonce=data.get("nonce"),
            client_info=form.get("client_info") == "1",
            endpoint=endpoint,
            v1=v1,
        )

    def _device_code(
        self, form: dict[str, str], creds: ClientCredentials, tenant: Tenant, endpoint: str, v1: bool
    ) -> Issued:
        client = self._client(creds, tenant, endpoint)
        auth = self._authenticate(client, creds, tenant, endpoint, confidential=False)
        device_code = form.get("device_code") or form.get("code")
        if not device_code:
            raise AadError(900144, "The request body must contain the following parameter: 'device_code'.")
        record = self.ctx.state.device_code(device_code)
        if record is None or record["client_id"] != client.app_id or record["status"] == "redeemed":
            raise AadError(70000, "The provided value for the input parameter 'device_code' is not valid.")
        if self.ctx.clock.now().timestamp() > record["expires_ts"]:
            raise AadError(
                70020,
                "The provided value for the input parameter 'device_code' is not valid. This device "
                "code has expired.",
            )
        wall = time.time()
        if record["status"] == "pending":
            too_fast = (
                record["last_poll_ts"] is not None
                and wall - record["last_poll_ts"] < DEVICE_POLL_INTERVAL - 1
            )
            self.ctx.state.poll_device_code(device_code, wall)
            if too_fast:
                # RFC 8628 §3.5: the client polls faster than `interval`. Entra documents no code of its own for
                # this; the emulator reuses the pending code with the RFC's error value.
                raise AadError(
                    70016,
                    "OAuth 2.0 device flow error. Polling too frequently; slow down.",
                    error="slow_down",
                )
            raise AadError(70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        if not self.ctx.state.set_device_status(record["user_code"], "redeemed", only_if="approved"):
            raise AadError(70000, "The provided value for the input parameter 'device_code' is not valid.")
        request = self._scopes({**form, "scope": record["scope"]}, v1=False)
        return self.issuer.issue_delegated(
            tenant=tenant,
            client=client,
            auth=auth,
            request=request,
            amr=["pwd", "mfa"],
            auth_time=self.ctx.clock.timestamp(),
            client_info=form.get("client_info") == "1",
            endpoint=endpoint,
        )

    def _client_credentials(
        self, form: dict[str, str], creds: ClientCredentials, tenant: Tenant, endpoint: str, v1: bool
    ) -> Issued:
        client = self._client(creds, tenant, endpoint)
        auth = self._authenticate(client, creds, tenant, endpoint, confidential=True)
        if v1:
            request = self._scopes(form, v1=True)
        else:
            scope = form.get("scope", "").strip()
            if len(scope.split()) != 1 or not scope.endswith("/.default"):
                raise AadError(
                    1002012,
                    f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                    "with /.default suffixed to the resource identifier (application ID URI).",
                )
            request = self.issuer.parse_scopes(scope)
        customer = tenant.customer
        if customer is not None and customer.is_direct:
            # A tenant outside CSP: the app exists there only once its admin consented (which created the app's
            # service principal in that tenant).
            if self.ctx.state.service_principal_by_app_id(tenant.tenant_id, client.app_id) is None:
                raise AadError(
                    7000229,
                    f"The client application {client.app_id} is missing service principal in the tenant "
                    f"{tenant.tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                )
        elif customer is not None and not customer.has_delegated_access(self.ctx.clock.now()):
            # The multi-tenant app is present in customer tenants only through the partner's delegated access.
            raise AadError(
                700016,
                f"Application with identifier '{client.app_id}' was not found in the directory '{tenant.display_name}'. "
                "This can happen if the application has not been installed by the administrator of the tenant or "
                "consented to by any user in the tenant. You may have sent your authentication request to the wrong "
                "tenant.",
            )
        roles = self.issuer.app_roles(client, request, tenant)
        policy = self.ctx.faults.take("identity", endpoint, tenant.tenant_id, ("token_lifetime",))
        lifetime = int(policy.params["seconds"]) if policy is not None else ACCESS_TOKEN_SECONDS
        token = self.issuer.app_access_token(
            tenant=tenant, client=client, auth=auth, request=request, roles=roles, lifetime=lifetime
        )
        return Issued(
            access_token=token,
            expires_in=lifetime,
            scope="",
            resource=request.identifier,
            extra={"app_only": True},
        )


def _v2_body(issued: Issued) -> dict[str, Any]:
    body: dict[str, Any] = {"token_type": "Bearer"}
    if not issued.extra.get("app_only"):
        body["scope"] = issued.scope
    body.update(
        {
            "expires_in": issued.expires_in,
            "ext_expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }
    )
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    if issued.id_token:
        body["id_token"] = issued.id_token
    if issued.client_info:
        body["client_info"] = issued.client_info
    return body


def _v1_body(issued: Issued, now_ts: int) -> dict[str, Any]:
    body: dict[str, Any] = {"token_type": "Bearer"}
    if not issued.extra.get("app_only"):
        body["scope"] = issued.scope
    body.update(
        {
            "expires_in": str(issued.expires_in),
            "ext_expires_in": str(issued.expires_in),
            "expires_on": str(now_ts + issued.expires_in),
            "not_before": str(now_ts - 300),
            "resource": issued.resource,
            "access_token": issued.access_token,
        }
    )
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    if issued.id_token:
        body["id_token"] = issued.id_token
    return body
