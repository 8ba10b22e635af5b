"""Injected faults: a registry the admin API fills, transport faults applied to every service's requests,
and `take()` for the data-level and identity faults that endpoint owners apply themselves.

A fault = {id, kind, service?, endpoint?, tenant?, count?, probability?, params}. `endpoint` matches a route
name, a route template (`/v1.0/security/alerts_v2`) or the request path, as an fnmatch glob, or as the last
segments of the template (`alerts_v2`). `count` is how many times it fires (null: until deleted);
`probability` makes it fire on that share of matching requests, drawn from a RNG seeded by (seed, fault id).
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from emulator.data.determinism import rng_for
from emulator.state import EmulatorState

TRANSPORT_KINDS = ("throttle", "http_error", "slow", "reset", "truncate", "malformed")
DATA_KINDS = ("empty_page", "nextlink_loop", "nul_strings", "mutate")
# Applied by the platform to a matching JSON response, $batch items included (see `mutate_body`).
PLATFORM_DATA_KINDS = ("mutate",)
# Identity fault kind -> the AADSTS code the token endpoint answers with.
IDENTITY_KINDS: dict[str, int] = {
    "consent_revoked": 65001,
    "mfa_required": 50076,
    "conditional_access_blocked": 53003,
    "partner_blocked": 530034,
    "refresh_token_expired": 700082,
    "invalid_client": 7000215,
    "app_not_found": 700016,
    "tenant_not_found": 90002,
    "no_delegated_access": 50020,
}
# Not an error: the app-only access tokens the identity service issues live `seconds` (an Entra token
# lifetime policy), so a client's refresh ahead of expiry can be watched without waiting an hour.
LIFETIME_KINDS = ("token_lifetime",)
# Power BI: the next refresh the fault matches ends `Failed` with `error_code` (emulator/power_bi.py).
POWER_BI_KINDS = ("refresh_failed",)
KINDS = (*TRANSPORT_KINDS, *DATA_KINDS, *IDENTITY_KINDS, *LIFETIME_KINDS, *POWER_BI_KINDS)
FAULT_SERVICES = ("identity", "graph", "partner_center", "key_vault", "power_bi")
_PARAM_DEFAULTS: dict[str, dict[str, Any]] = {
    "throttle": {"retry_after": 1, "status": 429},
    "http_error": {"status": 503},
    "slow": {"delay": 2.0},
    "reset": {"fraction": 0.5},
    "truncate": {"fraction": 0.5},
    "token_lifetime": {"seconds": 600},
    "refresh_failed": {"error_code": "ModelRefreshFailed_CredentialsNotSpecified"},
}
_SPEC_KEYS = {"kind", "service", "endpoint", "tenant", "count", "probability", "params"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


class FaultSpecError(ValueError):
    """A fault definition is invalid; the message says which field."""


@dataclass
class Fault:
    id: str
    kind: str
    service: str | None
    endpoint: str | None
    tenant: str | None
    count: int | None
    probability: float | None
    params: dict[str, Any]
    created: str
    remaining: int | None = None
    fired: int = 0
    draws: int = 0
    _patterns: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.remaining is None:
            self.remaining = self.count
        self._patterns = (self.endpoint.lower(),) if self.endpoint else ()

    def matches(self, service: str, names: Iterable[str | None], tenant: str | None) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.tenant is not None and (tenant is None or tenant.lower() != self.tenant):
            return False
        if not self._patterns:
            return True
        pattern = self._patterns[0]
        for name in names:
            if not name:
                continue
            name = name.lower()
            if fnmatch.fnmatchcase(name, pattern) or name.endswith("/" + pattern.lstrip("/")):
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "service": self.service,
            "endpoint": self.endpoint,
            "tenant": self.tenant,
            "count": self.count,
            "remaining": self.remaining,
            "probability": self.probability,
            "params": self.params,
            "fired": self.fired,
            "draws": self.draws,
            "created": self.created,
        }


def parse_fault(spec: dict[str, Any], *, now: datetime) -> Fault:
    """Validate an admin fault definition. Unknown top-level keys are folded into `params`."""
    if not isinstance(spec, dict):
        raise FaultSpecError("a fault is a JSON object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    service = spec.get("service")
    if kind in IDENTITY_KINDS or kind in LIFETIME_KINDS:
        service = service or "identity"
    if service is not None and service not in FAULT_SERVICES:
        raise FaultSpecError(
            f"service must be one of {', '.join(FAULT_SERVICES)} (the admin API is never faulted)"
        )
    if (kind in IDENTITY_KINDS or kind in LIFETIME_KINDS) and service != "identity":
        raise FaultSpecError(f"{kind} is an identity fault; service must be identity")
    if kind in POWER_BI_KINDS:
        service = service or "power_bi"
        if service != "power_bi":
            raise FaultSpecError(f"{kind} is a Power BI fault; service must be power_bi")
    count = spec.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise FaultSpecError("count must be a positive integer or null")
    probability = spec.get("probability")
    if probability is not None and (
        not isinstance(probability, int | float) or isinstance(probability, bool) or not 0 < probability <= 1
    ):
        raise FaultSpecError("probability must be a number in (0, 1]")
    endpoint, tenant = spec.get("endpoint"), spec.get("tenant")
    for key, value in (("endpoint", endpoint), ("tenant", tenant)):
        if value is not None and (not isinstance(value, str) or not value):
            raise FaultSpecError(f"{key} must be a non-empty string or null")
    params = dict(_PARAM_DEFAULTS.get(kind, {}))
    extra = spec.get("params")
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise FaultSpecError("params must be an object")
    params.update(extra)
    params.update({k: v for k, v in spec.items() if k not in _SPEC_KEYS})
    _check_params(kind, params)
    return Fault(
        id=str(uuid.uuid4()),
        kind=kind,
        service=service,
        endpoint=endpoint,
        tenant=tenant.lower() if tenant else None,
        count=count,
        probability=float(probability) if probability is not None else None,
        params=params,
        created=now.isoformat().replace("+00:00", "Z"),
    )


def _check_params(kind: str, params: dict[str, Any]) -> None:
    def number(name: str, low: float, high: float) -> None:
        value = params.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
            raise FaultSpecError(f"{kind}: {name} must be a number in [{low}, {high}]")

    if kind == "throttle":
        number("retry_after", 0, 3600)
        if params["status"] not in (429, 503):
            raise FaultSpecError("throttle: status must be 429 or 503")
    elif kind == "http_error":
        if params["status"] not in (500, 502, 503, 504):
            raise FaultSpecError("http_error: status must be one of 500, 502, 503, 504")
        if "retry_after" in params:
            number("retry_after", 0, 3600)
    elif kind == "slow":
        number("delay", 0, 300)
    elif kind in ("reset", "truncate"):
        number("fraction", 0, 0.99)
    elif kind == "mutate":
        if not isinstance(params.get("set", {}), dict) or not isinstance(params.get("remove", []), list):
            raise FaultSpecError(
                "mutate: set must be an object of path -> JSON value, remove a list of paths"
            )
        if not params.get("set") and not params.get("remove") and "raw" not in params:
            raise FaultSpecError("mutate: give set, remove or raw")
        items = params.get("items", 1)
        if items != "all" and (not isinstance(items, int) or isinstance(items, bool) or items < 1):
            raise FaultSpecError('mutate: items must be a positive integer or "all"')
        if "raw" in params and not isinstance(params["raw"], dict):
            raise FaultSpecError("mutate: raw must be an object of path -> JSON text (e.g. NaN)")
    elif kind == "token_lifetime":
        number("seconds", 60, 86400)
    elif kind == "refresh_failed":
        code = params.get("error_code")
        if not isinstance(code, str) or not code or len(code) > 200:
            raise FaultSpecError(
                "refresh_failed: error_code must be a non-empty string (at most 200 characters)"
            )


class FaultRegistry:
    """The active faults; persisted in the state so a restarted emulator keeps them."""

    def __init__(self, state: EmulatorState, seed: int) -> None:
        self._state = state
        self._seed = seed
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        for data in state.faults():
            fault = Fault(**{k: v for k, v in data.items() if k != "_patterns"})
            self._faults[fault.id] = fault

    @property
    def active(self) -> bool:
        """Whether any fault exists (the per-request fast path checks only this)."""
        return bool(self._faults)

    def add(self, spec: dict[str, Any], *, now: datetime) -> Fault:
        fault = parse_fault(spec, now=now)
        with self._lock:
            self._faults[fault.id] = fault
        self._state.save_fault(fault.id, fault.to_json())
        return fault

    def list(self) -> list[Fault]:
        return list(self._faults.values())

    def delete(self, fault_id: str) -> bool:
        with self._lock:
            gone = self._faults.pop(fault_id, None)
        if gone is not None:
            self._state.delete_fault(fault_id)
        return gone is not None

    def clear(self) -> int:
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
        self._state.delete_fault(None)
        return n

    def take(
        self,
        service: str,
        endpoint: str | Iterable[str | None] | None,
        tenant: str | None,
        kinds: Iterable[str],
        *,
        path: str | None = None,
    ) -> Fault | None:
        """The first matching fault of one of `kinds` that fires now (its count is consumed), else None.

        `endpoint` is a route name or template, or several names of the same route; `path` the request path.
        """
        if not self._faults:
            return None
        wanted = set(kinds)
        names = [endpoint] if isinstance(endpoint, str) or endpoint is None else list(endpoint)
        names.append(path)
        with self._lock:
            for fault in self._faults.values():
                if fault.kind not in wanted or not fault.matches(service, names, tenant):
                    continue
                if fault.probability is not None:
                    # Seeded by the fault's definition and how often it was consulted: same spec, same sequence.
                    fault.draws += 1
                    draw = rng_for(
                        self._seed,
                        "fault",
                        fault.kind,
                        fault.service,
                        fault.endpoint,
                        fault.tenant,
                        fault.probability,
                        fault.draws,
                    ).random()
                    if draw >= fault.probability:
                        continue
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._faults[fault.id]
                break
            else:
                return None
        if fault.id in self._faults:
            self._state.save_fault(fault.id, fault.to_json())
        else:
            self._state.delete_fault(fault.id)
        return fault

    def take_for(self, scope: Scope, kinds: Iterable[str]) -> Fault | None:
        """`take()` for the request being served (service, route and tenant come from the service's scope info)."""
        info = scope.get("emulator")
        if info is None:
            return None
        return self.take(info.service, info.endpoint_names, info.tenant, kinds, path=scope.get("path"))


def retry_after_text(value: float | int | str) -> str:
    """Retry-After as Microsoft writes it: integer seconds, or a decimal such as `2.128`."""
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


ErrorPayload = Callable[[int, str | None], tuple[bytes, list[tuple[bytes, bytes]]]]
"""(status, retry-after text or None) -> (body, headers incl. content-type) in a service's own error shape."""


async def apply_transport_fault(
    fault: Fault,
    scope: Scope,
    receive: Receive,
    send: Send,
    call_app: Callable[[Scope, Receive, Send], Awaitable[None]],
    error_payload: ErrorPayload,
) -> None:
    """Serve one request with a transport fault applied."""
    kind, params = fault.kind, fault.params
    if kind in ("throttle", "http_error"):
        retry = retry_after_text(params["retry_after"]) if "retry_after" in params else None
        body, headers = error_payload(int(params["status"]), retry)
        if retry is not None:
            headers = [*headers, (b"retry-after", retry.encode())]
        await _send_whole(send, int(params["status"]), headers, body)
        return
    if kind == "slow":
        await asyncio.sleep(float(params["delay"]))
        await call_app(scope, receive, send)
        return
    status, headers, body = await _capture(scope, receive, call_app)
    plain = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"transfer-encoding")]
    if kind == "reset":
        cut = int(len(body) * float(params["fraction"]))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*plain, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body[:cut], "more_body": True})
        # Returning without finishing the body makes uvicorn close the connection mid-body.
        return
    if kind == "truncate":
        body = body[: int(len(body) * float(params["fraction"]))]
    elif kind == "malformed":
        body = _malform(body)
    await _send_whole(send, 200, plain, body)


