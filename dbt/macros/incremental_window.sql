{#-
    Incremental models read only raw rows landed since their last build (minus a look-back, for shards
    that committed late), so a daily build costs what the new data costs, not what the history costs.

    The watermark is read first and written into the query as a literal: against a subquery the planner
    assumes a third of the table qualifies and scans all of it (parsing a year of JSON) instead of using
    the index on extracted_at. Unit tests give `this` as a fixture, which only a subquery can read.
-#}
{% macro incremental_window(column='extracted_at') -%}
    {%- if is_incremental() -%}
        {%- if execute and model.resource_type != 'unit_test' -%}
    where {{ column }} > {{ lookback_literal(this, 'extracted_at') }}
        {%- else -%}
    where {{ column }} > (
        select coalesce(max(extracted_at), '-infinity'::timestamptz) from {{ this }}
    ) - interval '{{ var("incremental_lookback_hours") }} hours'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#-
    max(`column`) of `relation` less the look-back, as a timestamptz literal ('-infinity' when empty): read
    before the query runs, so the planner sees a constant it can estimate (see above).
-#}
{% macro lookback_literal(relation, column) -%}
    {%- set value = run_query(
        "select (coalesce(max(" ~ column ~ "), '-infinity'::timestamptz) - interval '"
        ~ var('incremental_lookback_hours') ~ " hours')::text from " ~ relation
    ).columns[0].values()[0] -%}
    '{{ value }}'::timestamptz
{%- endmacro %}

{#-
    For an incremental model most rows of whose inputs leave no row (fct_data_issues): its own max(extracted_at)
    says nothing about what it has read, so it keeps what it has read through in `read_through_relation()` (its
    post-hook `record_read_through()` writes the build's start there, in the build's own transaction, so a
    failed build records nothing), and an incremental build reads the rows landed since then, minus the
    look-back for shards that committed late. A build that failed or was skipped is therefore caught up by the
    next one that succeeds. Until a build has recorded it (a warehouse built before it existed), the window is
    the rows landed since the latest pipeline run started, as it was.
-#}
{% macro incremental_window_since_last_read(column='extracted_at', keyword='where') -%}
    {%- if is_incremental() -%}
        {%- if execute and model.resource_type != 'unit_test' -%}
    {{ keyword }} {{ column }} >= {{ read_through_literal() }}
        {%- else -%}
    {{ keyword }} {{ column }} >= (
        select coalesce(max(started_at), '-infinity'::timestamptz) from {{ ref('stg_ops__runs') }}
    ) - interval '{{ var("incremental_lookback_hours") }} hours'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Where models record what they have read through: beside staging, which the BI reader cannot read. -#}
{% macro read_through_relation() -%}
    {{- return(api.Relation.create(
        database=this.database,
        schema=generate_schema_name('staging', model),
        identifier='dbt_read_through',
        type='table',
    )) -}}
{%- endmacro %}

{#- This model's read-through less the look-back, as a literal; the latest run's start until one is recorded. -#}
{% macro read_through_literal() -%}
    {%- set relation = read_through_relation() -%}
    {%- set recorded = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
    {%- if recorded is none -%}
    {{ lookback_literal(ref('stg_ops__runs'), 'started_at') }}
    {%- else -%}
        {%- set value = run_query(
            "select (coalesce((select read_through from " ~ recorded ~ " where model_name = "
            ~ dbt.string_literal(this.identifier) ~ "), (select max(started_at) from " ~ ref('stg_ops__runs')
            ~ "), '-infinity'::timestamptz) - interval '" ~ var('incremental_lookback_hours') ~ " hours')::text"
        ).columns[0].values()[0] -%}
    '{{ value }}'::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: this build has read what landed before its transaction began (now()). -#}
{% macro record_read_through() -%}
    {%- set relation = read_through_relation() -%}
    create table if not exists {{ relation }} (
        model_name text primary key,
        read_through timestamptz not null
    );
    insert into {{ relation }} (model_name, read_through)
    values ({{ dbt.string_literal(this.identifier) }}, now())
    on conflict (model_name) do update set read_through = excluded.read_through
{%- endmacro %}
