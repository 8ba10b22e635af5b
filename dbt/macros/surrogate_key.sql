{#- A stable text key from several columns (md5 of their values joined by a separator that cannot occur). -#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|', {% for column in columns %}coalesce(cast({{ column }} as text), '∅'){{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}
