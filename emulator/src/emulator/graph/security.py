"""Graph v1.0 `/security`: secureScores, secureScoreControlProfiles, alerts_v2 (+ /{id}), incidents (+ /{id}).

Who may read what (the tenant is the token's `tid`; a token for customer T reads T's data):
- permissions per route: secureScores and profiles `SecurityEvents.Read.All` (or ReadWrite), alerts_v2
  `SecurityAlert.Read.All` (or ReadWrite), incidents `SecurityIncident.Read.All` (or ReadWrite) — else the
  service's 403 Authorization_RequestDenied;
- a delegated (partner user) token also needs a security-reading GDAP role in the customer tenant
  (`Customer.can_read_security`), else 403 Authorization_RequestDenied; in a direct tenant (not a CSP
  customer) a delegated token is the tenant's own admin's, and its permissions are what that admin consented;
- a tenant without a Defender licence (`baked_fault == "no_security_license"`) gets 403 on alerts_v2 and
  incidents only (Secure Score needs no Defender licence). The body is `code: "Forbidden"`, deliberately not
  Authorization_RequestDenied: agit8or1/clientst0r#143 (2026-07) reports that alerts_v2 answers 403 for a
  tenant not onboarded/licensed for Defender and that its body differs from the permission denial. The message
  text is our inference (no captured body).
- the partner's own tenant has no customer data here: its collections are empty.

Paging (FACTS.md §2): alerts_v2 and incidents page with `@odata.nextLink` = the request's own query plus a
`$skiptoken` holding the data layer's cursor (`encode_cursor`), so pages stay exact while alerts change.
alerts_v2's default and maximum `$top` are undocumented; we use 2,000 for both: ASP.NET OData services usually
set PageSize = MaxTop, the incidents backend does exactly that at 50 (captured 400), and Elastic's connector
ran alerts_v2 with `$top=2000` before lowering it for unrelated reasons (elastic/integrations#20348) — so 2,000
is accepted at Microsoft, and a page above it is refused with the incidents' wording. incidents: default and
maximum 50, `$top` > 50 → exactly the captured 400. secureScores: every record (≤ 90, newest first) unless
`$top`/`$skip` limit them — `$top` is a limit there, not a page size ("$top will return the aggregated top
results", and the docs' `?$top=1` response has no nextLink), so a client asking for n days gets n days.
secureScoreControlProfiles: every control in one response, as documented ("By default, it returns all controls
for a tenant", securescorecontrolprofile.md; FACTS.md §2), with `$top`/`$skip` limits as for secureScores (same
"aggregated top results" wording). No page size is documented for it, so none is invented here; the paging
faults (`empty_page`, `nextlink_loop`) still make clients follow a nextLink on it.

Responses are assembled from the data layer's cached bytes (`b"".join`); nothing is JSON-encoded per item
on the hot path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, overload

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext, request_info
from emulator.data.alert_catalogue import SEVERITIES
from emulator.data.alerts import (
    AlertFilter,
    AlertState,
    alert_json,
    alerts_as_of,
    decode_cursor,
    encode_cursor,
    find_alert,
)
from emulator.data.incidents import (
    IncidentFilter,
    IncidentState,
    find_incident,
    incident_json,
    incidents_as_of,
)
from emulator.data.lru import WeightedLRU
from emulator.data.portfolio import Customer
from emulator.data.profiles import control_profile_items, control_profiles, updates_listed
from emulator.data.securescore import record_created_us, record_days, secure_score_record_json
from emulator.data.timestamps import from_us, to_us
from emulator.faults import Scope, Send
from emulator.fidelity import SchemaRegistry, prefers_unknown_enum_members
from emulator.graph.app import graph_claims, graph_date, graph_error, graph_tenant, odata_context
from emulator.graph.odata import (
    QueryError,
    QueryOptions,
    collection_body,
    collection_of,
    compile_filter,
    filter_schema,
    parse_filter,
    parse_options,
    strip_variant,
    time_window,
    top_exceeded,
    variant_of,
    with_variant,
)
from emulator.graph.paging import (
    context_of,
    link_to,
    loop_link,
    odata_response,
    offset_collection,
    read_only,
    take_page_fault,
)
from emulator.graph.throttling import throttled, throttling_for

SECURE_SCORE_PERMISSIONS = ("SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All")
ALERT_PERMISSIONS = ("SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All")
INCIDENT_PERMISSIONS = ("SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All")

ALERTS_DEFAULT_TOP = 2000
ALERTS_MAX_TOP = 2000
INCIDENTS_MAX_TOP = 50  # examples/graph_v1_error_400_top_exceeded_incidents.json
_INCLUDE_UNKNOWN = "include-unknown-enum-members"
_START = (2**62, "")  # a cursor before every alert/incident: "from the top"

_MODEL = SchemaRegistry.load().model
ALERT_FILTER = filter_schema(
    _MODEL,
    "microsoft.graph.security.alert",
    (
        "assignedTo",
        "classification",
        "determination",
        "createdDateTime",
        "lastUpdateDateTime",
        "severity",
        "serviceSource",
        "status",
    ),
)
INCIDENT_FILTER = filter_schema(
    _MODEL,
    "microsoft.graph.security.incident",
    (
        "assignedTo",
        "classification",
        "createdDateTime",
        "determination",
        "lastUpdateDateTime",
        "severity",
        "status",
    ),
)
SCORE_FILTER = filter_schema(_MODEL, "microsoft.graph.secureScore", ("createdDateTime", "azureTenantId"))
PROFILE_FILTER = filter_schema(
    _MODEL,
    "microsoft.graph.secureScoreControlProfile",
    ("azureTenantId", "controlCategory", "service", "tier", "deprecated", "actionType"),
)

_ALERT_GETTERS: dict[str, Callable[[AlertState], Any]] = {
    "assignedTo": lambda s: s.assigned_to,
    "classification": lambda s: s.classification,
    "determination": lambda s: s.determination,
    "createdDateTime": lambda s: s.skeleton.created_us * 10,
    "lastUpdateDateTime": lambda s: s.last_update_us * 10,
    "severity": lambda s: SEVERITIES[s.skeleton.severity],
    "serviceSource": lambda s: s.skeleton.source,  # filters compare true values, never unknownFutureValue
    "status": lambda s: s.status,
}
_INCIDENT_GETTERS: dict[str, Callable[[IncidentState], Any]] = {
    "assignedTo": lambda s: s.assigned_to,
    "classification": lambda s: s.classification,
    "determination": lambda s: s.determination,
    "createdDateTime": lambda s: s.skeleton.created_us * 10,
    "lastUpdateDateTime": lambda s: s.last_update_us * 10,
    "severity": lambda s: SEVERITIES[s.severity],
    "status": lambda s: s.status,
}


# -- errors ---------------------------------------------------------------------------------------------
def query_error(request: Request, error: QueryError) -> Response:
    """400 in the security API's shape (code "", details [] — as the captured incidents `$top` body)."""
    info = request_info(request)
    ctx = context_of(request)
    body = {
        "error": {
            "code": "",
            "message": f"The query specified in the URI is not valid. {error.message}",
            "details": [],
            "innerError": {
                "date": graph_date(ctx),
                "request-id": info.request_id,
                "client-request-id": info.client_request_id or info.request_id,
            },
        }
    }
    return Response(orjson.dumps(body), status_code=400, media_type="application/json")


