{#- The averageScore for one basis from a secureScore's averageComparativeScores array; negative or missing → null. -#}
{% macro comparative_score(array_column, basis) -%}
    (
        select case when (item ->> 'averageScore')::double precision >= 0 then (item ->> 'averageScore')::double precision end
        from jsonb_array_elements({{ array_column }}) as item
        where item ->> 'basis' = '{{ basis }}'
        limit 1
    )
{%- endmacro %}
