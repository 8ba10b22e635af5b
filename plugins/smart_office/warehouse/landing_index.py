"""Keep the raw tables' BRIN landing-time indexes summarised (migration 0012).

A block range that filled since the last summary is not in the index yet, and a BRIN scan returns every such
range: the daily build's "landed since" reads then cost a scan of everything landed since the last vacuum.
`autosummarize` asks autovacuum to summarise a range once it is full, but only where autovacuum runs and when
it gets to it; summarising at the end of each run costs a scan of that run's new pages only.
"""

from __future__ import annotations

import logging

import psycopg

log = logging.getLogger(__name__)


def summarize_landing_ranges(conn: psycopg.Connection) -> int:
    """Summarise the block ranges the raw tables' BRIN indexes do not cover yet; returns how many.

    Needs to own the raw tables (the role that migrates and lands does); without, it logs and returns 0.
    Summarising only speeds up later reads, so an index it cannot summarise now (not its owner, its table
    locked, the statement cancelled) is logged and left to autosummarize: it never fails the run's close.
    """
    indexes = conn.execute(
        """
        select i.indexrelid::regclass::text
        from pg_index i
        join pg_class c on c.oid = i.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_am am on am.oid = c.relam
        where n.nspname = 'raw' and am.amname = 'brin'
        order by 1
        """
    ).fetchall()
    summarized = 0
    for (index,) in indexes:
        try:
            with conn.transaction():
                row = conn.execute("select brin_summarize_new_values(%s::regclass)", (index,)).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            log.warning("cannot summarise %s (not its owner); autovacuum's autosummarize will", index)
            continue
        except (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled) as error:
            log.warning(
                "summarising %s skipped (%s); the next run or autosummarize will", index, type(error).__name__
            )
            continue
        summarized += int(row[0]) if row else 0
    return summarized
