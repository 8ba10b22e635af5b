-- Retention and purge (docs/retention.md).
--
-- ops.purges: one row per purged customer, holding no customer data: the tenant is a keyed hash
-- (HMAC-SHA256 under SMART_OFFICE_PURGE_KEY, `key_id` naming the key by a fingerprint), never its id or name.
-- `row_counts` maps each table the purge deleted from to the rows it deleted. A purge on request blocks the
-- tenant from being discovered again (`blocks_return`) until `smart-office tenants readmit` sets
-- `readmitted_at`; discovery drops a listed customer whose hash is blocked before anything of it lands.
create table ops.purges (
    purge_id bigint generated always as identity primary key,
    purged_at timestamptz not null,
    purged_by text not null,
    reason text not null check (reason in ('request', 'departed')),
    tenant_hash text not null,
    key_id text not null,
    row_counts jsonb not null default '{}'::jsonb,
    rows_deleted bigint not null default 0,
    secrets_deleted integer not null default 0,
    blocks_return boolean not null,
    readmitted_at timestamptz,
    readmitted_by text
);

create index purges_blocking on ops.purges (tenant_hash) where blocks_return and readmitted_at is null;

-- Departed customers are found by when they departed (the maintenance task's departed purge).
create index customers_departed_at on ops.customers (departed_at) where departed_at is not null;
