{#-
    Warehouse roles, managed with the models:
    - bi_reader_role reads the marts schema and nothing else (Power BI / Superset / the dashboard log in
      as a member of it);
    - loader_role lands raw data and writes ops bookkeeping (the extraction's login is a member of it).
    Table-level SELECT on marts comes from the `grants` config in dbt_project.yml; schema access and
    revocations are here. Roles are NOLOGIN: give people/services their own logins and GRANT the role.
-#}
{% macro create_warehouse_roles() %}
    {%- set reader = var('bi_reader_role') -%}
    {%- set loader = var('loader_role', 'smart_office_loader') -%}
    {%- if reader %}
    do $$
    begin
        if not exists (select from pg_roles where rolname = '{{ reader }}') then
            create role {{ adapter.quote(reader) }} nologin;
        end if;
        if not exists (select from pg_roles where rolname = '{{ loader }}') then
            create role {{ adapter.quote(loader) }} nologin;
        end if;
    end
    $$;
    {%- endif %}
{% endmacro %}

{% macro grant_warehouse_access() %}
    {%- set reader = var('bi_reader_role') -%}
    {%- set loader = var('loader_role', 'smart_office_loader') -%}
    {%- if reader %}
    revoke all on schema raw, ops, staging, intermediate from public;
    revoke create on schema marts from public;
    grant usage on schema marts to {{ adapter.quote(reader) }};
    grant usage, create on schema raw, ops to {{ adapter.quote(loader) }};
    grant select, insert, update, delete on all tables in schema raw, ops to {{ adapter.quote(loader) }};
    grant usage on all sequences in schema raw, ops to {{ adapter.quote(loader) }};
    {%- endif %}
{% endmacro %}
