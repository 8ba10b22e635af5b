#!/usr/bin/env bash
# First start of the warehouse PostgreSQL (run by the postgres image from /docker-entrypoint-initdb.d):
# the marts reader role (NOLOGIN, as dbt's create_warehouse_roles() makes it) and the dashboard's own
# read-only login in it. dbt grants the role SELECT on the marts when it builds them.
#
# Environment: POSTGRES_USER, POSTGRES_DB (the image's), DASHBOARD_DB_USER, DASHBOARD_DB_PASSWORD,
# SMART_OFFICE_BI_READER_ROLE. The password travels as a psql variable, never inside the SQL text.
set -euo pipefail

: "${DASHBOARD_DB_USER:?DASHBOARD_DB_USER is not set}"
: "${DASHBOARD_DB_PASSWORD:?DASHBOARD_DB_PASSWORD is not set}"
: "${SMART_OFFICE_BI_READER_ROLE:=smart_office_bi_reader}"

psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v reader="$SMART_OFFICE_BI_READER_ROLE" \
    -v login="$DASHBOARD_DB_USER" \
    -v password="$DASHBOARD_DB_PASSWORD" \
    -v database="${POSTGRES_DB:-postgres}" <<'SQL'
select not exists (select from pg_roles where rolname = :'reader') as create_reader \gset
\if :create_reader
create role :"reader" nologin;
\endif
select not exists (select from pg_roles where rolname = :'login') as create_login \gset
\if :create_login
create role :"login" login;
\endif
alter role :"login" with login nosuperuser nocreatedb nocreaterole password :'password';
grant :"reader" to :"login";
grant connect on database :"database" to :"reader";
-- Read-only by default, even if a grant is ever too wide.
alter role :"login" set default_transaction_read_only = on;
SQL
echo "warehouse roles: ${SMART_OFFICE_BI_READER_ROLE} (marts reader), ${DASHBOARD_DB_USER} (dashboard login)"
