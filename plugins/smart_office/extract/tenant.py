"""Extract one customer tenant: token, one $batch for the first page of every endpoint, then the rest.

The rest is nextLinks, except for incidents, which Graph pages 50 at a time: their first page carries
`@odata.count`, and the pages it says remain are fetched together by `$skip`, twenty to a $batch, so a daily
run costs at most three round trips per tenant (token, first pages, remaining incidents) while its changed
incidents fit in 21 pages (1,050) and its changed alerts in one.

Every window ends at the run's point in time (`as_of`, the end of its data interval), so a run for a past
interval fetches what belonged to that interval (as far as the API keeps it) and no watermark ever moves
past it. Windows start:
- secureScores: first run all 90 days Graph keeps; later the days since the newest landed record (inclusive),
  `createdDateTime le as_of`, newest first as Graph returns them.
- secureScoreControlProfiles: the full catalogue (current state only; only changed profiles become new
  versions), read once a week (`CONTROL_PROFILES_EVERY`), not daily. They change rarely: the catalogue of
  controls changes when Microsoft adds or retires one, and a tenant's own changes (an admin marking a control
  resolved through a third party, or ignored) are carried inside each profile as `controlStateUpdates`, each
  with its own `updatedDateTime`, so a weekly read loses no state history (int_control_states_historized
  dates states by those times) and only sees a change up to a week later. What a tenant scores per control
  comes daily with its secureScore (`controlScores`). The profiles are also the bulk of a daily run's items
  (a couple of hundred per tenant, against a handful of new alerts). A week after the last complete read
  (`ops.watermarks.read_through` of `control_profiles`, written with the last page) they are read again; a
  read that fails is retried the next day. On the days between, the endpoint's outcome is
  `loaded`/`not_due`: nothing was asked, and the profiles read within the week are the current ones.
- alerts_v2 / incidents: first run all 180 days Defender keeps (`SMART_OFFICE_ALERTS_INITIAL_DAYS` takes less);
  later `lastUpdateDateTime gt (watermark - overlap)`; `lastUpdateDateTime le as_of` always. The watermark
  advances to the newest `lastUpdateDateTime` seen, in the transaction that lands the last page.
Beside the watermark, ops.watermarks keeps `read_through`: the newest point in time a run read the endpoint
completely to. A run whose interval ends before that (a backfill) reads from its interval's start instead. A
tenant last read longer ago than Microsoft keeps data (its access lapsed for longer than the retention) reads
what is kept, and its outcome says `history_gap`; a quiet tenant, whose watermark lags while it is read every
day, does not. The span each loaded endpoint covered is recorded (`window_from`/`window_to` in
ops.tenant_runs), so the marts know where each tenant's history is complete.

Per-endpoint failures become outcomes. Nothing here raises except a partner-level auth failure and a lost
warehouse connection (psycopg.OperationalError), after which the shard redoes the tenant on a new one.
Each endpoint of a tenant has a wall-clock limit (`ExtractionWindow.endpoint_time_limit`), retries and
paging included: past it, the endpoint's outcome is a `pagination_error` and the run goes on. All requests
of a tenant draw their waits-to-retry from one allowance (`tenant_retry_budget`), so a tenant whose Graph
keeps failing costs that allowance once, not once per endpoint and page.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from smart_office.auth.errors import AuthError
from smart_office.auth.exchange import TokenExchanger
from smart_office.extract.runs import FAILED, LOADED, NOT_DUE, PARTIAL, SKIPPED, TenantOutcome
from smart_office.graph.client import BatchRequest, GraphClient, RequestStats
from smart_office.graph.errors import GraphError, MalformedPageError
from smart_office.graph.rate_limits import SECURE_SCORE, SECURITY, Bucket, RetryAllowance
from smart_office.redaction import redact_text
from smart_office.warehouse.loader import LandResult, RawLoader

log = logging.getLogger(__name__)

SECURE_SCORE_DAYS = 90  # "By default, 90 days of data is held" (secureScore docs)
CONTROL_PROFILES_EVERY = timedelta(days=7)  # why weekly: the module docstring
ALERT_RETENTION = timedelta(days=180)  # Defender keeps alerts and incidents for 180 days
INCIDENTS_MAX_TOP = 50  # Graph answers 400 above this


class PartnerAuthFailure(RuntimeError):
    """The partner's own credentials failed: every tenant would fail, so the run stops here."""

    def __init__(self, error: AuthError) -> None:
        self.error = error
        super().__init__(f"partner-level authentication failure, stopping the run: {error}")


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One collection. `read_every`: read in full only this long after the last complete read (None: every
    run, incrementally by `watermark_field`). `read_ahead`: its first page asks `@odata.count`, and the pages
    that count says remain are fetched together by `$skip` (GraphClient.pages), for a collection whose small
    maximum page would otherwise cost a round trip per page."""

    name: str
    path: str
    entity: str
    bucket: Bucket
    watermark_field: str | None
    read_every: timedelta | None = None
    read_ahead: bool = False


ENDPOINTS: tuple[EndpointSpec, ...] = (
    EndpointSpec("secure_scores", "/security/secureScores", "secure_scores", SECURE_SCORE, "createdDateTime"),
    EndpointSpec(
        "control_profiles",
        "/security/secureScoreControlProfiles",
        "secure_score_control_profiles",
        SECURE_SCORE,
        None,
        read_every=CONTROL_PROFILES_EVERY,
    ),
    EndpointSpec("alerts_v2", "/security/alerts_v2", "alerts_v2", SECURITY, "lastUpdateDateTime"),
    # Graph pages incidents 50 at a time at most: a busy day is several pages, read ahead in one round trip.
    EndpointSpec(
        "incidents", "/security/incidents", "incidents", SECURITY, "lastUpdateDateTime", read_ahead=True
    ),
)


@dataclass(frozen=True, slots=True)
class ExtractionWindow:
    """Run-level parameters: `as_of` is the run's time from the task context, never the wall clock."""

    as_of: datetime
    alerts_overlap: timedelta
    alerts_initial: timedelta
    alerts_page_size: int
    interval_start: datetime | None = None
    endpoint_time_limit: timedelta = timedelta(minutes=30)
    tenant_retry_budget: timedelta = timedelta(minutes=5)


