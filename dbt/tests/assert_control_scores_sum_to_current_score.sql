-- Where a day is complete, the points of its controls add up to the day's currentScore (Microsoft's own
-- invariant, checked in fct_data_issues). A warning naming the tenant and the record: one customer's
-- inconsistent score never stops another customer's marts.
{{ config(severity='warn') }}

select
    tenant_id,
    entity_id as secure_score_id,
    version_id,
    observed_value
from {{ ref('fct_data_issues') }}
where
    issue = 'not_sum_of_control_scores'
    and {{ recent_rows_predicate() }}
