{#-
    Tests on tables that grow with history cost what the history costs. Those tests opt in with
    `config: where: "__recent__"`: a daily (incremental) build then tests only the rows landed since the
    latest pipeline run started, minus the models' look-back — the rows that build could have touched.
    A `--full-refresh` build, or `--vars '{data_test_scope: all}'`, tests every row (the DAG runs a full
    refresh weekly, see README "Daily and weekly builds").

    The placeholder is replaced here, when the test runs, rather than written as Jinja in the YAML: a test's
    config is rendered at parse time, before flags and the run's vars are final (and Cosmos parses once).
-#}
{% macro recent_rows_predicate(column='extracted_at') -%}
    {%- set scope = var('data_test_scope') -%}
    {%- if execute and scope not in ('recent', 'all') -%}
        {{ exceptions.raise_compiler_error("data_test_scope must be 'recent' or 'all', not '" ~ scope ~ "'") }}
    {%- endif -%}
    {#- `is defined`: sqlfluff renders this macro without dbt's flags. -#}
    {%- if (flags is defined and flags.FULL_REFRESH) or scope == 'all' -%}
    true
    {%- elif execute -%}
    {#- A literal, not a subquery, so the planner uses the index on extracted_at (macros/incremental_window.sql). -#}
    {{ column }} >= {{ lookback_literal(source('ops', 'runs'), 'started_at') }}
    {%- else -%}
    {{ column }} >= '-infinity'::timestamptz
    {%- endif -%}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__recent__', recent_rows_predicate()) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