def odata_time(value: datetime) -> str:
    """A DateTimeOffset literal for $filter (UTC, no quotes, as Graph's examples write it)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class EndpointPlan:
    """What one endpoint of one tenant asks Graph for, and which span of history that answer covers.

    `covers` is (from, to] of source time the loaded endpoint then holds completely; None for an endpoint
    without history (control profiles), or for a past interval Microsoft no longer keeps at all. `gap` is a
    span of the tenant's history Microsoft no longer keeps, with why. `due` is False for an endpoint read in
    full recently enough (`EndpointSpec.read_every`): nothing is asked this run.
    """

    params: dict[str, str]
    covers: tuple[datetime, datetime] | None = None
    gap: tuple[datetime, datetime] | None = None
    gap_reason: str = ""
    due: bool = True


@dataclass(frozen=True, slots=True)
class ReadState:
    """Where one endpoint of one tenant stands: `watermark`, the newest change time Graph sent (None until it
    sent one); `read_through`, the newest point in time a run read it completely to (None before the first
    run that recorded it). A quiet customer's watermark lags; its read_through does not."""

    watermark: datetime | None = None
    read_through: datetime | None = None

    @property
    def reached(self) -> datetime | None:
        """How far the endpoint has been read (the read_through, or the watermark before it was recorded)."""
        return _later(self.watermark, self.read_through)


LAPSED = "access lapsed for longer than the retention"
TOO_OLD = "the interval is older than Microsoft keeps"


def _backfill_start(window: ExtractionWindow) -> datetime:
    return window.interval_start or window.as_of - timedelta(days=1)


