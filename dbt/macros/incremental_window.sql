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
    says nothing about what it has read, so an incremental build reads the rows landed since the latest pipeline
    run started, minus the look-back — what that run landed, the builds running after every run. A run whose
    build failed is read again by the weekly full refresh.
-#}
{% macro incremental_window_since_latest_run(column='extracted_at', keyword='where') -%}
    {%- if is_incremental() -%}
        {%- if execute and model.resource_type != 'unit_test' -%}
    {{ keyword }} {{ column }} >= {{ lookback_literal(ref('stg_ops__runs'), 'started_at') }}
        {%- else -%}
    {{ keyword }} {{ column }} >= (
        select coalesce(max(started_at), '-infinity'::timestamptz) from {{ ref('stg_ops__runs') }}
    ) - interval '{{ var("incremental_lookback_hours") }} hours'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
