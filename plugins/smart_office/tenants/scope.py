"""Which customers the next run will read, before it runs: the latest run's customers and today's direct
tenants, under today's pilot and exclusions — through the warehouse's own rule (ops.not_extractable_reason,
ops.tenant_scope), never a copy of it. For `check-config`, which calls no Microsoft API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from smart_office.summary import scope_sentence
from smart_office.wording import counted


@dataclass(frozen=True, slots=True)
class PlannedScope:
    based_on_run: str | None
    in_scope: int = 0
    direct: int = 0
    out_of_scope: dict[str, int] = field(default_factory=dict)
    included: int = 0
    excluded: int = 0

    def sentence(self) -> str:
        lists = f"pilot of {self.included:,}" if self.included else "no pilot (every customer)"
        lists += f", {self.excluded:,} excluded" if self.excluded else ""
        if self.based_on_run is None:
            return f"scope: no run yet; {counted(self.direct, 'direct tenant')}, {lists}"
        return (
            f"scope: {scope_sentence(self.in_scope, self.direct, self.out_of_scope)} "
            f"({lists}; the customers of run {self.based_on_run})"
        )


def planned_scope(conn: psycopg.Connection, env_excluded: Iterable[str] = ()) -> PlannedScope:
    """The scope the next run would have, from the latest run's customers and the current lists."""
    latest = conn.execute("select run_id from ops.runs order by started_at desc limit 1").fetchone()
    lists = conn.execute(
        """
        select count(*) filter (where scope = 'include'), count(*) filter (where scope = 'exclude'),
               count(*) filter (where credential is not null)
        from ops.tenants
        """
    ).fetchone()
    assert lists is not None
    included, excluded, direct = lists
    if latest is None:
        return PlannedScope(None, direct=direct, included=included, excluded=excluded)
    rows = conn.execute(
        """
        with candidates as (
            select snapshots.tenant_id, snapshots.access_state, snapshots.is_departed, 'partner_center' as source
            from ops.customer_snapshots as snapshots
            where
                snapshots.run_id = %(run)s
                and snapshots.source = 'partner_center'
                and not exists (
                    select from ops.tenants
                    where tenants.tenant_id = snapshots.tenant_id and tenants.credential is not null
                )
            union all
            select tenant_id, 'direct', false, 'direct' from ops.tenants where credential is not null
        )
        select
            ops.not_extractable_reason(
                candidates.access_state,
                candidates.tenant_id = any(%(excluded)s::uuid[]) or scope.scope is not distinct from 'excluded',
                candidates.is_departed,
                scope.scope is not distinct from 'not_in_pilot'
            ) as reason,
            count(*),
            count(*) filter (where candidates.source = 'direct')
        from candidates
        cross join lateral (select ops.tenant_scope(candidates.tenant_id) as scope) as scope
        group by 1 order by 2 desc, 1
        """,
        {"run": latest[0], "excluded": list(env_excluded)},
    ).fetchall()
    return PlannedScope(
        based_on_run=latest[0],
        in_scope=sum(n for reason, n, _ in rows if reason is None),
        direct=sum(d for reason, _, d in rows if reason is None),
        out_of_scope={reason: n for reason, n, _ in rows if reason is not None},
        included=included,
        excluded=excluded,
    )