def plan_endpoint(spec: EndpointSpec, state: ReadState | None, window: ExtractionWindow) -> EndpointPlan:
    """Query options for one endpoint given where it stands, bounded above by the run's point in time.

    Graph keeps a rolling retention measured from today, not from the run's point in time: for a past
    interval (a backfill: the endpoint was read beyond `as_of`) the oldest day still kept is measured from
    the newest point it was read to, the closest the warehouse knows to today.
    """
    state = state or ReadState()
    as_of = window.as_of
    if spec.read_every is not None:
        # Read in full; not again until `read_every` after the last complete read (a backfill behind that
        # read has nothing to add: the endpoint holds current state only). A run for the very point in time
        # of that read is the same run done again (a retried task, a tenant redone on a new connection): it
        # does the tenant's work again in full, as the first attempt did.
        last = state.read_through
        return EndpointPlan({}, due=last is None or last == as_of or as_of - last >= spec.read_every)
    reached = state.reached
    backfill = reached is not None and reached > as_of
    retention = timedelta(days=SECURE_SCORE_DAYS) if spec.name == "secure_scores" else ALERT_RETENTION
    floor = max(as_of, reached or as_of) - retention
    if spec.name == "secure_scores":
        if reached is None:
            lower = floor
        elif backfill:
            lower = _backfill_start(window)
        else:
            lower = state.watermark or reached
        days = max(1, min(SECURE_SCORE_DAYS, math.ceil((as_of - lower) / timedelta(days=1)) + 1))
        params = {"$filter": f"createdDateTime le {odata_time(as_of)}", "$top": str(days)}
        since = as_of - timedelta(days=days)
    elif spec.name in {"alerts_v2", "incidents"}:
        if reached is None:
            since = as_of - window.alerts_initial
        elif backfill:
            since = _backfill_start(window) - window.alerts_overlap
        else:
            # From the newest change Graph sent, less the overlap for late updates; a tenant that never
            # sent one continues from where it was read to.
            since = (state.watermark or reached) - window.alerts_overlap
        top = window.alerts_page_size if spec.name == "alerts_v2" else INCIDENTS_MAX_TOP
        params = {
            "$filter": f"lastUpdateDateTime gt {odata_time(since)} and lastUpdateDateTime le {odata_time(as_of)}",
            "$top": str(top),
        }
        if spec.read_ahead:
            params["$count"] = "true"
    else:
        return EndpointPlan({})
    if as_of <= floor:
        return EndpointPlan(params, None, (max(since, as_of - retention), as_of), TOO_OLD)
    gap = (reached, floor) if reached is not None and not backfill and reached < floor else None
    return EndpointPlan(params, (max(since, floor), as_of), gap, LAPSED if gap else "")


