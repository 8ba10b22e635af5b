"""api.powerbi.com: the semantic-model ("dataset") refresh API of the Power BI REST API v1.0 (FACTS.md §8).

One workspace ("group") with one semantic model belongs to the partner tenant; their ids derive from the seed
(`workspace_ids`). Served:

- `GET /v1.0/myorg/groups`, `GET /v1.0/myorg/groups/{groupId}/datasets` — to find the ids.
- `POST …/datasets/{datasetId}/refreshes` → 202, empty body, `RequestId` / `x-ms-request-id` (the refresh's
  request id) and `Location` (the refresh object's URL, ending in that id) headers; 400 while a refresh of the
  model is still running.
- `GET …/refreshes?$top=N` → the refresh history, newest first (`id`, `refreshType` `ViaApi`, `startTime`,
  `endTime`, `status` `Unknown` while running / `Completed` / `Failed`, `requestId`, `serviceExceptionJson`
  on failure); `GET …/refreshes/{refreshId}` → its execution details (202 while running, 200 when done);
  `DELETE …/refreshes/{refreshId}` cancels a running one.

A refresh runs for `SMART_OFFICE_EMULATOR_POWERBI_REFRESH_SECONDS` (default 3): it is done once the emulator
clock has moved that far past its start, or that much real time has passed (the clock stands still unless
the admin API moves it; a client polling the history must still see it finish). A `refresh_failed` fault
(service `power_bi`) makes the next refresh it matches end `Failed` with `params.error_code`. Bearer tokens
must be for the Power BI resource, valid on the emulator clock, of the partner tenant (401 otherwise);
an unknown workspace or model is 404. The history lives in memory (a restart forgets it).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp, header, json_response
from emulator.data.determinism import stable_uuid
from emulator.faults import Scope
from emulator.identity.resources import POWER_BI, ResourceCatalogue
from emulator.tokens import BearerError, bearer_from_header

REFRESH_SECONDS_VARIABLE = "SMART_OFFICE_EMULATOR_POWERBI_REFRESH_SECONDS"
DEFAULT_REFRESH_SECONDS = 3.0
WORKSPACE_NAME = "Partner Smart Office"
DATASET_NAME = "Security posture"
# GET …/refreshes without $top: "the last available 60 entries" (FACTS.md §8).
HISTORY_DEFAULT_TOP = 60
DEFAULT_ERROR_CODE = "ModelRefreshFailed_CredentialsNotSpecified"


def workspace_ids(seed: int) -> tuple[str, str]:
    """(workspace id, semantic model id) of the emulated partner's Power BI workspace."""
    return stable_uuid(seed, "power_bi", "workspace"), stable_uuid(seed, "power_bi", "dataset")


def refresh_seconds(environ: dict[str, str] | os._Environ[str] = os.environ) -> float:
    raw = environ.get(REFRESH_SECONDS_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_REFRESH_SECONDS
    value = float(raw)
    if not 0 <= value <= 3600:
        raise ValueError(f"{REFRESH_SECONDS_VARIABLE} must be between 0 and 3600, got {raw!r}")
    return value


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Refresh:
    """One refresh of the model: started on the emulator clock and on the wall clock."""

    number: int
    request_id: str
    started: datetime
    started_wall: float
    duration: float
    error_code: str | None = None
    cancelled_at: datetime | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def finished(self, now: datetime, wall: float) -> bool:
        if self.cancelled_at is not None:
            return True
        return (
            now >= self.started + timedelta(seconds=self.duration)
            or wall - self.started_wall >= self.duration
        )

    def status(self, now: datetime, wall: float) -> str:
        if self.cancelled_at is not None:
            return "Cancelled"
        if not self.finished(now, wall):
            return "Unknown"
        return "Failed" if self.error_code else "Completed"

    def ended(self) -> datetime:
        return self.cancelled_at or self.started + timedelta(seconds=self.duration)

    def history_entry(self, now: datetime, wall: float) -> dict[str, Any]:
        status = self.status(now, wall)
        entry: dict[str, Any] = {
            "id": self.number,
            "refreshType": "ViaApi",
            "startTime": _iso(self.started),
        }
        if status != "Unknown":
            entry["endTime"] = _iso(self.ended())
        if status == "Failed":
            entry["serviceExceptionJson"] = orjson.dumps({"errorCode": self.error_code}).decode()
        entry["status"] = status
        entry["requestId"] = self.request_id
        return entry

    def details(self, now: datetime, wall: float) -> dict[str, Any]:
        status = self.status(now, wall)
        shown = "InProgress" if status == "Unknown" else status
        details: dict[str, Any] = {"startTime": _iso(self.started)}
        if status != "Unknown":
            details["endTime"] = _iso(self.ended())
        details.update(
            {
                "type": str(self.body.get("type") or "Full"),
                "commitMode": str(self.body.get("commitMode") or "Transactional"),
                "status": shown,
                "extendedStatus": shown,
                "currentRefreshType": str(self.body.get("type") or "Full"),
                "numberOfAttempts": 1,
                "objects": [],
            }
        )
        if status == "Failed":
            details["messages"] = [
                {
                    "code": self.error_code,
                    "message": "The refresh of the semantic model failed.",
                    "type": "Error",
                }
            ]
        return details


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers=headers)


