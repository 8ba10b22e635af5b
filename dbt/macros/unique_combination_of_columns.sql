{#-
    A primary key of several columns: no two rows share the combination (dbt_utils' test of the same name,
    written here because the project installs no packages). Rows where one of the columns is null are
    compared too (`group by` puts nulls together), so a missing part of the key is a duplicate, not a pass.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as duplicates
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