class TenantExtractor:
    """Extracts every endpoint of one tenant into the raw tables.

    :param graph: shared GraphClient.
    :param exchanger: the Secure Application Model token exchanger.
    :param conn: an autocommit async connection owned by this tenant's task for its duration.
    :param run_id: the run.
    :param window: the run's incremental parameters.
    :param endpoints: which endpoints to extract (default: all).
    """

    def __init__(
        self,
        graph: GraphClient,
        exchanger: TokenExchanger,
        conn: psycopg.AsyncConnection,
        run_id: str,
        window: ExtractionWindow,
        endpoints: tuple[EndpointSpec, ...] = ENDPOINTS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.graph = graph
        self.exchanger = exchanger
        self.conn = conn
        self.loader = RawLoader(conn, run_id)
        self.window = window
        self.endpoints = endpoints
        self._clock = clock  # wall time, only for durations in ops.tenant_runs

    async def extract(self, tenant_id: str) -> list[TenantOutcome]:
        started = self._clock()
        try:
            await self.exchanger.aget_token(tenant_id, self.graph.cloud.graph_scope)
        except AuthError as error:
            if self.exchanger.is_partner_failure(error):
                raise PartnerAuthFailure(error) from None
            return [
                TenantOutcome(
                    tenant_id,
                    "token",
                    FAILED,
                    error.state.value,
                    started,
                    self._clock(),
                    requests=1,
                    error=f"AADSTS{error.code}" if error.code else error.state.value,
                )
            ]
        outcomes = [TenantOutcome(tenant_id, "token", LOADED, "ok", started, self._clock(), requests=1)]
        states = await self._read_states(tenant_id)
        plans = {
            spec.name: plan_endpoint(spec, states.get(spec.name), self.window) for spec in self.endpoints
        }
        params = {name: plan.params for name, plan in plans.items()}
        due = tuple(spec for spec in self.endpoints if plans[spec.name].due)
        # The one $batch round trip is booked to the first endpoint in it, so requests per tenant add up;
        # what happened to each sub-request (throttling, retries) is booked to its own endpoint.
        stats = {spec.name: RequestStats() for spec in self.endpoints}
        allowance = RetryAllowance(self.window.tenant_retry_budget.total_seconds())
        deadline = self._deadline()
        batch_started = self._clock()
        first_pages: dict[str, Any] = {}
        try:
            if due:
                first_pages = await self.graph.batch(
                    tenant_id,
                    [
                        BatchRequest(
                            spec.name, _relative(self.graph, spec.path, params[spec.name]), spec.bucket
                        )
                        for spec in due
                    ],
                    stats=stats[due[0].name],
                    item_stats=stats,
                    deadline=deadline,
                    allowance=allowance,
                )
        except AuthError as error:
            if self.exchanger.is_partner_failure(error):
                raise PartnerAuthFailure(error) from None
            return [*outcomes, *self._all_failed(tenant_id, error.state.value, batch_started, str(error))]
        except MalformedPageError as error:
            # Keep what came back, then fetch each collection on its own: one bad round trip must not
            # cost the tenant its data.
            await self.loader.quarantine("/$batch", tenant_id, "malformed_page", str(error), error.raw)
        except GraphError as error:
            log.info("$batch for %s failed (%s); fetching each collection separately", tenant_id, error.state)
        for spec in self.endpoints:
            if not plans[spec.name].due:
                now = self._clock()
                outcomes.append(TenantOutcome(tenant_id, spec.name, LOADED, NOT_DUE, now, now))
                continue
            first = spec is due[0]
            response = first_pages.get(spec.name)
            outcomes.append(
                await self._endpoint(
                    tenant_id,
                    spec,
                    params[spec.name],
                    response.status if response else None,
                    response.body if response else None,
                    stats[spec.name],
                    plans[spec.name],
                    response.salvaged if response else False,
                    batch_started if first else self._clock(),
                    # Each endpoint has its own limit; the first one's began with the $batch.
                    deadline=deadline if first else self._deadline(),
                    allowance=allowance,
                )
            )
        return outcomes

    def _deadline(self) -> float:
        return time.monotonic() + self.window.endpoint_time_limit.total_seconds()

    def _all_failed(self, tenant_id: str, state: str, started: datetime, error: str) -> list[TenantOutcome]:
        return failed_outcomes(tenant_id, self.endpoints, state, started, error, finished=self._clock())

    async def _endpoint(
        self,
        tenant_id: str,
        spec: EndpointSpec,
        params: dict[str, str],
        status: int | None,
        body: Any,
        stats: RequestStats,
        plan: EndpointPlan,
        salvaged: bool,
        started: datetime,
        *,
        deadline: float,
        allowance: RetryAllowance,
    ) -> TenantOutcome:
        """Land one collection; `status`/`body` are its first page from $batch, or None to fetch it here."""
        outcome = TenantOutcome(tenant_id, spec.name, LOADED, "ok", started, started)
        totals = LandResult()
        try:
            if status is not None and status != 200:
                return self._finish(outcome, stats, totals, _batch_failure(status, body, spec.name))
            async for page in self.graph.pages(
                tenant_id,
                spec.path,
                params=params,
                bucket=spec.bucket,
                stats=stats,
                first_page=body,
                first_page_salvaged=salvaged,
                deadline=deadline,
                allowance=allowance,
                read_ahead=spec.read_ahead,
            ):
                last = page.next_link is None
                page_max = _max_time(page.items, spec.watermark_field) if spec.watermark_field else None
                # Never past the run's point in time, whatever the source sent.
                candidate = _earlier(_later(totals.max_updated_at, page_max), self.window.as_of)
                incremental = last and spec.watermark_field is not None
                # A collection read in full on a schedule records when, with its last page.
                read_in_full = last and spec.read_every is not None
                result = await self.loader.land(
                    spec.entity,
                    tenant_id,
                    page.items,
                    endpoint=spec.path,
                    # (Its watermark stays empty: only when it was read matters.)
                    watermark=(spec.name, candidate)
                    if incremental
                    else (spec.name, None)
                    if read_in_full
                    else None,
                    read_through=(
                        self.window.as_of
                        if (incremental and plan.covers is not None) or read_in_full
                        else None
                    ),
                    hold_before=totals.hold_before,
                    lenient=page.salvaged,
                )
                totals.add(result)
        except MalformedPageError as error:
            await self.loader.quarantine(spec.path, tenant_id, "malformed_page", str(error), error.raw)
            totals.quarantined += 1
            return self._finish(
                outcome, stats, totals, (PARTIAL if totals.received else FAILED, error.state, str(error))
            )
        except GraphError as error:
            return self._finish(
                outcome, stats, totals, (PARTIAL if totals.received else FAILED, error.state, str(error))
            )
        except psycopg.OperationalError:
            raise  # the connection is gone: the shard reconnects and redoes the tenant
        except psycopg.Error as error:
            # PostgreSQL refused this tenant's data (the transaction was rolled back): that endpoint's
            # failure, reported by the run; the connection stays usable for the next one.
            return self._finish(
                outcome, stats, totals, (FAILED, "warehouse_error", f"{type(error).__name__}: {error}")
            )
        if plan.covers is not None:
            outcome.window_from, outcome.window_to = plan.covers
        if plan.gap is not None:
            outcome.state = "history_gap"
            outcome.error = (
                f"history from {plan.gap[0]:%Y-%m-%d %H:%M} to {plan.gap[1]:%Y-%m-%d %H:%M} UTC is no longer "
                f"kept by Microsoft ({plan.gap_reason})"
            )
        return self._finish(outcome, stats, totals, None)

    def _finish(
        self,
        outcome: TenantOutcome,
        stats: RequestStats,
        totals: LandResult,
        failure: tuple[str, str, str] | None,
    ) -> TenantOutcome:
        outcome.finished_at = self._clock()
        outcome.rows_received = totals.received
        outcome.rows_new = totals.new
        outcome.quarantined = totals.quarantined
        outcome.repaired = totals.repaired
        outcome.pages = stats.pages
        outcome.requests = stats.requests
        outcome.throttled = stats.throttled
        outcome.retries = stats.retries
        if failure is not None:
            outcome.outcome, outcome.state, error = failure
            outcome.error = redact_text(error)[:500]
        elif outcome.state != "ok":
            pass  # history_gap: the endpoint loaded, and its history has a hole before this run
        elif totals.quarantined:
            outcome.state = "quarantined_items"
        elif totals.repaired:
            outcome.state = "repaired_items"
        return outcome

    async def _read_states(self, tenant_id: str) -> dict[str, ReadState]:
        cur = await self.conn.execute(
            "select endpoint, watermark, read_through from ops.watermarks where tenant_id = %s", (tenant_id,)
        )
        return {
            endpoint: ReadState(watermark, read_through)
            for endpoint, watermark, read_through in await cur.fetchall()
        }


def failed_outcomes(
    tenant_id: str,
    endpoints: tuple[EndpointSpec, ...],
    state: str,
    started: datetime,
    error: str,
    *,
    finished: datetime | None = None,
) -> list[TenantOutcome]:
    """One failed outcome per endpoint: a tenant whose unit of work could not be done at all."""
    finished = finished or datetime.now(UTC)
    text = redact_text(error)[:500]
    return [
        TenantOutcome(tenant_id, spec.name, FAILED, state, started, finished, error=text)
        for spec in endpoints
    ]


def _batch_failure(status: int, body: Any, endpoint: str) -> tuple[str, str, str]:
    code = message = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code, message = body["error"].get("code"), body["error"].get("message")
    text = f"{endpoint}: HTTP {status} {code or ''} {message or ''}".strip()
    if status == 403:
        # Not licensed for the product, or the GDAP roles do not cover it: a fact about the tenant.
        return SKIPPED, "forbidden", text
    state = {400: "bad_request", 401: "unauthorized", 404: "not_found", 429: "throttled"}.get(
        status, "transient" if status >= 500 else "graph_error"
    )
    return FAILED, state, text


def _relative(graph: GraphClient, path: str, params: dict[str, str]) -> str:
    """A $batch url: the absolute URL minus the /v1.0 base."""
    return graph.url(path, params)[len(graph.cloud.graph_base) :]


def _max_time(items: list[Any], field: str | None) -> datetime | None:
    latest: datetime | None = None
    for item in items:
        value = item.get(field) if isinstance(item, dict) and field else None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            if parsed.tzinfo is not None and (latest is None or parsed > latest):
                latest = parsed
    return latest


def _earlier(a: datetime | None, b: datetime) -> datetime | None:
    return None if a is None else min(a, b)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