def _denied(request: Request) -> Response:
    return graph_error(
        request, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def _unlicensed(request: Request) -> Response:
    return graph_error(
        request,
        403,
        "Forbidden",
        "The tenant is not provisioned for Microsoft Defender XDR: no active license includes it.",
    )


def _not_found(request: Request, what: str, key: str) -> Response:
    return graph_error(request, 404, "NotFound", f"The {what} with id '{key}' was not found.")


# -- access and throttling ------------------------------------------------------------------------------
def _customer(request: Request) -> Customer | None:
    return graph_tenant(request).customer


def _check_access(request: Request, *, needs_defender: bool) -> Response | None:
    """403 when the partner user's GDAP roles do not cover security data, or Defender is not licensed."""
    customer = _customer(request)
    if customer is None:
        return None
    now = context_of(request).clock.now()
    # A direct tenant's delegated tokens are its own admin's (its own consent), not the partner's GDAP access.
    if "scp" in graph_claims(request) and not customer.is_direct and not customer.can_read_security(now):
        return _denied(request)
    if needs_defender and customer.baked_fault == "no_security_license":
        return _unlicensed(request)
    return None


def _throttle_key(request: Request) -> tuple[str, str]:
    claims = graph_claims(request)
    return claims.get("appid", ""), claims["tid"]


def _security_rate(request: Request) -> Response | None:
    """The 150-per-minute security limit (alerts, incidents, secureScores)."""
    wait = throttling_for(context_of(request)).security.admit(_throttle_key(request))
    return None if wait is None else throttled(request, wait)


def _include_unknown(request: Request) -> bool:
    return prefers_unknown_enum_members(request.headers.getlist("prefer"))


def _enum_headers(include_unknown: bool) -> dict[str, str]:
    return {"Preference-Applied": _INCLUDE_UNKNOWN} if include_unknown else {}


def _options(request: Request, allowed: tuple[str, ...]) -> QueryOptions:
    return parse_options(request.query_params.multi_items(), allowed)


def _now(request: Request) -> datetime:
    return context_of(request).clock.now()


# -- secure scores ---------------------------------------------------------------------------------------
class _ScoreRecords(Sequence[bytes]):
    """A tenant's secure-score records for the listed days, rendered only when a page takes them: a daily
    `$top=2` read renders two records, not the 90 the history holds."""

    def __init__(self, customer: Customer, days: list[int]) -> None:
        self._customer = customer
        self._days = days

    def __len__(self) -> int:
        return len(self._days)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self._record(day) for day in self._days[index]]
        return self._record(self._days[index])

    def _record(self, day: int) -> bytes:
        record = secure_score_record_json(self._customer, day)
        assert record is not None, "record_days lists only days that have a record"
        return record


