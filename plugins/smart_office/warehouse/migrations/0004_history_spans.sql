-- Where each tenant's history is complete: the span of source time a loaded endpoint covered in a run.
-- A first run covers what Microsoft keeps (180 days of alerts and incidents, 90 of Secure Score); later
-- runs continue from the watermark; a tenant back after a lapse longer than the retention starts a new
-- span, and the hole between the spans is its history gap (dbt: int_tenant_history_spans).
alter table ops.tenant_runs add column window_from timestamptz;
alter table ops.tenant_runs add column window_to timestamptz;
