"""Partner Center REST (`api.partnercenter.microsoft.com`): `GET /v1/customers` and `GET /v1/customers/{id}`.

- Auth: a bearer token for Partner Center (aud `https://api.partnercenter.microsoft.com` or its app id) issued
  at the partner's tenant. No or a bad token → 401 with `WWW-Authenticate: OAuth realm=urn:cpsvc:cpid:…`
  (error-codes.md); a token of another tenant → 403. Bodies use Partner Center's error shape
  `{code, description, data, source}` (FACTS.md §6); the codes and texts are inferred (not captured).
- Listing: seek paging as in Partner Center's ResourceCollection (FACTS.md §6): `size` items per page
  (default 100, at most 500 — neither documented; 400 outside 1..500), `links.self`, and while more remain
  `links.next` = `{uri: "/v1/customers?size=N&seekOperation=Next", method: "GET",
  headers: [{key: "MS-ContinuationToken", value}]}`. The next call must send that header with
  `seekOperation=Next` (400 otherwise). `totalCount` is the number of items on the page, as in the documented
  examples. Departed customers are not listed and are not found by id.
- `allowDelegatedAccess` is only returned by GET-by-id (customer-resources.md).
- Throttling: 500 requests per minute per tenant identifier (the partner tenant for the list, the customer for
  GET-by-id), 429 in Partner Center's throttling shape with whole-second Retry-After.
- Responses echo `MS-RequestId` and `MS-CorrelationId` (headers.md).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp, header, request_info
from emulator.data.directory_objects import partner_center_customer
from emulator.data.portfolio import Customer
from emulator.data.timestamps import to_us
from emulator.faults import Scope
from emulator.graph.throttling import throttled, throttling_for
from emulator.identity.resources import PARTNER_CENTER, PARTNER_CENTER_APP_ID
from emulator.tokens import BearerError, bearer_from_header

DEFAULT_SIZE = 100
MAX_SIZE = 500
CONTINUATION_HEADER = "MS-ContinuationToken"
AUDIENCES = frozenset(
    {
        PARTNER_CENTER_APP_ID,
        *PARTNER_CENTER.identifier_uris,
        *(u.rstrip("/") for u in PARTNER_CENTER.identifier_uris),
    }
)
_JSON = "application/json; charset=utf-8"


def _error_body(code: int, description: str) -> bytes:
    return orjson.dumps({"code": code, "description": description, "data": [], "source": "PartnerFD"})


def _error(status: int, code: int, description: str, headers: dict[str, str] | None = None) -> Response:
    return Response(_error_body(code, description), status_code=status, media_type=_JSON, headers=headers)


class ListedCustomers:
    """Customers Partner Center lists at one clock instant, as (portfolio index, JSON bytes)."""

    def __init__(self) -> None:
        self._key: int | None = None
        self._rows: list[tuple[int, bytes]] = []
        self._bytes: dict[str, bytes] = {}

    def at(self, ctx: EmulatorContext) -> list[tuple[int, bytes]]:
        now = ctx.clock.now()
        key = to_us(now)
        if key != self._key:
            rows = []
            for customer in ctx.portfolio.listed_customers(now):
                found = self._bytes.get(customer.tenant_id)
                if found is None:
                    # The list form does not depend on the instant (allowDelegatedAccess is by-id only).
                    found = self._bytes[customer.tenant_id] = orjson.dumps(
                        partner_center_customer(customer, now)
                    )
                rows.append((customer.index, found))
            self._rows, self._key = rows, key
        return self._rows


def _encode_token(after_index: int, size: int) -> str:
    raw = orjson.dumps({"v": 1, "after": after_index, "size": size})
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str) -> int | None:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("after"), int):
        return None
    return data["after"]


class PartnerCenterService(ServiceApp):
    """The Partner Center API origin."""

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx, "partner_center")
        self.listed = ListedCustomers()
        self.throttling = throttling_for(ctx)
        self._realm = f"OAuth realm=urn:cpsvc:cpid:{uuid.uuid5(uuid.NAMESPACE_URL, ctx.partner_tenant_id)}"
        self.add_routes(
            [
                Route("/v1/customers", self.list_customers, methods=["GET"], name="customers"),
                Route("/v1/customers/{customer_id}", self.get_customer, methods=["GET"], name="customer"),
            ]
        )

    # -- service hooks ------------------------------------------------------------------------------------
    async def authenticate(self, scope: Scope, info: RequestInfo) -> Response | None:
        if scope.get("route") is None:
            return None
        token = bearer_from_header(header(scope, b"authorization"))
        try:
            claims = self.ctx.tokens.validate(token, audiences=AUDIENCES, now=self.ctx.clock.timestamp())
        except BearerError as err:
            description = (
                "Authorization header is missing." if err.reason == "empty" else "Invalid access token."
            )
            return _error(401, 401, description, {"WWW-Authenticate": self._realm})
        info.claims = claims
        if claims.get("tid", "").lower() != self.ctx.partner_tenant_id:
            return _error(
                403,
                403,
                "The access token was not issued for a partner tenant: Partner Center accepts tokens of the "
                "partner's own tenant only.",
            )
        return None

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        customer_id = (scope.get("path_params") or {}).get("customer_id")
        if isinstance(customer_id, str):
            return customer_id.lower()
        return info.claims["tid"] if info.claims else None

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return _error(404, 404, "Resource not found.")

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        return [(b"ms-requestid", info.request_id.encode())]

    # -- handlers -----------------------------------------------------------------------------------------
    def _echo(self, request: Request) -> dict[str, str]:
        info = request_info(request)
        return {
            "MS-RequestId": request.headers.get("ms-requestid") or info.request_id,
            "MS-CorrelationId": request.headers.get("ms-correlationid") or str(uuid.uuid4()),
        }

    def _rate(self, request: Request) -> Response | None:
        key = request_info(request).tenant or ""
        wait = self.throttling.partner_center.admit(key)
        return None if wait is None else throttled(request, wait, whole_seconds=True)

    async def list_customers(self, request: Request) -> Response:
        if (refused := self._rate(request)) is not None:
            return refused
        query = request.query_params
        size_text = query.get("size")
        if size_text is None:
            size = DEFAULT_SIZE
        elif size_text.isdigit() and 1 <= int(size_text) <= MAX_SIZE:
            size = int(size_text)
        else:
            return _error(
                400, 400, f"The size must be an integer between 1 and {MAX_SIZE}.", self._echo(request)
            )
        seek = query.get("seekOperation")
        after = -1
        if seek is not None:
            if seek.lower() != "next":
                return _error(400, 400, f"Unsupported seekOperation '{seek}'.", self._echo(request))
            token = request.headers.get(CONTINUATION_HEADER.lower())
            if not token:
                return _error(
                    400,
                    400,
                    f"A seek operation requires the {CONTINUATION_HEADER} header.",
                    self._echo(request),
                )
            decoded = _decode_token(token)
            if decoded is None:
                return _error(400, 400, "The continuation token is invalid.", self._echo(request))
            after = decoded
        rows = self.listed.at(self.ctx)
        start = _first_after(rows, after)
        page = rows[start : start + size]
        links: dict[str, Any] = {"self": {"uri": _relative(request), "method": "GET", "headers": []}}
        if start + size < len(rows):
            links["next"] = {
                "uri": f"/v1/customers?size={size}&seekOperation=Next",
                "method": "GET",
                "headers": [{"key": CONTINUATION_HEADER, "value": _encode_token(page[-1][0], size)}],
            }
        head = orjson.dumps({"totalCount": len(page)})
        tail = orjson.dumps({"links": links, "attributes": {"objectType": "Collection"}})
        body = head[:-1] + b',"items":[' + b",".join(b for _, b in page) + b"]," + tail[1:]
        return Response(body, media_type=_JSON, headers=self._echo(request))

    async def get_customer(self, request: Request) -> Response:
        if (refused := self._rate(request)) is not None:
            return refused
        customer_id = request.path_params["customer_id"]
        now = self.ctx.clock.now()
        customer: Customer | None = self.ctx.portfolio.customer_by_tenant_id(customer_id)
        if customer is None or not customer.is_listed(now):
            return _error(404, 600, f"Customer with id {customer_id} was not found.", self._echo(request))
        body = orjson.dumps(partner_center_customer(customer, now, by_id=True))
        return Response(body, media_type=_JSON, headers=self._echo(request))


def _first_after(rows: list[tuple[int, bytes]], after: int) -> int:
    """Position of the first listed customer whose portfolio index is above `after` (rows are in index order)."""
    low, high = 0, len(rows)
    while low < high:
        middle = (low + high) // 2
        if rows[middle][0] <= after:
            low = middle + 1
        else:
            high = middle
    return low


def _relative(request: Request) -> str:
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.scope["path"] + (f"?{query}" if query else "")


def build_app(ctx: EmulatorContext) -> PartnerCenterService:
    return PartnerCenterService(ctx)
