-- The partner's own list of tenants, as data: direct tenants (not in Partner Center, no GDAP; each read with a
-- credential of its own) and the pilot and exclusion lists, each entry with who changed it, when and why.
-- Managed by `smart-office tenants add|remove|include|exclude|clear`; read by discovery, which records what it
-- found per run in ops.customer_snapshots, and by the business rules below (one home: ops.tenant_scope for
-- "which tenants the partner asked us to read", ops.is_extractable for "which customers a run reads").

create table ops.tenants (
    tenant_id uuid primary key,
    display_name text,
    -- How a direct tenant is read: app_only (the tenant's admin consented to the multi-tenant app; client
    -- credentials with the app's certificate at that tenant) or delegated (`smart-office consent --tenant`:
    -- a refresh token of that tenant's own admin). Null: not a direct tenant (a Partner Center customer that
    -- is only in the pilot or excluded).
    credential text check (credential in ('app_only', 'delegated')),
    -- include: in the pilot (when any tenant is, only those are read); exclude: never read.
    scope text check (scope in ('include', 'exclude')),
    scope_reason text,
    added_by text not null,
    added_at timestamptz not null,
    changed_by text not null,
    changed_at timestamptz not null,
    constraint tenants_exclusion_has_reason check (scope is distinct from 'exclude' or scope_reason is not null),
    constraint tenants_entry_means_something check (credential is not null or scope is not null)
);

-- Every change, kept after the entry itself is removed: who (the OS user, or --by), when, why.
create table ops.tenant_changes (
    change_id bigint generated always as identity primary key,
    tenant_id uuid not null,
    change_type text not null check (change_type in ('add', 'remove', 'include', 'exclude', 'clear')),
    changed_by text not null,
    changed_at timestamptz not null,
    reason text,
    credential text,
    scope text
);

create index tenant_changes_by_tenant on ops.tenant_changes (tenant_id, changed_at);

-- What discovery recorded beside what it concluded: where the tenant came from, and whether the pilot left it out.
alter table ops.customer_snapshots add column source text not null default 'partner_center'
check (source in ('partner_center', 'direct'));
alter table ops.customer_snapshots add column is_outside_pilot boolean not null default false;
alter table ops.customers add column source text not null default 'partner_center'
check (source in ('partner_center', 'direct'));
alter table ops.customers add column is_outside_pilot boolean not null default false;

-- Whether the partner's own lists leave a tenant out: 'excluded' (on the exclusion list), 'not_in_pilot' (a
-- pilot is running, i.e. some tenant is included, and this one is not), or null (in scope).
create function ops.tenant_scope(tenant uuid)
returns text
language sql
stable
parallel safe
as $$
    select
        case
            when exists (select from ops.tenants where tenant_id = tenant and scope = 'exclude') then 'excluded'
            when
                exists (select from ops.tenants where scope = 'include')
                and not exists (select from ops.tenants where tenant_id = tenant and scope = 'include')
                then 'not_in_pilot'
        end
$$;

-- The access of a tenant from any source: a direct tenant is read with its own credential (`direct`, which
-- reads security data as far as that credential was consented); a Partner Center customer as
-- ops.classify_customer_access classifies its GDAP relationships and DAP contract. (has_security_roles
-- speaks of GDAP roles, so it is false for a direct tenant.)
create function ops.classify_tenant_access(relationships jsonb, has_dap_contract boolean, source text)
returns table (access_state text, gdap_status text, gdap_end_at timestamptz, has_security_roles boolean)
language sql
stable
parallel safe
as $$
    select 'direct', null::text, null::timestamptz, false
    where source = 'direct'
    union all
    select access.access_state, access.gdap_status, access.gdap_end_at, access.has_security_roles
    from ops.classify_customer_access(relationships, has_dap_contract) as access
    where source is distinct from 'direct'
$$;

-- Which customers a run may read (extends migration 0006's rule): access gdap, dap or direct; not excluded;
-- inside the pilot when one is running; not departed.
create function ops.is_extractable(
    access_state text, is_excluded boolean, is_departed boolean, is_outside_pilot boolean
)
returns boolean
language sql
immutable
parallel safe
as $$
    select coalesce(
        access_state in ('gdap', 'dap', 'direct') and not is_excluded and not is_departed and not is_outside_pilot,
        false
    )
$$;

-- Why not (null when it is): departed, excluded, not_in_pilot, or its access state.
create function ops.not_extractable_reason(
    access_state text, is_excluded boolean, is_departed boolean, is_outside_pilot boolean
)
returns text
language sql
immutable
parallel safe
as $$
    select
        case
            when ops.is_extractable(access_state, is_excluded, is_departed, is_outside_pilot) then null
            when is_departed then 'departed'
            when is_excluded then 'excluded'
            when is_outside_pilot then 'not_in_pilot'
            else access_state
        end
$$;

-- The three-argument forms (0006) are the same rule outside any pilot.
create or replace function ops.is_extractable(access_state text, is_excluded boolean, is_departed boolean)
returns boolean
language sql
immutable
parallel safe
as $$
    select ops.is_extractable(access_state, is_excluded, is_departed, false)
$$;

create or replace function ops.not_extractable_reason(access_state text, is_excluded boolean, is_departed boolean)
returns text
language sql
immutable
parallel safe
as $$
    select ops.not_extractable_reason(access_state, is_excluded, is_departed, false)
$$;

-- The run's customers with the pilot in the rule (new columns at the end, as `create or replace view` needs).
create or replace view ops.run_customers as
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
    ops.is_extractable(
        snapshots.access_state, snapshots.is_excluded, snapshots.is_departed, snapshots.is_outside_pilot
    ) as is_extractable,
    ops.not_extractable_reason(
        snapshots.access_state, snapshots.is_excluded, snapshots.is_departed, snapshots.is_outside_pilot
    ) as not_extractable_reason,
    snapshots.source,
    snapshots.is_outside_pilot
from ops.customer_snapshots as snapshots
left join ops.runs as runs on snapshots.run_id = runs.run_id;
