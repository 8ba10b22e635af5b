"""Every query the dashboard runs, one module per page (`portfolio`, `customer`, `alerts`, `opportunities`) beside
the shared `status` and `history`, against schema `marts` only, composed with psycopg.sql.

Queries aggregate in PostgreSQL and return a few hundred rows at most: the fact tables are never pulled into
pandas. Date filters hit the marts' indexes (`fct_secure_scores (score_date)`, `fct_alerts (created_date)`,
`(tenant_id, created_date)`, `(resolved_date)`, `fct_alert_volume_daily (activity_date)`, …). The rules behind
the figures — what is open, extractable, stale, a true positive — are mart columns; the queries read them and
restate none. These modules know nothing of Streamlit, so the static export and the benchmark run them as they
are. Each module names the marts it reads as module constants (`marts.mart`); the dbt exposures list them.
"""