class GatedResponse(Response):
    """A response that holds a secure-score concurrency slot until its body has been handed to the server."""

    def __init__(self, inner: Response, release: Callable[[], None]) -> None:
        self.__dict__.update(inner.__dict__)
        self._release = release

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _gated(request: Request, serve: Callable[[], Response], *, rate_limited: bool) -> Response:
    """Apply the secure-score limits (volume, concurrency, and for secureScores the 150/min) around `serve`."""
    limits = throttling_for(context_of(request))
    key = _throttle_key(request)
    if rate_limited and (refused := _security_rate(request)) is not None:
        return refused
    if not limits.secure_score_concurrency.acquire(key):
        return throttled(request, limits.settings.graph_concurrency_retry_after_seconds)
    wait = limits.secure_score_volume.admit(key)
    if wait is not None:
        limits.secure_score_concurrency.release(key)
        return throttled(request, wait)
    try:
        latency = limits.settings.graph_secure_score_latency_seconds
        if latency > 0:
            await asyncio.sleep(latency)  # the backend's own time, spent holding the slot
        response = serve()
    except BaseException:
        limits.secure_score_concurrency.release(key)
        raise
    return GatedResponse(response, lambda: limits.secure_score_concurrency.release(key))


async def list_secure_scores(request: Request) -> Response:
    return await _gated(request, lambda: _secure_scores(request), rate_limited=True)


def _secure_scores(request: Request) -> Response:
    if (refused := _check_access(request, needs_defender=False)) is not None:
        return refused
    ctx = context_of(request)
    try:
        options = _options(request, ("$top", "$skip", "$count", "$filter"))
        records: Sequence[bytes] = []
        customer = _customer(request)
        if customer is not None:
            days = record_days(customer, ctx.clock.now())
            if options.filter:
                keep = compile_filter(parse_filter(options.filter, SCORE_FILTER), _score_getters())
                tenant = customer.tenant_id
                days = [d for d in days if keep((record_created_us(customer, d) * 10, tenant))]
            records = _ScoreRecords(customer, days)
        body = offset_collection(
            request,
            context=odata_context(ctx, "security/secureScores"),
            items=records,
            options=options,
            page_size=None,
        )
    except QueryError as error:
        return query_error(request, error)
    return odata_response(body)


def _score_getters() -> dict[str, Callable[[tuple[int, str]], Any]]:
    return {"createdDateTime": lambda f: f[0], "azureTenantId": lambda f: f[1]}