def _malform(body: bytes) -> bytes:
    """Valid-looking but unparseable JSON: a bare word where the first value should be."""
    colon = body.find(b":")
    if colon < 0:
        return b'{"value": [' + body[:64]
    return body[: colon + 1] + b" undefined," + body[colon + 1 :]


async def _send_whole(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _capture(
    scope: Scope, receive: Receive, call_app: Callable[[Scope, Receive, Send], Awaitable[None]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured["status"] = message["status"]
            captured["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            captured["body"].append(message.get("body", b""))

    await call_app(scope, receive, capture)
    return captured["status"], captured["headers"], b"".join(captured["body"])


def mutate_body(fault: Fault, body: bytes) -> bytes:
    """A JSON response with some of its items changed, as a service might send them (the `mutate` fault).

    Params: `set` {path: value} and `remove` [path] — a path is keys and list indexes joined by dots
    (`evidence`, `averageComparativeScores.0.averageScore`); `raw` {path: JSON text} writes text that is not
    a JSON value (`NaN`, `Infinity`, `1e999`), which some services do emit; `items` how many items of the
    collection (`value` or `items`; default 1, or "all"); a body that is not a collection is one item.
    Bodies that are not JSON are left alone.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    collection = None
    if isinstance(document, dict):
        for key in ("value", "items"):
            if isinstance(document.get(key), list):
                collection = document[key]
                break
    targets = collection if collection is not None else [document]
    count = len(targets) if fault.params.get("items", 1) == "all" else int(fault.params.get("items", 1))
    raw: dict[str, str] = {}
    for index, item in enumerate(targets[:count]):
        for path, value in (fault.params.get("set") or {}).items():
            _set_path(item, path, value)
        for path in fault.params.get("remove") or []:
            _remove_path(item, path)
        for path, text in (fault.params.get("raw") or {}).items():
            marker = f"__emulator_raw_{index}_{len(raw)}__"
            _set_path(item, path, marker)
            raw[marker] = str(text)
    encoded = orjson.dumps(document)
    for marker, text in raw.items():
        encoded = encoded.replace(orjson.dumps(marker), text.encode())
    return encoded


def _walk(item: Any, path: str) -> tuple[Any, str | int] | None:
    parts = path.split(".")
    node = item
    for part in parts[:-1]:
        key: str | int = int(part) if isinstance(node, list) and part.isdigit() else part
        try:
            node = node[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    last = parts[-1]
    return node, int(last) if isinstance(node, list) and last.isdigit() else last


def _set_path(item: Any, path: str, value: Any) -> None:
    found = _walk(item, path)
    if found is None:
        return
    node, key = found
    if isinstance(node, dict) or (isinstance(node, list) and isinstance(key, int) and key < len(node)):
        node[key] = value


def _remove_path(item: Any, path: str) -> None:
    found = _walk(item, path)
    if found is None:
        return
    node, key = found
    if isinstance(node, dict):
        node.pop(key, None)
    elif isinstance(node, list) and isinstance(key, int) and key < len(node):
        del node[key]
