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
    {#- Airflow (Cosmos) runs one model per invocation, so a layer's schema may not exist yet: skip those. -#}
    {%- set reader = var('bi_reader_role') -%}
    {%- set loader = var('loader_role', 'smart_office_loader') -%}
    {%- if reader %}
    do $$
    declare
        layer text;
    begin
        foreach layer in array array['raw', 'ops', 'staging', 'intermediate'] loop
            if exists (select from pg_namespace where nspname = layer) then
                execute format('revoke all on schema %I from public', layer);
            end if;
        end loop;
        if exists (select from pg_namespace where nspname = 'marts') then
            revoke create on schema marts from public;
            execute format('grant usage on schema marts to %I', '{{ reader }}');
        end if;
        foreach layer in array array['raw', 'ops'] loop
            if exists (select from pg_namespace where nspname = layer) then
                execute format('grant usage, create on schema %I to %I', layer, '{{ loader }}');
                execute format('grant select, insert, update, delete on all tables in schema %I to %I', layer, '{{ loader }}');
                execute format('grant usage on all sequences in schema %I to %I', layer, '{{ loader }}');
            end if;
        end loop;
    end
    $$;
    {%- endif %}
{% endmacro %}
