"""Key Vault secrets (REST API 7.x) with the bearer-challenge flow `azure-keyvault-secrets` expects.

An unauthenticated request gets 401 + `WWW-Authenticate: Bearer authorization="{identity}/{partner tenant}",
resource="https://<parent of the vault host>"` (architecture.md, "Key Vault challenge"), so SecretClient's
challenge-resource verification stays on. Every PUT creates a new version, as in Key Vault; there is no
conditional write (no ETag on secrets), so optimistic concurrency is the caller's business (versions/tags).
Soft delete is on (recoverable for 90 days), as it is for every vault since 2020.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp, header, json_response
from emulator.faults import Scope
from emulator.identity.resources import KEY_VAULT, ResourceCatalogue
from emulator.tokens import BearerError, bearer_from_header

_NAME = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
_API_VERSION = re.compile(r"^(7\.\d+|2016-10-01|20\d\d-\d\d-\d\d)(-preview(\.\d+)?)?$")
_MAX_VALUE = 25 * 1024
_RECOVERABLE_DAYS = 90
_PAGE = 25


class VaultError(Exception):
    def __init__(self, status: int, code: str, message: str, inner: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.inner = status, code, message, inner


def _error(
    status: int, code: str, message: str, inner: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if inner:
        body["error"]["innererror"] = {"code": inner}
    return json_response(body, status, headers=headers)


class KeyVaultService(ServiceApp):
    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx, "key_vault")
        catalogue = ResourceCatalogue(ctx.endpoints.key_vault_resource)
        self.audiences = catalogue.audiences(KEY_VAULT)
        self.vault = ctx.endpoints.key_vault
        self.challenge = (
            f'Bearer authorization="{ctx.endpoints.identity}/{ctx.partner_tenant_id}", '
            f'resource="{ctx.endpoints.key_vault_resource}"'
        )
        h = self._handle
        self.add_routes(
            [
                Route("/secrets", h(self.list_secrets), name="secrets"),
                Route("/secrets/{name}", h(self.set_secret), methods=["PUT"], name="secrets.set"),
                Route("/secrets/{name}", h(self.delete_secret), methods=["DELETE"], name="secrets.delete"),
                Route("/secrets/{name}", h(self.get_secret), name="secrets.get"),
                Route("/secrets/{name}/", h(self.get_secret), name="secrets.get"),
                Route("/secrets/{name}/", h(self.update_secret), methods=["PATCH"], name="secrets.update"),
                Route("/secrets/{name}/versions", h(self.list_versions), name="secrets.versions"),
                Route("/secrets/{name}/{version}", h(self.get_secret), name="secrets.get"),
                Route(
                    "/secrets/{name}/{version}",
                    h(self.update_secret),
                    methods=["PATCH"],
                    name="secrets.update",
                ),
                Route("/deletedsecrets", h(self.list_deleted), name="deletedsecrets"),
                Route("/deletedsecrets/{name}", h(self.get_deleted), name="deletedsecrets.get"),
                Route(
                    "/deletedsecrets/{name}", h(self.purge), methods=["DELETE"], name="deletedsecrets.purge"
                ),
                Route(
                    "/deletedsecrets/{name}/recover",
                    h(self.recover),
                    methods=["POST"],
                    name="deletedsecrets.recover",
                ),
            ]
        )

    # -- service hooks ------------------------------------------------------------------------------------
    def _unauthorized(self, message: str) -> Response:
        return _error(401, "Unauthorized", message, headers={"WWW-Authenticate": self.challenge})

    async def authenticate(self, scope: Scope, info: RequestInfo) -> Response | None:
        token = bearer_from_header(header(scope, b"authorization"))
        if not token:
            return self._unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
        try:
            claims = self.ctx.tokens.validate(token, audiences=self.audiences, now=self.ctx.clock.timestamp())
        except BearerError as err:
            messages = {
                "audience": f"AKV10022: Invalid audience. Expected {KEY_VAULT.uri}, found: "
                f"{self._peek(token, 'aud')}.",
                "expired": "AKV10017: Token expired.",
                "not_yet_valid": "AKV10018: Token is not yet valid.",
            }
            return self._unauthorized(messages.get(err.reason, "AKV10020: Invalid token signature."))
        expected = f"https://sts.windows.net/{self.ctx.partner_tenant_id}/"
        if claims["iss"] != expected:
            return self._unauthorized(
                f"AKV10032: Invalid issuer. Expected one of {expected}, found {claims['iss']}."
            )
        info.claims = claims
        return None

    def _peek(self, token: str, claim: str) -> str:
        try:
            return str(self.ctx.tokens.claims(token).get(claim))
        except BearerError:
            return "(unreadable)"

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        return self.ctx.partner_tenant_id

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return _error(404, "NotFound", "The requested resource was not found.")

    def error_payload(
        self, status: int, retry_after: str | None, info: RequestInfo
    ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if status == 429:
            body = {
                "error": {
                    "code": "Throttled",
                    "message": "Request was not allowed because application has exceeded "
                    "the maximum number of requests allowed for this vault.",
                }
            }
        else:
            body = {
                "error": {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."}
            }
        return orjson.dumps(body), [(b"content-type", b"application/json; charset=utf-8")]

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ms-request-id", info.request_id.encode()),
            (b"x-ms-keyvault-service-version", b"1.9.2164.1"),
            (b"x-ms-keyvault-region", b"westeurope"),
            (b"x-ms-keyvault-network-info", b"conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"),
            (b"cache-control", b"no-cache"),
            (b"pragma", b"no-cache"),
            (b"expires", b"-1"),
            (b"strict-transport-security", b"max-age=31536000;includeSubDomains"),
            (b"x-content-type-options", b"nosniff"),
        ]

    def _handle(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                version = request.query_params.get("api-version")
                if not version:
                    raise VaultError(
                        400,
                        "BadParameter",
                        "The request URI does not contain the required 'api-version' query parameter.",
                    )
                if not _API_VERSION.match(version):
                    raise VaultError(
                        400,
                        "BadParameter",
                        f"The specified version ({version}) is not recognized. "
                        "Consider using the latest supported version (7.6).",
                    )
                name = request.path_params.get("name")
                if name is not None and not _NAME.match(name):
                    raise VaultError(
                        400, "BadParameter", "The request URI contains an invalid name: " + name[:128]
                    )
                response = await handler(request)
            except VaultError as err:
                response = _error(err.status, err.code, err.message, err.inner)
            client_request_id = request.headers.get("x-ms-client-request-id")
            if client_request_id:
                response.headers["x-ms-client-request-id"] = client_request_id
            return response

        endpoint.__name__ = handler.__name__
        return endpoint

    # -- secret bundles -----------------------------------------------------------------------------------
    def _attributes(self, data: dict[str, Any]) -> dict[str, Any]:
        attributes: dict[str, Any] = {"enabled": data["enabled"]}
        for key in ("nbf", "exp"):
            if data.get(key) is not None:
                attributes[key] = data[key]
        attributes.update(
            {
                "created": data["created"],
                "updated": data["updated"],
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": _RECOVERABLE_DAYS,
            }
        )
        return attributes

    def _bundle(self, name: str, version: str, value: str | None, data: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if value is not None:
            body["value"] = value
        if data.get("contentType") is not None:
            body["contentType"] = data["contentType"]
        body["id"] = f"{self.vault}/secrets/{name}/{version}"
        body["attributes"] = self._attributes(data)
        if data.get("tags") is not None:
            body["tags"] = data["tags"]
        return body

    def _item(self, secret_id: str, data: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {"id": secret_id, "attributes": self._attributes(data)}
        if data.get("tags") is not None:
            item["tags"] = data["tags"]
        if data.get("contentType") is not None:
            item["contentType"] = data["contentType"]
        return item

    def _not_found(self, name: str, version: str | None = None) -> VaultError:
        what = f"{name}/{version}" if version else name
        return VaultError(
            404,
            "SecretNotFound",
            f"A secret with (name/id) {what} was not found in this key vault. If you "
            "recently deleted this secret you may be able to recover it using the correct recovery "
            "command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
        )

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise VaultError(400, "BadParameter", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise VaultError(400, "BadParameter", "The request body must be a JSON object.")
        return body

    @staticmethod
    def _check_tags(tags: Any) -> dict[str, str] | None:
        if tags is None:
            return None
        if (
            not isinstance(tags, dict)
            or len(tags) > 15
            or not all(
                isinstance(k, str) and isinstance(v, str) and len(k) <= 512 and len(v) <= 256
                for k, v in tags.items()
            )
        ):
            raise VaultError(
                400,
                "BadParameter",
                "Tags must be at most 15 string pairs (names up to 512 characters, values up to 256).",
            )
        return tags

    # -- handlers -----------------------------------------------------------------------------------------
    async def set_secret(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await self._json(request)
        value = body.get("value")
        if not isinstance(value, str):
            raise VaultError(400, "BadParameter", "Property 'value' is required and must be a string.")
        if len(value.encode()) > _MAX_VALUE:
            raise VaultError(400, "BadParameter", "Secret value is too large; the maximum size is 25 KB.")
        if self.ctx.state.deleted_secret(name) is not None:
            raise VaultError(
                409,
                "Conflict",
                f"Secret {name} is currently in a deleted but recoverable state, and its "
                "name cannot be reused; in this state, the secret can only be recovered or purged.",
                "ObjectIsDeletedButRecoverable",
            )
        attributes = body.get("attributes") or {}
        now = self.ctx.clock.timestamp()
        data = {
            "enabled": bool(attributes.get("enabled", True)),
            "nbf": attributes.get("nbf"),
            "exp": attributes.get("exp"),
            "created": now,
            "updated": now,
            "contentType": body.get("contentType"),
            "tags": self._check_tags(body.get("tags")),
        }
        existing = self.ctx.state.secret(name)
        stored_name = existing[0] if existing else name
        version = uuid.uuid4().hex
        self.ctx.state.put_secret(stored_name, version, value, data)
        return json_response(self._bundle(stored_name, version, value, data))

    async def get_secret(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = request.path_params.get("version") or None
        found = self.ctx.state.secret(name, version)
        if found is None:
            raise self._not_found(name, version)
        stored_name, version, value, data = found
        if not data["enabled"]:
            raise VaultError(
                403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled"
            )
        return json_response(self._bundle(stored_name, version, value, data))

    async def update_secret(self, request: Request) -> Response:
        name = request.path_params["name"]
        version = request.path_params.get("version") or None
        found = self.ctx.state.secret(name, version)
        if found is None:
            raise self._not_found(name, version)
        stored_name, version, _, data = found
        body = await self._json(request)
        attributes = body.get("attributes") or {}
        for key in ("enabled", "nbf", "exp"):
            if key in attributes:
                data[key] = attributes[key]
        if "contentType" in body:
            data["contentType"] = body["contentType"]
        if "tags" in body:
            data["tags"] = self._check_tags(body["tags"])
        data["updated"] = self.ctx.clock.timestamp()
        self.ctx.state.update_secret(stored_name, version, data)
        return json_response(self._bundle(stored_name, version, None, data))

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        try:
            size = min(int(request.query_params.get("maxresults", _PAGE)), _PAGE)
            skip = int(request.query_params.get("$skiptoken", "0"))
        except ValueError:
            raise VaultError(400, "BadParameter", "maxresults and $skiptoken must be integers.") from None
        if size < 1:
            raise VaultError(400, "BadParameter", "maxresults must be between 1 and 25.")
        page = items[skip : skip + size]
        next_link = None
        if skip + size < len(items):
            api = request.query_params.get("api-version")
            next_link = (
                f"{self.vault}{request.url.path}?api-version={api}&$skiptoken={skip + size}&maxresults={size}"
            )
        return json_response({"value": page, "nextLink": next_link})

    async def list_secrets(self, request: Request) -> Response:
        items = []
        for name in self.ctx.state.secret_names():
            found = self.ctx.state.secret(name)
            if found is not None:
                items.append(self._item(f"{self.vault}/secrets/{found[0]}", found[3]))
        return self._page(request, items)

    async def list_versions(self, request: Request) -> Response:
        name = request.path_params["name"]
        versions = self.ctx.state.secret_versions(name)
        if not versions:
            raise self._not_found(name)
        return self._page(request, [self._item(f"{self.vault}/secrets/{n}/{v}", d) for n, v, d in versions])

    async def delete_secret(self, request: Request) -> Response:
        name = request.path_params["name"]
        now = self.ctx.clock.timestamp()
        deleted = {
            "deletedDate": now,
            "scheduledPurgeDate": now + int(timedelta(days=_RECOVERABLE_DAYS).total_seconds()),
        }
        versions = self.ctx.state.delete_secret(name, deleted)
        if not versions:
            raise self._not_found(name)
        stored_name, version, _, data = versions[-1]
        return json_response(self._deleted_bundle(stored_name, version, data, deleted))

    def _deleted_bundle(
        self, name: str, version: str, data: dict[str, Any], deleted: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "recoveryId": f"{self.vault}/deletedsecrets/{name}",
            "deletedDate": deleted["deletedDate"],
            "scheduledPurgeDate": deleted["scheduledPurgeDate"],
            **self._bundle(name, version, None, data),
        }

    async def get_deleted(self, request: Request) -> Response:
        name = request.path_params["name"]
        deleted = self.ctx.state.deleted_secret(name)
        if deleted is None:
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        stored_name, version, _, data = deleted["versions"][-1]
        return json_response(self._deleted_bundle(stored_name, version, data, deleted))

    async def list_deleted(self, request: Request) -> Response:
        items = []
        for deleted in self.ctx.state.deleted_secrets():
            stored_name, _, _, data = deleted["versions"][-1]
            items.append(
                {
                    "recoveryId": f"{self.vault}/deletedsecrets/{stored_name}",
                    "deletedDate": deleted["deletedDate"],
                    "scheduledPurgeDate": deleted["scheduledPurgeDate"],
                    **self._item(f"{self.vault}/secrets/{stored_name}", data),
                }
            )
        return self._page(request, items)

    async def purge(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not self.ctx.state.purge_secret(name):
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        return Response(status_code=204)

    async def recover(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not self.ctx.state.recover_secret(name):
            raise VaultError(404, "SecretNotFound", f"Deleted Secret not found: {name}")
        found = self.ctx.state.secret(name)
        assert found is not None
        return json_response(self._bundle(found[0], found[1], None, found[3]))


def build_app(ctx: EmulatorContext) -> KeyVaultService:
    return KeyVaultService(ctx)
