"""The interactive sign-in: `/authorize` (auto-approved as the partner admin, 302 to the app's redirect URI),
the device code endpoint and its verification page (a GET with the user code approves, as the admin would).
"""

from __future__ import annotations

import html
import secrets
import string
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from emulator.context import json_response, request_info
from emulator.identity.clients import find_client
from emulator.identity.errors import AadError, aad_error_body, aad_error_response
from emulator.identity.issuer import (
    AUTH_CODE_LIFETIME,
    DEVICE_CODE_SECONDS,
    DEVICE_POLL_INTERVAL,
    Issuer,
    is_direct,
)

_USER_CODE_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>",
        status_code=status,
    )


class InteractiveEndpoints:
    def __init__(self, issuer: Issuer) -> None:
        self.issuer = issuer
        self.ctx = issuer.ctx

    def _error_page(self, request: Request, err: AadError) -> HTMLResponse:
        body = aad_error_body(
            err,
            now=self.ctx.clock.now(),
            identity=self.ctx.endpoints.identity,
            correlation_id=request.headers.get("client-request-id"),
            trace_id=request_info(request).request_id,
        )
        return _page(
            "Sign in",
            f"<p>Sorry, but we're having trouble signing you in.</p>"
            f"<p id='error'>{html.escape(body['error_description'])}</p>",
            err.status or 400,
        )

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        try:
            tenant = self.issuer.tenant(request.path_params["tenant"], endpoint="authorize")
            client = find_client(self.ctx.state, q.get("client_id", ""))
            if client is None or not (client.multi_tenant or client.home_tenant == tenant.tenant_id):
                raise AadError(
                    700016,
                    f"Application with identifier '{q.get('client_id', '')}' was not found in the directory "
                    f"'{tenant.display_name}'. This can happen if the application has not been installed by the "
                    "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                    "authentication request to the wrong tenant.",
                )
            redirect_uri = q.get("redirect_uri", "")
            if not redirect_uri or not client.redirect_allowed(redirect_uri):
                raise AadError(
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                    f"configured for the application '{client.app_id}'. Make sure the redirect URI sent in the request "
                    "matches one added to your application in the Azure portal. Navigate to "
                    "https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
                )
        except AadError as err:
            return self._error_page(request, err)
        mode = q.get("response_mode", "query")
        state = q.get("state")
        try:
            if q.get("response_type") != "code":
                raise AadError(
                    70000,
                    f"The response type '{q.get('response_type', '')}' is not supported; this "
                    "authorization server issues authorization codes only.",
                    error="unsupported_response_type",
                )
            method = q.get("code_challenge_method", "plain" if q.get("code_challenge") else "")
            if method and method not in ("S256", "plain"):
                raise AadError(50059, f"The code_challenge_method '{method}' is not supported.")
            requested = self.issuer.parse_scopes(q.get("scope", ""))
            if tenant.customer is not None:
                self.issuer.check_delegated_access(client, tenant, requested.resource, "authorize")
            if is_direct(tenant):
                # A direct tenant's own admin signs in: the app gets its service principal there too.
                self.issuer.grant_admin_consent(client, tenant)
        except AadError as err:
            body = aad_error_body(
                err,
                now=self.ctx.clock.now(),
                identity=self.ctx.endpoints.identity,
                correlation_id=None,
                trace_id=request_info(request).request_id,
            )
            params = {
                "error": err.error or "invalid_request",
                "error_description": body["error_description"],
                "error_uri": body.get("error_uri", ""),
            }
            return self._redirect(redirect_uri, params, state, mode)
        # The partner admin (a direct tenant's own admin there) approves: an admin consent for the app's
        # permissions and the requested scopes.
        self.issuer.grant_consent(client, requested, tenant)
        code = "1.A" + secrets.token_urlsafe(300)
        now = self.ctx.clock.now()
        self.ctx.state.add_auth_code(
            code,
            (now + AUTH_CODE_LIFETIME).timestamp(),
            {
                "client_id": client.app_id,
                "redirect_uri": redirect_uri,
                "scope": q.get("scope", ""),
                "code_challenge": q.get("code_challenge"),
                "code_challenge_method": method or "plain",
                "nonce": q.get("nonce"),
                "tenant_id": tenant.tenant_id,
                "auth_time": int(now.timestamp()),
            },
        )
        return self._redirect(redirect_uri, {"code": code}, state, mode, session_state=True)

    async def adminconsent(self, request: Request) -> Response:
        """`/{tenant}/adminconsent` (and `/{tenant}/v2.0/adminconsent`): the tenant's admin signs in (auto-approved,
        as the scripted admin would) and consents for the whole tenant to the app's configured permissions, which
        creates its service principal there; the browser goes to `redirect_uri` with `admin_consent=True` and
        `tenant`, as Microsoft's admin-consent endpoint sends it."""
        q = request.query_params
        try:
            tenant = self.issuer.tenant(request.path_params["tenant"], endpoint="adminconsent")
            client = find_client(self.ctx.state, q.get("client_id", ""))
            if client is None or not (client.multi_tenant or client.home_tenant == tenant.tenant_id):
                raise AadError(
                    700016,
                    f"Application with identifier '{q.get('client_id', '')}' was not found in the directory "
                    f"'{tenant.display_name}'. This can happen if the application has not been installed by the "
                    "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                    "authentication request to the wrong tenant.",
                )
            redirect_uri = q.get("redirect_uri", "")
            if not redirect_uri or not client.redirect_allowed(redirect_uri):
                raise AadError(
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                    f"configured for the application '{client.app_id}'. Make sure the redirect URI sent in the request "
                    "matches one added to your application in the Azure portal. Navigate to "
                    "https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
                )
        except AadError as err:
            return self._error_page(request, err)
        if tenant.is_partner:
            self.issuer.grant_consent(client, None)
        else:
            self.issuer.grant_admin_consent(client, tenant)
        params = {"admin_consent": "True", "tenant": tenant.tenant_id}
        if q.get("scope"):
            params["scope"] = q["scope"]
        return self._redirect(redirect_uri, params, q.get("state"), "query")

    def _redirect(
        self,
        redirect_uri: str,
        params: dict[str, str],
        state: str | None,
        mode: str,
        session_state: bool = False,
    ) -> Response:
        params = dict(params)
        if state is not None:
            params["state"] = state
        if session_state:
            params["session_state"] = secrets.token_hex(16)
        if mode == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                for k, v in params.items()
            )
            return HTMLResponse(
                f'<html><body onload="document.forms[0].submit()"><form method="POST" '
                f'action="{html.escape(redirect_uri)}">{inputs}</form></body></html>'
            )
        parts = urlsplit(redirect_uri)
        if mode == "fragment":
            target = urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, urlencode(params)))
        else:
            query = "&".join(p for p in (parts.query, urlencode(params)) if p)
            target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return RedirectResponse(target, status_code=302)

    async def devicecode(self, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            tenant = self.issuer.tenant(request.path_params["tenant"], endpoint="devicecode")
            client = find_client(self.ctx.state, form.get("client_id", ""))
            if client is None or not (client.multi_tenant or client.home_tenant == tenant.tenant_id):
                raise AadError(
                    700016,
                    f"Application with identifier '{form.get('client_id', '')}' was not found in the directory "
                    f"'{tenant.display_name}'. This can happen if the application has not been installed by the "
                    "administrator of the tenant or consented to by any user in the tenant. You may have sent your "
                    "authentication request to the wrong tenant.",
                )
            self.issuer.parse_scopes(form.get("scope", ""))
        except AadError as err:
            return aad_error_response(
                err,
                now=self.ctx.clock.now(),
                identity=self.ctx.endpoints.identity,
                correlation_id=request.headers.get("client-request-id"),
                trace_id=request_info(request).request_id,
            )
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        device_code = "DAQABIQEAAAD" + secrets.token_urlsafe(180)
        now = self.ctx.clock.now()
        self.ctx.state.add_device_code(
            device_code,
            user_code,
            now.timestamp() + DEVICE_CODE_SECONDS,
            {"client_id": client.app_id, "scope": form.get("scope", ""), "tenant_id": tenant.tenant_id},
        )
        uri = f"{self.ctx.endpoints.identity}/devicelogin"
        return json_response(
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": uri,
                "expires_in": DEVICE_CODE_SECONDS,
                "interval": DEVICE_POLL_INTERVAL,
                "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} to "
                "authenticate.",
            },
            headers={"Cache-Control": "no-store, no-cache"},
        )

    async def devicelogin(self, request: Request) -> Response:
        """The verification page: with `otc` (or `user_code`) it signs the admin of the code's tenant in (the
        partner admin, or a direct tenant's own) and approves."""
        code = (
            (request.query_params.get("otc") or request.query_params.get("user_code") or "").strip().upper()
        )
        if not code:
            return _page(
                "Enter code",
                '<form method="GET"><input name="otc" autocomplete="off"/>'
                '<button type="submit">Next</button></form>',
            )
        record = self.ctx.state.device_by_user_code(code)
        if record is None:
            return _page(
                "Enter code", "<p id='error'>That code is not valid. Check the code and try again.</p>", 400
            )
        if self.ctx.clock.now().timestamp() > record["expires_ts"] or record["status"] != "pending":
            return _page("Enter code", "<p id='error'>That code has expired or was already used.</p>", 400)
        client = find_client(self.ctx.state, record["client_id"])
        if client is None:
            return _page("Enter code", "<p id='error'>The application no longer exists.</p>", 400)
        # The code's tenant decides who signs in, as at /authorize: a direct tenant's own admin (the app gets its
        # service principal and the consent there), the partner admin everywhere else.
        tenant = self.ctx.tenants.resolve(record["tenant_id"])
        if tenant is not None and is_direct(tenant):
            self.issuer.grant_admin_consent(client, tenant)
        self.issuer.grant_consent(client, self.issuer.parse_scopes(record["scope"]), tenant)
        self.ctx.state.set_device_status(code, "approved")
        user = self.issuer.user_for(tenant) if tenant is not None else self.issuer.user
        return _page(
            client.display_name,
            f"<p id='approved'>{html.escape(user.upn)} signed in to the {html.escape(client.display_name)}"
            " application on your device. You may now close this window.</p>",
        )

    async def logout(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri")
        if target and urlsplit(target).hostname in ("localhost", "127.0.0.1"):
            return RedirectResponse(target, status_code=302)
        return _page("Sign out", "<p>You signed out of your account.</p>")

    async def error_page(self, request: Request) -> Response:
        code = request.query_params.get("code", "")
        return _page(
            f"Error {code}", f"<p>AADSTS{html.escape(code)}: see the emulator's identity error catalogue.</p>"
        )
