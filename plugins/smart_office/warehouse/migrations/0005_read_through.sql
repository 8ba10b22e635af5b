-- How far each tenant's endpoint has been read completely (`read_through`: the newest point in time of a run
-- whose extraction of it loaded), beside the watermark (the newest change time Graph sent). A quiet customer's
-- watermark can be months old while it is read every day: gaps are found from `read_through`, never from the
-- watermark. A tenant read with nothing ever sent has a row with no watermark.
alter table ops.watermarks alter column watermark drop not null;
alter table ops.watermarks add column read_through timestamptz;

-- Outcomes landed before history spans were recorded (0004) get the spans that version read: a first run
-- reached back 30 days of alerts and incidents (its SMART_OFFICE_ALERTS_INITIAL_DAYS default) and 90 days of
-- Secure Score; every run ended at its own point in time. Later runs read from the watermark, so claiming
-- the same reach for them is conservative: consecutive runs join into one stretch, and only a lapse longer
-- than that reach shows as a gap. Without this, an upgraded warehouse's history would start at the upgrade.
update ops.tenant_runs as t
set
    window_to = coalesce(r.logical_date, t.started_at),
    window_from = coalesce(r.logical_date, t.started_at)
    - case when t.endpoint = 'secure_scores' then interval '90 days' else interval '30 days' end
from ops.runs as r
where
    r.run_id = t.run_id
    and t.outcome = 'loaded'
    and t.window_to is null
    and t.endpoint in ('secure_scores', 'alerts_v2', 'incidents');

update ops.watermarks as w
set read_through = loaded.read_through
from (
    select
        tenant_id,
        endpoint,
        max(window_to) as read_through
    from ops.tenant_runs
    where outcome = 'loaded' and window_to is not null
    group by tenant_id, endpoint
) as loaded
where loaded.tenant_id = w.tenant_id and loaded.endpoint = w.endpoint;
