{#- A stable text key from several columns (md5 of their values joined by a separator that cannot occur). -#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|', {% for column in columns %}coalesce(cast({{ column }} as text), '∅'){{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}

{#-
    A tenant-day's Secure Score id, `{tenantId}_{yyyy-MM-dd}`: Graph's id for the day's record when Graph keeps to
    its format (lower-case tenant id), built from tenant and day so that one day is always one id.
-#}
{% macro secure_score_day_id(tenant_id, score_date) -%}
    ({{ tenant_id }}::text || '_' || to_char({{ score_date }}, 'YYYY-MM-DD'))
{%- endmacro %}
