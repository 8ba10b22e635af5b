-- Raw landing tables (one per entity, versioned by payload hash) and operational bookkeeping.
-- Every raw table has the same shape so one loader serves them all:
--   tenant_id          the customer tenant the payload belongs to
--   entity_id          the source's natural key (Graph id, Partner Center id)
--   payload            the JSON object exactly as the source sent it (unknown fields and enum values kept)
--   payload_hash       sha256 of the canonical payload: a changed payload is a new version, an identical one
--                      is a no-op, so re-runs and overlapping windows never duplicate
--   source_updated_at  the source's own change time (lastUpdateDateTime, createdDateTime, ...) when it has one
--   extracted_at, run_id  when and by which run the version first landed

create schema if not exists raw;
create schema if not exists ops;

create table ops.runs (
    run_id text primary key,
    dag_id text,
    dag_run_id text,
    logical_date timestamptz,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
    summary jsonb not null default '{}'::jsonb
);

create table ops.customers (
    tenant_id uuid primary key,
    partner_center_id text,
    company_name text,
    default_domain text,
    relationship_to_partner text,
    access_state text not null,
    gdap_status text,
    gdap_end_at timestamptz,
    has_security_roles boolean not null default false,
    is_excluded boolean not null default false,
    first_seen_at timestamptz not null,
    last_seen_at timestamptz not null,
    departed_at timestamptz,
    last_run_id text not null
);

create table ops.customer_snapshots (
    run_id text not null,
    tenant_id uuid not null,
    partner_center_id text,
    company_name text,
    default_domain text,
    relationship_to_partner text,
    access_state text not null,
    gdap_status text,
    gdap_end_at timestamptz,
    has_security_roles boolean not null,
    is_excluded boolean not null,
    is_departed boolean not null,
    primary key (run_id, tenant_id)
);

create table ops.tenant_runs (
    run_id text not null,
    tenant_id uuid not null,
    endpoint text not null,
    outcome text not null check (outcome in ('loaded', 'partial', 'failed', 'skipped')),
    state text not null,
    rows_received integer not null default 0,
    rows_new integer not null default 0,
    quarantined integer not null default 0,
    pages integer not null default 0,
    requests integer not null default 0,
    throttled integer not null default 0,
    retries integer not null default 0,
    duration_ms integer not null default 0,
    error text,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    primary key (run_id, tenant_id, endpoint)
);

create table ops.watermarks (
    tenant_id uuid not null,
    endpoint text not null,
    watermark timestamptz not null,
    run_id text not null,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, endpoint)
);

create table ops.token_store (
    name text primary key,
    ciphertext bytea not null,
    key_id text not null,
    version bigint not null,
    issued_at timestamptz not null,
    updated_at timestamptz not null default now()
);

create table raw.quarantine (
    quarantine_id bigint generated always as identity primary key,
    run_id text not null,
    tenant_id uuid,
    endpoint text not null,
    entity_id text,
    reason text not null,
    error text not null,
    payload_text text,
    payload_bytes bytea,
    received_at timestamptz not null default now()
);

create table raw.partner_center_customers (
    tenant_id uuid not null,
    entity_id text not null,
    payload jsonb not null,
    payload_hash bytea not null,
    source_updated_at timestamptz,
    extracted_at timestamptz not null default now(),
    run_id text not null,
    primary key (tenant_id, entity_id, payload_hash)
);

create table raw.gdap_relationships (like raw.partner_center_customers including all);
create table raw.secure_scores (like raw.partner_center_customers including all);
create table raw.secure_score_control_profiles (like raw.partner_center_customers including all);
create table raw.alerts_v2 (like raw.partner_center_customers including all);
create table raw.incidents (like raw.partner_center_customers including all);

-- Latest-version lookups and incremental dbt models read by these.
create index on raw.secure_scores (tenant_id, source_updated_at);
create index on raw.alerts_v2 (tenant_id, entity_id, source_updated_at desc);
create index on raw.incidents (tenant_id, entity_id, source_updated_at desc);
create index on raw.secure_score_control_profiles (tenant_id, entity_id, extracted_at desc);
create index on raw.alerts_v2 (extracted_at);
create index on raw.incidents (extracted_at);
create index on raw.secure_scores (extracted_at);
create index on ops.tenant_runs (tenant_id, endpoint, finished_at desc);

-- lz4 halves the cost of landing jsonb (see performance notes); not every PostgreSQL build has it.
do $$
declare
    t text;
begin
    foreach t in array array[
        'partner_center_customers', 'gdap_relationships', 'secure_scores',
        'secure_score_control_profiles', 'alerts_v2', 'incidents'
    ] loop
        begin
            execute format('alter table raw.%I alter column payload set compression lz4', t);
        exception when feature_not_supported then
            raise notice 'lz4 not available; raw.% keeps the default compression', t;
        end;
    end loop;
end
$$;
