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
            {%- set watermark = run_query(
                "select (coalesce(max(extracted_at), '-infinity'::timestamptz) - interval '"
                ~ var('incremental_lookback_hours') ~ " hours')::text from " ~ this
            ).columns[0].values()[0] -%}
    where {{ column }} > '{{ watermark }}'::timestamptz
        {%- else -%}
    where {{ column }} > (
        select coalesce(max(extracted_at), '-infinity'::timestamptz) from {{ this }}
    ) - interval '{{ var("incremental_lookback_hours") }} hours'
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
