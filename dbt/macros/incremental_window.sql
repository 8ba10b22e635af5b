{#-
    Incremental models read only raw rows landed since their last build (minus a look-back, for shards
    that committed late), so a daily build costs what the new data costs, not what the history costs.
-#}
{% macro incremental_window(column='extracted_at') -%}
    {%- if is_incremental() -%}
    where {{ column }} > (
        select coalesce(max(extracted_at), '-infinity'::timestamptz) from {{ this }}
    ) - interval '{{ var("incremental_lookback_hours") }} hours'
    {%- endif -%}
{%- endmacro %}