class PowerBIService(ServiceApp):
    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx, "power_bi")
        self.group_id, self.dataset_id = workspace_ids(ctx.config.seed)
        self.duration = refresh_seconds()
        self.audiences = ResourceCatalogue(ctx.endpoints.key_vault_resource).audiences(POWER_BI)
        self.refreshes: list[Refresh] = []
        self._lock = threading.Lock()
        base = "/v1.0/myorg/groups"
        refreshes = base + "/{group_id}/datasets/{dataset_id}/refreshes"
        self.add_routes(
            [
                Route(base, self.list_groups, name="groups"),
                Route(base + "/{group_id}/datasets", self.list_datasets, name="datasets"),
                Route(refreshes, self.start_refresh, methods=["POST"], name="refreshes.post"),
                Route(refreshes, self.refresh_history, methods=["GET"], name="refreshes"),
                Route(
                    refreshes + "/{refresh_id}", self.refresh_details, methods=["GET"], name="refreshes.get"
                ),
                Route(
                    refreshes + "/{refresh_id}",
                    self.cancel_refresh,
                    methods=["DELETE"],
                    name="refreshes.delete",
                ),
            ]
        )

    # -- service hooks ------------------------------------------------------------------------------------
    async def authenticate(self, scope: Scope, info: RequestInfo) -> Response | None:
        token = bearer_from_header(header(scope, b"authorization"))
        challenge = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
        if not token:
            return Response(status_code=401, headers=challenge)
        try:
            claims = self.ctx.tokens.validate(token, audiences=self.audiences, now=self.ctx.clock.timestamp())
        except BearerError as err:
            code = "TokenExpired" if err.reason == "expired" else "InvalidAuthenticationToken"
            return _error(401, code, err.message, challenge)
        if claims.get("tid") != self.ctx.partner_tenant_id:
            return _error(
                401, "InvalidAuthenticationToken", "The token's tenant has no Power BI workspace here."
            )
        info.claims = claims
        info.tenant = claims["tid"]
        return None

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        return info.tenant

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return _error(404, "NotFound", "API not found.")

    def error_payload(
        self, status: int, retry_after: str | None, info: RequestInfo
    ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if status == 429:
            body = {"error": {"code": "TooManyRequests", "message": "Too many requests. Retry later."}}
        else:
            body = {
                "error": {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable."}
            }
        return orjson.dumps(body), [(b"content-type", b"application/json; charset=utf-8")]

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        return [(b"x-ms-routing-hint", b"host001_emulator"), (b"activityid", info.request_id.encode())]

    # -- helpers ------------------------------------------------------------------------------------------
    def _context_url(self, fragment: str) -> str:
        return f"{self.ctx.endpoints.power_bi}/v1.0/myorg/$metadata#{fragment}"

    def _check_model(self, request: Request) -> Response | None:
        group = request.path_params["group_id"].lower()
        if group != self.group_id:
            return _error(404, "PowerBIEntityNotFound", f"Workspace {group} was not found.")
        dataset = request.path_params.get("dataset_id")
        if dataset is not None and dataset.lower() != self.dataset_id:
            return _error(
                404,
                "ItemNotFound",
                f"Dataset {dataset} is not found! please verify datasetId is correct and user have "
                "sufficient permissions.",
            )
        return None

    def _find(self, refresh_id: str) -> Refresh | None:
        lowered = refresh_id.lower()
        return next((r for r in self.refreshes if r.request_id == lowered), None)

    # -- handlers -----------------------------------------------------------------------------------------
    async def list_groups(self, request: Request) -> Response:
        group = {
            "id": self.group_id,
            "isReadOnly": False,
            "isOnDedicatedCapacity": True,
            "name": WORKSPACE_NAME,
        }
        return json_response({"@odata.context": self._context_url("groups"), "value": [group]})

    async def list_datasets(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal
        dataset = {
            "id": self.dataset_id,
            "name": DATASET_NAME,
            "configuredBy": "analyst@partner.example",
            "isRefreshable": True,
            "isEffectiveIdentityRequired": False,
            "isEffectiveIdentityRolesRequired": False,
            "isOnPremGatewayRequired": True,
            "targetStorageMode": "Abf",
        }
        return json_response({"@odata.context": self._context_url("datasets"), "value": [dataset]})

    async def start_refresh(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError:
            return _error(400, "InvalidRequest", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "InvalidRequest", "The request body must be a JSON object.")
        now, wall = self.ctx.clock.now(), time.monotonic()
        info = request.scope["emulator"]
        with self._lock:
            if any(not r.finished(now, wall) for r in self.refreshes):
                return _error(
                    400,
                    "InvalidRequest",
                    "Invalid dataset refresh request. Another refresh request is already executing",
                )
            fault = self.ctx.faults.take(
                self.name, info.endpoint_names, info.tenant, ("refresh_failed",), path=request.url.path
            )
            refresh = Refresh(
                number=len(self.refreshes) + 1,
                request_id=str(uuid.uuid4()),
                started=now,
                started_wall=wall,
                duration=self.duration,
                error_code=str(fault.params.get("error_code") or DEFAULT_ERROR_CODE) if fault else None,
                body=body,
            )
            self.refreshes.append(refresh)
        location = f"{self.ctx.endpoints.power_bi}{request.url.path}/{refresh.request_id}"
        headers = {
            "RequestId": refresh.request_id,
            "x-ms-request-id": refresh.request_id,
            "Location": location,
        }
        return Response(status_code=202, headers=headers)

    async def refresh_history(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal
        raw_top = request.query_params.get("$top")
        top = HISTORY_DEFAULT_TOP
        if raw_top is not None:
            if not raw_top.isdigit() or int(raw_top) < 1:
                return _error(400, "InvalidRequest", f"Invalid value for $top: {raw_top}")
            top = int(raw_top)
        now, wall = self.ctx.clock.now(), time.monotonic()
        entries = [r.history_entry(now, wall) for r in reversed(self.refreshes)][:top]
        return json_response({"@odata.context": self._context_url("refreshes"), "value": entries})

    async def refresh_details(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal
        refresh = self._find(request.path_params["refresh_id"])
        if refresh is None:
            return _error(404, "ItemNotFound", "The refresh was not found.")
        now, wall = self.ctx.clock.now(), time.monotonic()
        status = 202 if not refresh.finished(now, wall) else 200
        return json_response(refresh.details(now, wall), status)

    async def cancel_refresh(self, request: Request) -> Response:
        refusal = self._check_model(request)
        if refusal is not None:
            return refusal
        refresh = self._find(request.path_params["refresh_id"])
        if refresh is None:
            return _error(404, "ItemNotFound", "The refresh was not found.")
        now, wall = self.ctx.clock.now(), time.monotonic()
        with self._lock:
            if not refresh.finished(now, wall):
                refresh.cancelled_at = now
        return Response(status_code=200)


def build_app(ctx: EmulatorContext) -> PowerBIService:
    return PowerBIService(ctx)