# -- control profiles -----------------------------------------------------------------------------------
# (tenant, anchor, updates listed) -> one serialised profile per control: a tenant's profiles change only when a
# controlStateUpdate becomes listed, which is rare, so a new day's reads find them cached.
_PROFILES: WeightedLRU[list[bytes]] = WeightedLRU(48_000_000, lambda items: sum(len(b) for b in items))


def _profiles(customer: Customer, now: datetime) -> list[bytes]:
    key = (customer.tenant_id, customer.anchor, updates_listed(customer, now))
    found = _PROFILES.get(key)
    if found is None:
        found = _PROFILES.put(key, control_profile_items(customer, now))
    return found


async def list_control_profiles(request: Request) -> Response:
    return await _gated(request, lambda: _control_profiles(request), rate_limited=False)


def _control_profiles(request: Request) -> Response:
    if (refused := _check_access(request, needs_defender=False)) is not None:
        return refused
    ctx = context_of(request)
    try:
        options = _options(request, ("$top", "$skip", "$count", "$filter"))
        items: list[bytes] = []
        customer = _customer(request)
        if customer is not None:
            now = ctx.clock.now()
            items = _profiles(customer, now)
            if options.filter:
                dicts = control_profiles(customer, now)  # $filter is rare here: dicts only when asked
                keep = compile_filter(
                    parse_filter(options.filter, PROFILE_FILTER),
                    {
                        path: (lambda p, k=path: p.get(k))
                        for path in (f.path for f in PROFILE_FILTER.fields.values())
                    },
                )
                items = [b for d, b in zip(dicts, items, strict=True) if keep(d)]
        body = offset_collection(
            request,
            context=odata_context(ctx, "security/secureScoreControlProfiles"),
            items=items,
            options=options,
            page_size=None,
        )
    except QueryError as error:
        return query_error(request, error)
    return odata_response(body)


