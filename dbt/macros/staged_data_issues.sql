{#-
    The data issues a staging model recorded, one row per issue: `relation` has tenant_id, version_id,
    data_issues, data_issue_values, extracted_at, run_id and the entity's id in `id_column`. Incremental
    builds read the versions landed by the latest run (macros/incremental_window.sql).
-#}
{% macro staged_data_issues(relation, entity, id_column) -%}
    select
        staged.tenant_id,
        '{{ entity }}'::text as entity,
        staged.{{ id_column }}::text as entity_id,
        staged.version_id,
        regexp_replace(issue.code, ':[^:]*$', '') as field,
        substring(issue.code from ':([^:]*)$') as issue,
        'staging'::text as detected_by,
        issue.observed as observed_value,
        staged.extracted_at,
        staged.run_id
    from {{ relation }} as staged
    cross join lateral unnest(staged.data_issues, staged.data_issue_values) as issue (code, observed)
    {{ incremental_window_since_last_read('staged.extracted_at') }}
{%- endmacro %}
