-- One home per business rule. The rules the extraction needs before dbt has ever run (a first run plans its
-- shards from them) are defined here, once, and everything else reads them: discovery classifies each
-- customer's access with ops.classify_customer_access, the shard planner reads ops.run_customers, coverage
-- (the run's close and fct_ingestion_coverage) reads ops.run_coverage, and dbt's int_customers_access_classified
-- calls the same two functions for dim_customers.

-- What discovery observed beside what it concluded: whether the partner's /contracts lists the customer
-- (DAP, or any delegated administration). Rows written before this migration only knew `dap`.
alter table ops.customer_snapshots add column has_dap_contract boolean not null default false;
alter table ops.customers add column has_dap_contract boolean not null default false;
update ops.customer_snapshots set has_dap_contract = true
where access_state = 'dap';
update ops.customers set has_dap_contract = true
where access_state = 'dap';

-- Which access a customer grants the partner, from its GDAP relationships and whether it has a DAP contract.
-- `relationships` is a JSON array of {status, end_at, last_modified_at, role_ids}: each relationship as
-- staging reads it (Graph's status; endDateTime and lastModifiedDateTime as ISO 8601 timestamps or null;
-- the roleDefinitionIds of accessDetails.unifiedRoles). Discovery passes the relationships it just listed,
-- dbt the latest landed versions. In order:
--   gdap                   an active (or expiring) relationship grants a role that reads security data
--   gdap_no_security_role  an active relationship, none with such a role (a GDAP gap to fix)
--   dap                    no active relationship, but a DAP contract
--   gdap_pending           a relationship waiting for the customer's approval
--   gdap_expired           only ended relationships
--   none                   nothing
-- gdap_status and gdap_end_at are those of the relationship that decided (the one ending last; for
-- gdap_expired the one that ended or changed last; ties go to the status first in alphabetical order).
create function ops.classify_customer_access(relationships jsonb, has_dap_contract boolean)
returns table (access_state text, gdap_status text, gdap_end_at timestamptz, has_security_roles boolean)
language sql
stable
parallel safe
as $$
    with relationship as (
        select
            item ->> 'status' as status,
            (item ->> 'end_at')::timestamptz as end_at,
            (item ->> 'last_modified_at')::timestamptz as last_modified_at,
            coalesce(item ->> 'status' in ('active', 'expiring'), false) as is_active,
            coalesce(item ->> 'status' in ('created', 'approvalPending', 'approved', 'activating'), false)
                as is_pending,
            exists (
                select
                from jsonb_array_elements_text(coalesce(item -> 'role_ids', '[]'::jsonb)) as role (id)
                -- Entra built-in roles that read Secure Score and Defender alerts and incidents (template ids):
                -- Global Administrator, Global Reader, Security Administrator, Security Operator, Security Reader.
                where lower(role.id) in (
                    '62e90394-69f5-4237-9190-012177145e10',
                    'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
                    '194ae4cb-b126-40b2-bd5b-6091b380977d',
                    '5f2222b1-57c3-48ba-8ad5-d4759f1fde6f',
                    '5d6b6bb7-de71-4623-b4af-96380a352509'
                )
            ) as grants_security_read
        from jsonb_array_elements(coalesce(relationships, '[]'::jsonb)) as item
    ),

    candidate as (
        select 1 as precedence, 'gdap' as access_state, status, end_at, true as has_security_roles, end_at as decided_at
        from relationship
        where is_active and grants_security_read
        union all
        select 2, 'gdap_no_security_role', status, end_at, false, end_at
        from relationship
        where is_active
        union all
        select 3, 'dap', null, null, false, null
        where has_dap_contract
        union all
        select 4, 'gdap_pending', 'approvalPending', null, false, null
        where exists (select from relationship where is_pending)
        union all
        select 5, 'gdap_expired', status, end_at, false, coalesce(end_at, last_modified_at)
        from relationship
        union all
        select 6, 'none', null, null, false, null
    )

    select access_state, status, end_at, has_security_roles
    from candidate
    order by precedence asc, decided_at desc nulls last, status asc nulls last
    limit 1
$$;

-- Which customers a run may read: delegated access with a security role (gdap) or DAP, not excluded by
-- configuration (SMART_OFFICE_EXCLUDED_TENANTS), not departed from Partner Center.
create function ops.is_extractable(access_state text, is_excluded boolean, is_departed boolean)
returns boolean
language sql
immutable
parallel safe
as $$
    select coalesce(access_state in ('gdap', 'dap') and not is_excluded and not is_departed, false)
$$;

-- Why a customer is not extractable (null when it is): departed, excluded, or its access state.
create function ops.not_extractable_reason(access_state text, is_excluded boolean, is_departed boolean)
returns text
language sql
immutable
parallel safe
as $$
    select
        case
            when ops.is_extractable(access_state, is_excluded, is_departed) then null
            when is_departed then 'departed'
            when is_excluded then 'excluded'
            else access_state
        end
$$;

-- Each run's customers (its snapshot) and whether the run extracts them: what the shard planner reads.
create view ops.run_customers as
select
    snapshots.run_id,
    runs.started_at as run_started_at,
    snapshots.tenant_id,
    snapshots.access_state,
    snapshots.gdap_status,
    snapshots.gdap_end_at,
    snapshots.has_security_roles,
    snapshots.has_dap_contract,
    snapshots.is_excluded,
    snapshots.is_departed,
    ops.is_extractable(snapshots.access_state, snapshots.is_excluded, snapshots.is_departed) as is_extractable,
    ops.not_extractable_reason(snapshots.access_state, snapshots.is_excluded, snapshots.is_departed)
        as not_extractable_reason
from ops.customer_snapshots as snapshots
left join ops.runs as runs on snapshots.run_id = runs.run_id;

-- Coverage, one row per run and customer: `loaded` (every endpoint loaded), `failed` with the state of the
-- first failing endpoint (token first) — or `not_extracted` when an extractable customer has no outcome at
-- all (its shard failed or never ran: a lost shard lowers coverage instead of disappearing from it) — and
-- `not_extractable` with why. A customer extracted though its snapshot says otherwise (a snapshot rewritten
-- after its shards ran) counts as attempted, once. The run's close (extract/runs.py) and fct_ingestion_coverage
-- both count these rows.
create view ops.run_coverage as
-- Not materialized: a query for one run reads that run's outcomes only.
with per_tenant as not materialized (
    select
        run_id,
        tenant_id,
        bool_or(outcome in ('failed', 'partial')) as has_failure,
        (array_agg(state order by (endpoint <> 'token'), endpoint) filter (where outcome in ('failed', 'partial')))[1]
            as failure_state,
        sum(quarantined)::bigint as quarantined,
        sum(repaired)::bigint as repaired
    from ops.tenant_runs
    group by run_id, tenant_id
)

select
    customers.run_id,
    customers.tenant_id,
    case when per_tenant.tenant_id is null or per_tenant.has_failure then 'failed' else 'loaded' end as outcome,
    case when per_tenant.tenant_id is null then 'not_extracted' else coalesce(per_tenant.failure_state, 'ok') end
        as reason,
    coalesce(per_tenant.quarantined, 0) as quarantined,
    coalesce(per_tenant.repaired, 0) as repaired
from ops.run_customers as customers
left join per_tenant on customers.run_id = per_tenant.run_id and customers.tenant_id = per_tenant.tenant_id
where customers.is_extractable

union all

select
    per_tenant.run_id,
    per_tenant.tenant_id,
    case when per_tenant.has_failure then 'failed' else 'loaded' end as outcome,
    coalesce(per_tenant.failure_state, 'ok') as reason,
    per_tenant.quarantined,
    per_tenant.repaired
from per_tenant
where
    not exists (
        select
        from ops.run_customers as customers
        where
            customers.run_id = per_tenant.run_id
            and customers.tenant_id = per_tenant.tenant_id
            and customers.is_extractable
    )

union all

select
    customers.run_id,
    customers.tenant_id,
    'not_extractable' as outcome,
    customers.not_extractable_reason as reason,
    0 as quarantined,
    0 as repaired
from ops.run_customers as customers
where
    not customers.is_extractable
    and not exists (
        select
        from per_tenant
        where per_tenant.run_id = customers.run_id and per_tenant.tenant_id = customers.tenant_id
    );