# -- alerts and incidents: shared pieces ----------------------------------------------------------------
def _window(node: Any, path: str = "createdDateTime") -> tuple[datetime | None, datetime | None]:
    """Bounds on a time field (µs, widened to whole microseconds) implied by the filter, for pruning days."""
    low, high = time_window(node, path)
    return (
        from_us(-(-low // 10)) if low is not None else None,
        from_us(high // 10) if high is not None else None,
    )


def _cursor(options: QueryOptions) -> tuple[int, str] | None:
    if not options.skiptoken:
        return None
    cursor = decode_cursor(strip_variant(options.skiptoken))
    if cursor is None:
        raise QueryError("The $skiptoken value is not valid.")
    return cursor


_COUNTS: dict[tuple[Any, ...], int] = {}


def _count(key: tuple[Any, ...], compute: Callable[[], int]) -> int:
    """`@odata.count`, computed once per (tenant, clock, filter): the clock only moves through the admin API."""
    found = _COUNTS.get(key)
    if found is None:
        if len(_COUNTS) > 4096:
            _COUNTS.clear()
        found = _COUNTS[key] = compute()
    return found


def _take(states: Any, skip: int, top: int) -> tuple[list[Any], bool]:
    """Up to `top` states after skipping `skip`, and whether more follow."""
    items: list[Any] = []
    for state in states:
        if skip:
            skip -= 1
            continue
        if len(items) == top:
            return items, True
        items.append(state)
    return items, False


def _resume_before(created_us: int, item_id: str) -> str:
    """A cursor that resumes with this item (the listing is (created, id) descending; id + NUL sorts just above)."""
    return encode_cursor((created_us, item_id + "\x00"))


def _list_links(
    request: Request, options: QueryOptions, items: list[Any], more: bool, fault: str | None
) -> tuple[str | None, bool]:
    """(nextLink, serve an empty page instead) for a cursor-paged page, with data-level faults applied."""
    if fault == "empty_page" and items:
        first = items[0].skeleton
        # Resume with this page's first item, spelt anew each time: repeated empty pages must never hand out
        # the URL they were served from.
        token = with_variant(_resume_before(first.created_us, first.id), variant_of(options.skiptoken) + 1)
        return link_to(request, token), True
    link = None
    if more:
        last = items[-1].skeleton
        link = link_to(request, encode_cursor((last.created_us, last.id)))
    if fault == "nextlink_loop":
        link = loop_link(request)
    return link, False


def _nul_ids(request: Request, ids: list[str]) -> frozenset[str]:
    """Alerts whose strings carry U+0000 (the `nul_strings` fault; `params.alerts` of them, default 1)."""
    ctx = context_of(request)
    if not ids or not ctx.faults.active:
        return frozenset()
    fault = ctx.faults.take_for(request.scope, {"nul_strings"})
    if fault is None:
        return frozenset()
    share = fault.params.get("alerts", 1)
    n = len(ids) if share == "all" else max(1, int(share))
    return frozenset(ids[:n])


# -- alerts_v2 ------------------------------------------------------------------------------------------
def _alert_filter(options: QueryOptions) -> AlertFilter | None:
    if not options.filter:
        return None
    node = parse_filter(options.filter, ALERT_FILTER)
    low, high = _window(node)
    # The same condition as the predicate's, given to the data layer so it skips days that cannot match.
    since, until = _window(node, "lastUpdateDateTime")
    return AlertFilter(
        created_ge=low,
        created_le=high,
        updated_ge=since,
        updated_le=until,
        predicate=compile_filter(node, _ALERT_GETTERS),
    )


async def list_alerts(request: Request) -> Response:
    if (refused := _security_rate(request)) is not None:
        return refused
    if (refused := _check_access(request, needs_defender=True)) is not None:
        return refused
    ctx = context_of(request)
    include_unknown = _include_unknown(request)
    try:
        options = _options(request, ("$top", "$skip", "$count", "$filter"))
        top = ALERTS_DEFAULT_TOP if options.top is None else options.top
        if top > ALERTS_MAX_TOP:
            raise top_exceeded(ALERTS_MAX_TOP, top)
        flt = _alert_filter(options)
        after = _cursor(options)
    except QueryError as error:
        return query_error(request, error)
    context = odata_context(ctx, "security/alerts_v2")
    customer = _customer(request)
    if customer is None:
        return odata_response(collection_body(context, b"[]", count=0 if options.count else None))
    now = ctx.clock.now()
    skip = 0 if after is not None else (options.skip or 0)
    items, more = _take(alerts_as_of(customer, now, flt, after or _START), skip, top)
    count = None
    if options.count:
        key = ("alerts", customer.tenant_id, customer.anchor, to_us(now), options.filter)
        count = _count(key, lambda: sum(1 for _ in alerts_as_of(customer, now, flt)))
    link, empty = _list_links(request, options, items, more and top > 0, take_page_fault(request))
    if empty:
        items = []
    nul = _nul_ids(request, [s.skeleton.id for s in items])
    body = collection_of(
        context,
        (alert_json(customer, s, include_unknown, s.skeleton.id in nul) for s in items),
        count=count,
        next_link=link,
    )
    return odata_response(body, headers=_enum_headers(include_unknown))


async def get_alert(request: Request) -> Response:
    if (refused := _security_rate(request)) is not None:
        return refused
    if (refused := _check_access(request, needs_defender=True)) is not None:
        return refused
    ctx = context_of(request)
    alert_id = request.path_params["alert_id"]
    customer = _customer(request)
    state = find_alert(customer, alert_id, ctx.clock.now()) if customer is not None else None
    if customer is None or state is None:
        return _not_found(request, "alert", alert_id)
    include_unknown = _include_unknown(request)
    nul = _nul_ids(request, [alert_id])
    entity = alert_json(customer, state, include_unknown, alert_id in nul)
    head = orjson.dumps({"@odata.context": odata_context(ctx, "security/alerts_v2/$entity")})
    return odata_response(head[:-1] + b"," + entity[1:], headers=_enum_headers(include_unknown))


# -- incidents ------------------------------------------------------------------------------------------
def _incident_filter(options: QueryOptions) -> IncidentFilter | None:
    if not options.filter:
        return None
    node = parse_filter(options.filter, INCIDENT_FILTER)
    low, high = _window(node)
    since, until = _window(node, "lastUpdateDateTime")
    return IncidentFilter(
        created_ge=low,
        created_le=high,
        updated_ge=since,
        updated_le=until,
        predicate=compile_filter(node, _INCIDENT_GETTERS),
    )


def _expand_alerts(options: QueryOptions) -> bool:
    if options.expand is None:
        return False
    names = [n.strip() for n in options.expand.split(",") if n.strip()]
    for name in names:
        if name.lower() != "alerts":
            raise QueryError(
                f"Could not find a property named '{name}' on type 'microsoft.graph.security.incident'."
            )
    return bool(names)


async def list_incidents(request: Request) -> Response:
    if (refused := _security_rate(request)) is not None:
        return refused
    if (refused := _check_access(request, needs_defender=True)) is not None:
        return refused
    ctx = context_of(request)
    include_unknown = _include_unknown(request)
    try:
        options = _options(request, ("$top", "$skip", "$count", "$filter", "$expand"))
        top = INCIDENTS_MAX_TOP if options.top is None else options.top
        if top > INCIDENTS_MAX_TOP:
            raise top_exceeded(INCIDENTS_MAX_TOP, top)
        expand = _expand_alerts(options)
        flt = _incident_filter(options)
        after = _cursor(options)
    except QueryError as error:
        return query_error(request, error)
    context = odata_context(ctx, "security/incidents(alerts())" if expand else "security/incidents")
    customer = _customer(request)
    if customer is None:
        return odata_response(collection_body(context, b"[]", count=0 if options.count else None))
    now = ctx.clock.now()
    skip = 0 if after is not None else (options.skip or 0)
    items, more = _take(incidents_as_of(customer, now, flt, after or _START), skip, top)
    count = None
    if options.count:
        key = ("incidents", customer.tenant_id, customer.anchor, to_us(now), options.filter)
        count = _count(key, lambda: sum(1 for _ in incidents_as_of(customer, now, flt)))
    link, empty = _list_links(request, options, items, more and top > 0, take_page_fault(request))
    if empty:
        items = []
    nul = _nul_ids(request, [a.skeleton.id for s in items for a in s.alerts]) if expand else frozenset()
    body = collection_of(
        context,
        (incident_json(customer, s, include_unknown, expand, nul) for s in items),
        count=count,
        next_link=link,
    )
    return odata_response(body, headers=_enum_headers(include_unknown))


async def get_incident(request: Request) -> Response:
    if (refused := _security_rate(request)) is not None:
        return refused
    if (refused := _check_access(request, needs_defender=True)) is not None:
        return refused
    ctx = context_of(request)
    incident_id = request.path_params["incident_id"]
    try:
        expand = _expand_alerts(_options(request, ("$expand",)))
    except QueryError as error:
        return query_error(request, error)
    customer = _customer(request)
    state = find_incident(customer, incident_id, ctx.clock.now()) if customer is not None else None
    if customer is None or state is None:
        return _not_found(request, "incident", incident_id)
    include_unknown = _include_unknown(request)
    nul = _nul_ids(request, [a.skeleton.id for a in state.alerts]) if expand else frozenset()
    entity = incident_json(customer, state, include_unknown, expand, nul)
    head = orjson.dumps({"@odata.context": odata_context(ctx, "security/incidents/$entity")})
    return odata_response(head[:-1] + b"," + entity[1:], headers=_enum_headers(include_unknown))


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    throttling_for(ctx)  # read the configured limits at start-up, so a bad setting fails the start
    return [
        *read_only(
            "/security/secureScores",
            list_secure_scores,
            name="security.secureScores",
            permissions=SECURE_SCORE_PERMISSIONS,
        ),
        *read_only(
            "/security/secureScoreControlProfiles",
            list_control_profiles,
            name="security.secureScoreControlProfiles",
            permissions=SECURE_SCORE_PERMISSIONS,
        ),
        *read_only(
            "/security/alerts_v2", list_alerts, name="security.alerts_v2", permissions=ALERT_PERMISSIONS
        ),
        *read_only(
            "/security/alerts_v2/{alert_id}",
            get_alert,
            name="security.alerts_v2.item",
            permissions=ALERT_PERMISSIONS,
        ),
        *read_only(
            "/security/incidents", list_incidents, name="security.incidents", permissions=INCIDENT_PERMISSIONS
        ),
        *read_only(
            "/security/incidents/{incident_id}",
            get_incident,
            name="security.incidents.item",
            permissions=INCIDENT_PERMISSIONS,
        ),
    ]
