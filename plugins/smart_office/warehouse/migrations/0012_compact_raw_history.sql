-- A year of raw history without a year's cost (issue 16, item 4).
--
-- 1. Raw payloads compressed with lz4 wherever the server has it. 0001 set it on the six tables it created;
--    this sets it on every raw table with a jsonb payload (0007's gdap_access_assignments was created after,
--    and tables added later get it from here on a re-run of the same loop). Servers built without lz4 keep
--    pglz: the warning says so, the migration does not fail. Setting a column's compression rewrites nothing;
--    rows landed before keep their method until `smart-office warehouse recompress` rewrites them.
-- 2. A BRIN index on every raw table's landing time (extracted_at), replacing the btree ones: raw rows are
--    appended in landing order, so a few hundred bytes of block ranges find the recent window that the
--    incremental models read, where a btree grows with every row (tens of MB a year at 10,000 tenants) and
--    costs every landed row an index insert. autosummarize keeps the newest range summarised between vacuums.
--
-- Idempotent by construction (checks before each change), like every statement in it.
do $$
declare
    t record;
    has_lz4 boolean;
begin
    select 'lz4' = any(enumvals) into has_lz4 from pg_settings where name = 'default_toast_compression';
    for t in
        select c.relname
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'raw' and c.relkind = 'r' and a.attname = 'payload' and a.atttypid = 'jsonb'::regtype
            and not a.attisdropped
        order by c.relname
    loop
        if coalesce(has_lz4, false) then
            execute format('alter table raw.%I alter column payload set compression lz4', t.relname);
        else
            raise warning 'lz4 not available on this server; raw.%.payload keeps pglz', t.relname;
        end if;
        execute format(
            'create index if not exists %I on raw.%I using brin (extracted_at) with (autosummarize = on)',
            t.relname || '_extracted_at_brin', t.relname
        );
        execute format('drop index if exists raw.%I', t.relname || '_extracted_at_idx');
    end loop;
end
$$;
