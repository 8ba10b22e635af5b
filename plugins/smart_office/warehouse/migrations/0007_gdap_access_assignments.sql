-- GDAP access assignments. A relationship that grants Security Reader gives it to nobody until the partner
-- assigns it to one of its security groups (Partner Center → Customers → the customer → Admin relationships →
-- Assign); Graph then answers the partner's users 403. Discovery reads each active relationship's
-- accessAssignments, lands them raw, and the classification below tells such a customer apart
-- (`gdap_roles_unassigned`) instead of extracting it into a wall of 403s.

-- The assignments as Graph sent them, one row per version (tenant_id: the customer's; entity_id: the assignment's).
create table raw.gdap_access_assignments (like raw.partner_center_customers including all);

-- Which assignments each relationship had when its accessAssignments were last read completely. A relationship
-- without a row here was never read completely: its assignments are unknown, which never counts as unassigned.
-- dbt reads the latest landed version of each listed assignment (an assignment Graph stopped listing is gone).
create table ops.gdap_access_assignment_reads (
    tenant_id uuid not null,
    relationship_id text not null,
    assignment_ids text[] not null,
    read_at timestamptz not null,
    run_id text not null,
    primary key (tenant_id, relationship_id)
);

-- Which access a customer grants the partner (migration 0006), now with access assignments. Each element of
-- `relationships` may carry `assignments`: a JSON array of {status, container_type, role_ids} — the
-- relationship's access assignments as read (Graph's status; accessContainer.accessContainerType; the
-- roleDefinitionIds of accessDetails.unifiedRoles). Without `assignments` (not read, or the read failed)
-- a relationship's roles count as assigned: unknown is not unassigned. In order:
--   gdap                   an active (or expiring) relationship grants a role that reads security data, and an
--                          active assignment gives such a role to a security group (or its assignments are unknown)
--   gdap_roles_unassigned  an active relationship grants such a role, but no active assignment gives any of them
--                          to a security group: tokens work, every security read answers 403 (a GDAP gap to fix)
--   gdap_no_security_role  an active relationship, none with such a role (a GDAP gap to fix)
--   dap                    no active relationship, but a DAP contract
--   gdap_pending           a relationship waiting for the customer's approval
--   gdap_expired           only ended relationships
--   none                   nothing
-- The roles counted as reading Secure Score, control profiles, alerts_v2 and incidents are 0006's, Entra's
-- built-in role template ids: Security Reader 5d6b6bb7-…, Security Operator 5f2222b1-…, Security Administrator
-- 194ae4cb-…, Global Reader f2ef992c-… and Global Administrator 62e90394-… (Security Reader is the least
-- privileged of them; the stored reference has no role-by-endpoint table to check the list against). An
-- assignment must give one of these, not merely any role of the relationship: Helpdesk or User Administrator
-- alone still answers 403. gdap_status and gdap_end_at are those of the deciding relationship, as in 0006.
create or replace function ops.classify_customer_access(relationships jsonb, has_dap_contract boolean)
returns table (access_state text, gdap_status text, gdap_end_at timestamptz, has_security_roles boolean)
language sql
stable
parallel safe
as $$
    with security_role (id) as (
        values
            ('62e90394-69f5-4237-9190-012177145e10'),
            ('f2ef992c-3afb-46b9-b7cf-a126ee74c451'),
            ('194ae4cb-b126-40b2-bd5b-6091b380977d'),
            ('5f2222b1-57c3-48ba-8ad5-d4759f1fde6f'),
            ('5d6b6bb7-de71-4623-b4af-96380a352509')
    ),

    item as (
        select
            item,
            case when jsonb_typeof(item -> 'role_ids') = 'array' then item -> 'role_ids' else '[]'::jsonb end
                as role_ids,
            case when jsonb_typeof(item -> 'assignments') = 'array' then item -> 'assignments' end as assignments
        from jsonb_array_elements(coalesce(relationships, '[]'::jsonb)) as item
    ),

    relationship as (
        select
            item ->> 'status' as status,
            (item ->> 'end_at')::timestamptz as end_at,
            (item ->> 'last_modified_at')::timestamptz as last_modified_at,
            coalesce(item ->> 'status' in ('active', 'expiring'), false) as is_active,
            coalesce(item ->> 'status' in ('created', 'approvalPending', 'approved', 'activating'), false)
                as is_pending,
            exists (
                select
                from jsonb_array_elements_text(role_ids) as role (id)
                where lower(role.id) in (select security_role.id from security_role)
            ) as grants_security_read,
            assignments is null
            or exists (
                select
                from jsonb_array_elements(assignments) as assignment
                cross join lateral jsonb_array_elements_text(
                    case
                        when jsonb_typeof(assignment -> 'role_ids') = 'array' then assignment -> 'role_ids'
                        else '[]'::jsonb
                    end
                ) as role (id)
                where
                    jsonb_typeof(assignment) = 'object'
                    and assignment ->> 'status' = 'active'
                    and assignment ->> 'container_type' = 'securityGroup'
                    and lower(role.id) in (select security_role.id from security_role)
            ) as security_role_assigned
        from item
    ),

    candidate as (
        select
            1 as precedence,
            'gdap' as access_state,
            status,
            end_at,
            true as has_security_roles,
            end_at as decided_at
        from relationship
        where is_active and grants_security_read and security_role_assigned
        union all
        select 2, 'gdap_roles_unassigned', status, end_at, true, end_at
        from relationship
        where is_active and grants_security_read
        union all
        select 3, 'gdap_no_security_role', status, end_at, false, end_at
        from relationship
        where is_active
        union all
        select 4, 'dap', null, null, false, null
        where has_dap_contract
        union all
        select 5, 'gdap_pending', 'approvalPending', null, false, null
        where exists (select from relationship where is_pending)
        union all
        select 6, 'gdap_expired', status, end_at, false, coalesce(end_at, last_modified_at)
        from relationship
        union all
        select 7, 'none', null, null, false, null
    )

    select access_state, status, end_at, has_security_roles
    from candidate
    order by precedence asc, decided_at desc nulls last, status asc nulls last
    limit 1
$$;

-- What the partner does about an access state that keeps a customer from being read (null for gdap and dap):
-- the run summary prints it, dim_customers carries it.
create function ops.access_remedy(access_state text)
returns text
language sql
immutable
parallel safe
as $$
    select
        case access_state
            when 'gdap_roles_unassigned' then
                'Assign the relationship''s security roles (Security Reader at least) to a security group the '
                || 'partner''s users and the app''s service principal are in: Partner Center → Customers → the '
                || 'customer → Admin relationships → the relationship → Assign.'
            when 'gdap_no_security_role' then
                'Request a GDAP relationship that includes Security Reader, have the customer approve it, then '
                || 'assign its roles to a security group: Partner Center → Customers → the customer → Admin '
                || 'relationships.'
            when 'gdap_pending' then
                'Ask the customer''s Global Administrator to approve the GDAP relationship request.'
            when 'gdap_expired' then
                'Request a new GDAP relationship that includes Security Reader and have the customer approve it.'
            when 'none' then
                'Request a GDAP relationship that includes Security Reader: Partner Center → Customers → the '
                || 'customer → Admin relationships → Request admin relationship.'
        end
$$;
