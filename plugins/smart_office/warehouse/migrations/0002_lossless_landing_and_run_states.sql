-- Nothing Graph sends is lost, and no run stays "running" after its process died.
--
-- Raw tables: a payload PostgreSQL cannot store as sent (a NUL character in a string, bytes that are not
-- UTF-8) lands with those characters replaced by U+FFFD; `original_payload` keeps the exact canonical
-- bytes as received and `repairs` says what was replaced. payload_hash is the hash of the original bytes,
-- so the version identity of such an item does not depend on the repair.
do $$
declare
    t text;
begin
    foreach t in array array[
        'partner_center_customers', 'gdap_relationships', 'secure_scores',
        'secure_score_control_profiles', 'alerts_v2', 'incidents'
    ] loop
        execute format('alter table raw.%I add column original_payload bytea', t);
        execute format('alter table raw.%I add column repairs text[]', t);
    end loop;
end
$$;

-- Quarantine: what could not be landed at all (no id, not an object, a page that is not JSON). The same
-- bad item seen by every run is one row, with when it was first and last seen.
alter table raw.quarantine add column payload_hash bytea;
alter table raw.quarantine add column source_updated_at timestamptz;
alter table raw.quarantine add column last_run_id text;
alter table raw.quarantine add column last_received_at timestamptz;
update raw.quarantine
set
    payload_hash = sha256(coalesce(payload_bytes, convert_to(coalesce(payload_text, ''), 'UTF8'))),
    last_run_id = run_id,
    last_received_at = received_at;
delete from raw.quarantine as newer
using raw.quarantine as older
where
    newer.quarantine_id > older.quarantine_id
    and newer.tenant_id is not distinct from older.tenant_id
    and newer.endpoint = older.endpoint
    and newer.reason = older.reason
    and newer.payload_hash = older.payload_hash;
alter table raw.quarantine alter column payload_hash set not null;
create unique index quarantine_item_key
on raw.quarantine (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), endpoint, reason, payload_hash);

-- Runs: `abandoned` is a run whose process died before it could close it (found by the next run).
alter table ops.runs drop constraint runs_status_check;
alter table ops.runs add constraint runs_status_check
check (status in ('running', 'succeeded', 'failed', 'abandoned'));

-- Outcomes count the items that landed repaired beside those quarantined.
alter table ops.tenant_runs add column repaired integer not null default 0;
