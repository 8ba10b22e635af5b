{#-
    The warehouse's "now": the point in time of the latest pipeline run (its data interval end), not the
    database clock — so a warehouse built from a replay, a backfill or the emulator reads consistently.
-#}
{% macro as_of_timestamp() -%}
    (select coalesce(max(run_as_of), max(started_at)) from {{ ref('stg_ops__runs') }})
{%- endmacro %}
