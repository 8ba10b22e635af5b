"""A run's summary for a terminal: a few small tables whose numbers add up, read back from the ops tables.

`smart-office run` and the demo (`make demo`) print the same thing, so what one says the other does too.
Everything comes from what the run recorded (ops.runs, ops.tenant_runs, and the coverage rule's view
ops.run_coverage), never from a process's memory, so the summary of a run made by Airflow's workers is the
same as one made in-process.

What is counted, and how it adds up:
- customers: every customer in the run's snapshot, by access state; per state how many the run attempted
  (readable: delegated access to security data) and how many it loaded. The columns add up to the total row.
  Below the table, what the partner does about each state that keeps customers from being read (the warehouse's
  `ops.access_remedy`, which dim_customers carries too).
- entities: per Graph endpoint, the customers that read it this run, versions received, new versions,
  quarantined items, pages and requests; totals add up. Each customer's first pages travel together in one
  `$batch` round trip, which the pipeline books to the first endpoint read in it (extract/tenant.py): the
  `$batch` row takes it back from there (one per customer whose batch went out), so an endpoint's requests
  are its follow-up round trips. Those are one per page, except for incidents, whose pages after the first
  travel in `$batch`es of their own (read ahead, twenty pages to one): ops.tenant_runs does not tell those
  apart, so they stay on the incidents row, and the `$batch` row is the first pages' only. Token exchanges
  are identity requests, not an entity: they are counted apart, with the discovery's own requests (Partner
  Center, GDAP relationships). Not recorded per run, so not here: the partner token check before discovery,
  and OpenID discovery documents (cached across runs).
- durations: the whole run, from discovery to its close, and the extraction (first customer started to
  last finished).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from smart_office.extract.tenant import ENDPOINTS
from smart_office.warehouse.connection import WarehouseTarget, connect
from smart_office.wording import counted

TOKEN = "token"  # the ops.tenant_runs row of a customer's token exchange (an identity request)
BATCH = "$batch"


@dataclass(frozen=True)
class AccessLine:
    """Customers of one access state: in the snapshot, attempted (readable), loaded."""

    access_state: str
    customers: int
    attempted: int
    loaded: int
    remedy: str | None = None


@dataclass(frozen=True)
class EntityLine:
    """One Graph endpoint's (or the `$batch`'s) share of the run."""

    endpoint: str
    customers: int = 0
    received: int = 0
    new: int = 0
    quarantined: int = 0
    pages: int = 0
    requests: int = 0
    throttled: int = 0


@dataclass(frozen=True)
class RunSummary:
    """What a run did, as ops recorded it."""

    run_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    extraction_started_at: datetime | None
    extraction_finished_at: datetime | None
    access: list[AccessLine]
    not_loaded: dict[str, int]
    entities: list[EntityLine]
    token_requests: int
    discovery_requests: dict[str, int] = field(default_factory=dict)
    # Which customers the run was to read (ops.run_customers.is_extractable), and why not the others.
    in_scope: int = 0
    direct: int = 0
    out_of_scope: dict[str, int] = field(default_factory=dict)
    # The run's posture rules file, when it was rejected: its one-line error and the rules kept in force.
    rules_rejected: str | None = None
    rules_kept: int = 0

    @property
    def duration_s(self) -> float | None:
        return None if self.finished_at is None else (self.finished_at - self.started_at).total_seconds()

    @property
    def extraction_s(self) -> float | None:
        if self.extraction_started_at is None or self.extraction_finished_at is None:
            return None
        return (self.extraction_finished_at - self.extraction_started_at).total_seconds()

    def access_total(self) -> AccessLine:
        return AccessLine(
            "total",
            sum(a.customers for a in self.access),
            sum(a.attempted for a in self.access),
            sum(a.loaded for a in self.access),
        )

    def entity_total(self) -> EntityLine:
        return EntityLine(
            "total",
            received=sum(e.received for e in self.entities),
            new=sum(e.new for e in self.entities),
            quarantined=sum(e.quarantined for e in self.entities),
            pages=sum(e.pages for e in self.entities),
            requests=sum(e.requests for e in self.entities),
            throttled=sum(e.throttled for e in self.entities),
        )

    @property
    def graph_requests(self) -> int:
        return self.entity_total().requests

    @property
    def total_requests(self) -> int:
        return self.graph_requests + self.token_requests + sum(self.discovery_requests.values())


def _discovery_requests(sent: dict[str, Any]) -> dict[str, int]:
    """The discovery's round trips by service (`$batch` items travel inside Graph's and are not added)."""
    return {
        service: sum(int(n) for n in by_endpoint.values())
        for service, by_endpoint in sorted(sent.items())
        if service != "graph_batch_items" and isinstance(by_endpoint, dict)
    }


def read_run_summary(conn: psycopg.Connection, run_id: str | None = None) -> RunSummary | None:
    """The summary of `run_id`, or of the latest run; None if there is none."""
    row = conn.execute(
        """
        select run_id, status, started_at, finished_at, summary from ops.runs
        where run_id = %(run_id)s or %(run_id)s::text is null
        order by started_at desc limit 1
        """,
        {"run_id": run_id},
    ).fetchone()
    if row is None:
        return None
    run_id, status, started_at, finished_at, recorded = row
    access = [
        AccessLine(state, customers, attempted, loaded, remedy)
        for state, customers, attempted, loaded, remedy in conn.execute(
            """
            select coalesce(customers.access_state, 'not in the snapshot'), count(*),
                   count(*) filter (where coverage.outcome <> 'not_extractable'),
                   count(*) filter (where coverage.outcome = 'loaded'),
                   ops.access_remedy(customers.access_state)
            from ops.run_coverage as coverage
            left join ops.run_customers as customers using (run_id, tenant_id)
            where coverage.run_id = %s
            group by 1, 5 order by 2 desc, 1
            """,
            (run_id,),
        )
    ]
    not_loaded = dict(
        conn.execute(
            """
            select reason, count(*) from ops.run_coverage where run_id = %s and outcome = 'failed'
            group by reason order by 2 desc, 1
            """,
            (run_id,),
        ).fetchall()
    )
    order = [spec.name for spec in ENDPOINTS]
    # The first endpoint a customer read this run (in the $batch's order) carries that $batch round trip.
    rows = conn.execute(
        """
        with outcomes as (
            select tenant_id, endpoint, rows_received, rows_new, quarantined, pages, requests, throttled,
                   state <> 'not_due' as was_read,
                   row_number() over (
                       partition by tenant_id
                       order by state = 'not_due', array_position(%(order)s::text[], endpoint) nulls last
                   ) = 1 and state <> 'not_due' as is_first_read
            from ops.tenant_runs
            where run_id = %(run_id)s and endpoint <> %(token)s
        )
        select endpoint, count(*) filter (where was_read), sum(rows_received), sum(rows_new), sum(quarantined),
               sum(pages), sum(requests), sum(throttled),
               sum(least(requests, 1)) filter (where is_first_read)
        from outcomes group by endpoint
        """,
        {"run_id": run_id, "order": order, "token": TOKEN},
    ).fetchall()
    batches = sum(int(r[8] or 0) for r in rows)
    entities = [EntityLine(BATCH, customers=batches, requests=batches)] if batches else []
    for endpoint, customers, received, new, quarantined, pages, requests, throttled, batched in sorted(
        rows, key=lambda r: order.index(r[0]) if r[0] in order else len(order)
    ):
        entities.append(
            EntityLine(
                endpoint,
                customers=customers,
                received=int(received or 0),
                new=int(new or 0),
                quarantined=int(quarantined or 0),
                pages=int(pages or 0),
                requests=int(requests or 0) - int(batched or 0),
                throttled=int(throttled or 0),
            )
        )
    (token_requests,) = conn.execute(
        "select coalesce(sum(requests), 0) from ops.tenant_runs where run_id = %s and endpoint = %s",
        (run_id, TOKEN),
    ).fetchone()
    extraction = conn.execute(
        "select min(started_at), max(finished_at) from ops.tenant_runs where run_id = %s", (run_id,)
    ).fetchone()
    in_scope, direct, out_of_scope = read_scope(conn, run_id)
    discovery = (recorded or {}).get("discovery", {})
    rules = (recorded or {}).get("posture_rules", {})
    rejected = rules.get("error") if rules.get("status") == "rejected" else None
    return RunSummary(
        run_id=run_id,
        status=status,
        started_at=started_at,
        finished_at=finished_at if status != "running" else None,
        extraction_started_at=extraction[0],
        extraction_finished_at=extraction[1],
        access=access,
        not_loaded=not_loaded,
        entities=entities,
        token_requests=int(token_requests),
        discovery_requests=_discovery_requests(discovery.get("requests_sent", {})),
        in_scope=in_scope,
        direct=direct,
        out_of_scope=out_of_scope,
        rules_rejected=rejected,
        rules_kept=int(rules.get("rules", 0)) if rejected else 0,
    )


def read_scope(conn: psycopg.Connection, run_id: str) -> tuple[int, int, dict[str, int]]:
    """The run's customers in scope (the warehouse's rule), the direct tenants among them, and the others by
    why not (departed, excluded, not_in_pilot, or an access state such as gdap_pending)."""
    rows = conn.execute(
        """
        select not_extractable_reason, count(*), count(*) filter (where source = 'direct')
        from ops.run_customers where run_id = %s
        group by 1 order by 2 desc, 1
        """,
        (run_id,),
    ).fetchall()
    in_scope = sum(n for reason, n, _ in rows if reason is None)
    direct = sum(d for reason, _, d in rows if reason is None)
    return in_scope, direct, {reason: n for reason, n, _ in rows if reason is not None}


def scope_sentence(in_scope: int, direct: int, out_of_scope: dict[str, int]) -> str:
    """`in scope: 3 of 10 customers (1 direct); not read: 5 not_in_pilot, 2 excluded`."""
    total = in_scope + sum(out_of_scope.values())
    text = f"in scope: {in_scope:,} of {total:,} customers" + (f" ({direct:,} direct)" if direct else "")
    if out_of_scope:
        text += "; not read: " + ", ".join(f"{n:,} {reason}" for reason, n in out_of_scope.items())
    return text


def _n(value: int) -> str:
    return f"{value:,}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{value:.1f}s"


def render_run_summary(summary: RunSummary) -> list[Table | str]:
    """What to print, in order: the run and its timing (lines), customers and Graph (tables), requests (a line)."""
    # Lines, not a table: a run id (Airflow's are 70 characters) never wraps mid-timestamp or squeezes a column.
    run = f"run {summary.run_id}"
    timing = (
        f"{summary.status} in {_seconds(summary.duration_s)} (discovery to close); "
        f"extraction {_seconds(summary.extraction_s)}"
    )

    customers = Table(title="Customers by access")
    for column in ("access", "customers", "attempted (readable)", "loaded"):
        customers.add_column(column, justify="left" if column == "access" else "right", no_wrap=True)
    for line in summary.access:
        customers.add_row(line.access_state, _n(line.customers), _n(line.attempted), _n(line.loaded))
    total = summary.access_total()
    customers.add_section()
    customers.add_row("total", _n(total.customers), _n(total.attempted), _n(total.loaded), style="bold")
    if summary.not_loaded:
        customers.caption = "not loaded: " + ", ".join(f"{n:,} {r}" for r, n in summary.not_loaded.items())

    entities = Table(title="Graph by endpoint (this run)")
    t = summary.entity_total()
    # Quarantined items and 429s are columns only when there are any: the table fits 80 columns.
    columns = ["endpoint", "customers", "received", "new", "pages", "requests"]
    columns += [name for name, n in (("quarantined", t.quarantined), ("429s", t.throttled)) if n]
    for column in columns:
        entities.add_column(column, justify="left" if column == "endpoint" else "right", no_wrap=True)

    def cells(e: EntityLine, customers: str) -> list[str]:
        values = {
            "endpoint": e.endpoint,
            "customers": customers,
            "received": _n(e.received),
            "new": _n(e.new),
            "pages": _n(e.pages),
            "requests": _n(e.requests),
            "quarantined": _n(e.quarantined),
            "429s": _n(e.throttled),
        }
        if e.endpoint == BATCH:
            values = {k: v if k in {"endpoint", "customers", "requests"} else "" for k, v in values.items()}
        return [values[c] for c in columns]

    for e in summary.entities:
        entities.add_row(*cells(e, _n(e.customers)))
    entities.add_section()
    entities.add_row(*cells(t, ""), style="bold")
    entities.caption = (
        "$batch: one round trip per customer with every endpoint's first page; an endpoint's requests are its "
        "further round trips (incidents' in $batches of up to 20 pages)"
    )

    discovery = ", ".join(f"{n:,} {service}" for service, n in summary.discovery_requests.items() if n)
    requests = (
        f"requests: extraction {summary.graph_requests:,} Graph + {summary.token_requests:,} token exchanges "
        "(identity, one per customer)"
        + (f"; discovery {discovery}" if discovery else "")
        + f"; {summary.total_requests:,} together"
    )
    scope = scope_sentence(summary.in_scope, summary.direct, summary.out_of_scope)
    # What to do about the customers the run could not read, one line per access state.
    to_do = [
        f"{line.access_state} ({line.customers - line.attempted:,}): {line.remedy}"
        for line in summary.access
        if line.remedy and line.customers > line.attempted
    ]
    rules = (
        [
            f"posture rules file rejected, the build used the rules in force before "
            f"({counted(summary.rules_kept, 'rule')}): {summary.rules_rejected}"
        ]
        if summary.rules_rejected
        else []
    )
    return [run, timing, scope, customers, *to_do, entities, requests, *rules]


def print_run_summary(console: Console, target: WarehouseTarget | str, run_id: str | None = None) -> bool:
    """Print the summary of `run_id` (default: the latest run); False if there is no such run."""
    with connect(target) as conn:
        summary = read_run_summary(conn, run_id)
    if summary is None:
        console.print("[red]no run recorded[/]")
        return False
    for part in render_run_summary(summary):
        console.print(part, soft_wrap=isinstance(part, str))
    return True


class _CountColumn(MofNCompleteColumn):
    """ "3/44", or nothing while the total is not known yet (a step that only shows it is alive)."""

    def render(self, task: Task) -> Text:
        return Text("") if task.total is None else super().render(task)


@contextmanager
def progress(console: Console) -> Iterator[Progress]:
    """A rich progress display for long steps; silent when the console is not a terminal (logs, CI, pipes)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _CountColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )
    with bar:
        yield bar


def track(items: Iterable[int], console: Console, description: str, total: int) -> Iterator[int]:
    """`items` with a progress bar (off when the console is not a terminal)."""
    with progress(console) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
