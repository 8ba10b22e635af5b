"""Every page, rendered by Streamlit's AppTest against dbt-built marts, shows the numbers SQL gives."""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest

from smart_office.dashboard import formatting as fmt
from tests.integration.dashboard.apptest import chart_specs, dashed_rules, frame, metrics, open_page, texts
from tests.support.marts_data import LandedPortfolio

pytestmark = pytest.mark.integration

PAGES = ("portfolio", "customer", "alerts", "opportunities")


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> tuple:  # type: ignore[type-arg]
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row


def _latest_run(conn: psycopg.Connection) -> str:
    return _one(conn, "select run_id from marts.fct_ingestion_coverage order by run_started_at desc limit 1")[
        0
    ]


# ------------------------------------------------------------------------------------------------ portfolio


def test_portfolio_ranks_the_worst_customer_first_as_sql_does(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio")
    worst_name, worst_pct = _one(
        superuser,
        "select company_name, secure_score_pct from marts.rpt_customer_posture "
        "where not is_departed and secure_score_pct is not null order by secure_score_pct, company_name limit 1",
    )
    ranked = frame(app, "company_name", "secure_score_pct", "score_change_30d_pct")
    assert ranked.iloc[0]["company_name"] == worst_name
    assert list(ranked["secure_score_pct"]) == sorted(ranked["secure_score_pct"])
    shown = metrics(app)
    assert shown["Lowest score"] == fmt.pct(worst_pct)
    assert f"Lowest: **{worst_name}**" in texts(app)
    (median,) = _one(
        superuser,
        "select percentile_cont(0.5) within group (order by secure_score_pct) from marts.rpt_customer_posture "
        "where not is_departed",
    )
    assert shown["Median score"] == fmt.pct(median)
    scored, current = _one(
        superuser,
        "select count(secure_score_pct), count(*) from marts.rpt_customer_posture where not is_departed",
    )
    assert shown["Customers scored"] == f"{scored} of {current}"


def test_portfolio_coverage_equals_fct_ingestion_coverage(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    url, landed = marts_warehouse
    app = open_page(monkeypatch, url, "portfolio")
    run_id = _latest_run(superuser)
    attempted, loaded = _one(
        superuser,
        "select max(customers_attempted), max(customers_loaded) from marts.fct_ingestion_coverage where run_id = %s",
        (run_id,),
    )
    failed = _one(
        superuser,
        "select coalesce(sum(customers), 0) from marts.fct_ingestion_coverage where run_id = %s and outcome = 'failed'",
        (run_id,),
    )[0]
    shown = metrics(app)
    assert shown["Loaded"] == f"{loaded} of {attempted}"
    assert shown["Failed"] == str(failed)
    # The generated last run failed two customers: the page says so rather than looking complete.
    assert failed == len(landed.failed_last_run) == 2
    assert loaded < attempted
    assert f"{attempted - loaded} of {attempted} customers were not fully loaded" in texts(app)
    reasons = frame(app, "outcome", "reason", "customers")
    expected = superuser.execute(
        "select outcome, reason, customers from marts.fct_ingestion_coverage "
        "where run_id = %s and outcome <> 'loaded'",
        (run_id,),
    ).fetchall()
    assert sorted(zip(reasons["reason"], reasons["customers"], strict=True)) == sorted(
        (fmt.reason(reason), customers) for _, reason, customers in expected
    )
    assert "consent required" in set(reasons["reason"])


def test_portfolio_lists_customers_without_a_score(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio")
    expected = {
        name
        for (name,) in superuser.execute(
            "select company_name from marts.rpt_customer_posture where not is_departed and secure_score_pct is null"
        )
    }
    assert expected, "the generated portfolio has a customer without delegated access"
    unscored = frame(app, "company_name", "access_state")
    assert set(unscored["company_name"]) == expected
    assert f"{len(expected)} current customers have no Secure Score" in texts(app)


def test_portfolio_freshness_shows_customers_behind_the_last_run(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio")
    summary = frame(app, "dataset", "up_to_date", "behind")
    behind = dict(zip(summary["dataset"], summary["behind"], strict=True))
    # The consent failure missed every dataset, the throttled tenant missed alerts only.
    assert behind["alerts"] == 2
    assert behind["Secure Scores"] == 1


def test_portfolio_lists_the_customers_whose_microsoft_data_had_issues(
    monkeypatch: pytest.MonkeyPatch, odd_records_warehouse: tuple[str, LandedPortfolio]
) -> None:
    url, landed = odd_records_warehouse
    app = open_page(monkeypatch, url, "portfolio")
    with psycopg.connect(url) as conn:
        expected = conn.execute(
            "select customers.company_name, count(distinct (issues.entity, issues.entity_id, issues.version_id)),"
            " count(*) filter (where issues.detected_by = 'staging'),"
            " count(*) filter (where issues.detected_by = 'loader')"
            " from marts.fct_data_issues as issues join marts.dim_customers as customers using (tenant_id)"
            " group by customers.company_name"
        ).fetchall()
        (odd_name,) = _one(
            conn,
            "select company_name from marts.dim_customers where tenant_id = %s",
            (landed.odd_records_tenant,),
        )
    shown = frame(app, "company_name", "records", "coerced", "quarantined", "most_common")
    assert sorted(
        zip(shown["company_name"], shown["records"], shown["coerced"], shown["quarantined"], strict=True)
    ) == sorted(expected)
    assert list(shown["company_name"]) == [odd_name]
    assert shown.iloc[0]["coerced"] >= 3  # evidence, mitreTechniques, lastUpdateDateTime
    assert "Only these customers' figures are affected" in texts(app)


def test_portfolio_says_when_microsofts_data_had_no_issues(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio")
    assert "nothing coerced, inconsistent or quarantined" in texts(app)


def test_portfolio_empty_warehouse_says_no_data_yet(
    monkeypatch: pytest.MonkeyPatch, empty_warehouse: str
) -> None:
    app = open_page(monkeypatch, empty_warehouse, "portfolio")
    assert "No data yet: the first run has not finished" in texts(app)
    assert metrics(app) == {}
    assert not app.dataframe


def test_unbuilt_marts_are_explained(monkeypatch: pytest.MonkeyPatch, unbuilt_warehouse: str) -> None:
    app = open_page(monkeypatch, unbuilt_warehouse, "portfolio")
    assert "the marts have not been built" in texts(app)


@pytest.mark.parametrize("page", PAGES[1:])
def test_other_pages_on_an_empty_warehouse_say_no_data_yet(
    monkeypatch: pytest.MonkeyPatch, empty_warehouse: str, page: str
) -> None:
    app = open_page(monkeypatch, empty_warehouse, page)
    assert "No data yet: the first run has not finished" in texts(app)
    assert metrics(app) == {}


# ------------------------------------------------------------------------------------------------- customer


def test_customer_page_matches_the_posture_mart(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    url, _ = marts_warehouse
    tenant, name, pct, rank, size, gap_all = _one(
        superuser,
        "select tenant_id::text, company_name, secure_score_pct, portfolio_rank, portfolio_size, gap_to_all_tenants_pct "
        "from marts.rpt_customer_posture where secure_score_pct is not null "
        "order by open_high_severity_alerts desc, tenant_id limit 1",
    )
    app = open_page(monkeypatch, url, "customer", customer=tenant)
    assert app.header[0].value == name
    shown = metrics(app)
    assert shown["Secure Score"] == fmt.pct(pct)
    assert shown["Rank in portfolio"] == f"{rank} of {size}"
    assert shown["vs Microsoft: all tenants"] == fmt.pp(gap_all)
    top_control = _one(
        superuser,
        "select d.title from marts.fct_control_scores s join marts.dim_controls d using (control_id) "
        "where s.tenant_id = %s::uuid and s.score_date = (select latest_score_date from marts.rpt_customer_posture "
        "where tenant_id = %s::uuid) and s.is_applicable and not d.is_deprecated and not s.is_implemented "
        "order by s.points_gap desc, d.rank nulls last, d.title limit 1",
        (tenant, tenant),
    )[0]
    controls = frame(app, "title", "points_gap", "user_impact", "implementation_cost", "action_url")
    assert controls.iloc[0]["title"] == top_control
    assert list(controls["points_gap"]) == sorted(controls["points_gap"], reverse=True)
    (open_high,) = _one(
        superuser,
        "select count(*) from marts.fct_alerts where tenant_id = %s::uuid and is_open and severity = 'high'",
        (tenant,),
    )
    assert open_high > 0, "the busiest generated customer has open high-severity alerts"
    assert shown["Open high-severity alerts"] == str(open_high)
    assert len(frame(app, "title", "age_days", "alert_web_url")) == open_high


def test_customer_that_failed_the_last_run_is_flagged(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    url, landed = marts_warehouse
    tenant = next(t for t, state in landed.failed_last_run.items() if state == "consent_required")
    app = open_page(monkeypatch, url, "customer", customer=tenant)
    warnings = [w.value for w in app.warning]
    assert any("were not loaded by the last run (consent required)" in w for w in warnings), warnings


def test_customer_that_cannot_be_read_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    url, landed = marts_warehouse
    tenant, access = next((t, a) for t, a in landed.not_extractable.items() if a not in {"gdap", "dap"})
    (remedy,) = superuser.execute("select ops.access_remedy(%s)", (access,)).fetchone()
    assert remedy
    app = open_page(monkeypatch, url, "customer", customer=tenant)
    warnings = [w.value for w in app.warning]
    assert any("The pipeline cannot read this tenant" in w and remedy in w for w in warnings), warnings


def test_customer_page_without_a_customer_offers_the_worst_ones(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "customer")
    assert "Pick a customer" in texts(app)
    (worst,) = _one(
        superuser,
        "select company_name from marts.rpt_customer_posture where not is_departed and secure_score_pct is not null "
        "order by secure_score_pct, company_name limit 1",
    )
    links = [element.proto.label for element in app.get("page_link")]
    assert any(label.startswith(worst) for label in links), links


def test_unknown_customer_in_the_link_is_ignored_and_said(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "customer", customer="not-a-tenant")
    assert any("Ignored from the link: customer 'not-a-tenant'" in w.value for w in app.sidebar.warning)
    assert "customer" not in app.query_params


# --------------------------------------------------------------------------------------------------- alerts


def test_alerts_page_counts_match_fct_alerts(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "alerts", severity="high,medium")
    (latest,) = _one(superuser, "select max(score_date) from marts.fct_secure_scores")
    # A customer counts on the days its alert history is complete (fct_tenant_history's rule).
    created, open_now = _one(
        superuser,
        "select count(*) filter (where created_date between %s::date - 89 and %s::date "
        "and created_date >= coalesce(h.complete_from_date, created_date)), count(*) filter (where is_open) "
        "from marts.fct_alerts as a left join marts.fct_tenant_history as h "
        "on h.tenant_id = a.tenant_id and h.dataset = 'alerts_v2' where severity in ('high', 'medium')",
        (latest, latest),
    )
    tp, classified = _one(
        superuser,
        "select count(*) filter (where classification = 'truePositive'), count(*) filter (where classification in "
        "('truePositive', 'falsePositive', 'informationalExpectedActivity')) from marts.fct_alerts "
        "where resolved_date between %s::date - 89 and %s::date and severity in ('high', 'medium')",
        (latest, latest),
    )
    shown = metrics(app)
    assert created > 0
    assert shown["Alerts created"] == fmt.count(created)
    assert shown["Open now"] == fmt.count(open_now)
    assert shown["True-positive rate"] == fmt.share(tp / classified)
    assert app.multiselect[0].value == ["high", "medium"]


def test_alerts_page_counts_a_customer_only_from_the_day_its_history_is_complete(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "alerts")
    (latest,) = _one(superuser, "select max(score_date) from marts.fct_secure_scores")
    customers, whole, late_from = _one(
        superuser,
        "select count(*), count(*) filter (where complete_from_date <= %s::date - 89), max(complete_from_date) "
        "from marts.fct_tenant_history where dataset = 'alerts_v2'",
        (latest,),
    )
    # The generated portfolio has one customer whose first run reached back only 30 days.
    assert whole == customers - 1
    shown = texts(app)
    assert (
        f"{whole} of {customers} customers are complete over the whole range, 1 only from a later day"
        in shown
    )
    assert f"from {late_from:%d %b %Y} every customer counts (dashed line)" in shown
    # ... and the dashed line is drawn there, on the volume and the backlog charts.
    marked = []
    for spec in chart_specs(app):
        for rule in dashed_rules(spec):
            rows = spec["datasets"][rule["data"]["name"]]
            marked.append(pd.Timestamp(rows["day"].iloc[0]).date())
    assert marked == [late_from, late_from]
    # Before that day the series leaves that customer out: its alerts created earlier (but updated later,
    # so extracted) would otherwise show as a jump the day its history starts.
    early = _one(
        superuser,
        "select count(*) from marts.fct_alerts a join marts.fct_tenant_history h on h.tenant_id = a.tenant_id "
        "and h.dataset = 'alerts_v2' where a.created_date < h.complete_from_date",
    )[0]
    assert early > 0


def test_alerts_page_with_a_range_without_alerts_says_so(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "alerts", **{"from": "2020-01-01", "to": "2020-01-31"})
    assert "No alerts in this range (01 Jan 2020 to 31 Jan 2020)" in texts(app)
    assert metrics(app)["Alerts created"] == "0"


def test_changing_a_filter_rewrites_the_url_and_the_url_restores_it(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "alerts")
    assert "severity" not in app.query_params
    app.multiselect(key="f_severity").set_value(["high"]).run()
    assert app.query_params["severity"] == "high"
    (tenant,) = _one(
        superuser, "select tenant_id::text from marts.fct_alerts group by 1 order by count(*) desc limit 1"
    )
    app.selectbox(key="f_customer").set_value(tenant).run()
    assert app.query_params["customer"] == tenant
    assert app.query_params["severity"] == "high"
    (created,) = _one(
        superuser,
        "select count(*) from marts.fct_alerts as a left join marts.fct_tenant_history as h "
        "on h.tenant_id = a.tenant_id and h.dataset = 'alerts_v2' "
        "where a.tenant_id = %s::uuid and severity = 'high' "
        "and created_date >= coalesce(h.complete_from_date, created_date) "
        "and created_date between (select max(score_date) from marts.fct_secure_scores) - 89 "
        "and (select max(score_date) from marts.fct_secure_scores)",
        (tenant,),
    )
    assert metrics(app)["Alerts created"] == fmt.count(created)
    # The navigation carries the filters to the other pages.
    links = {element.proto.page: element.proto.query_string for element in app.get("page_link")}
    assert all(f"customer={tenant}" in query and "severity=high" in query for query in links.values()), links


# -------------------------------------------------------------------------------------------- opportunities


def test_opportunities_rank_controls_as_sql_does(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "opportunities")
    top = superuser.execute(
        "select d.title, count(*), sum(o.score_gain_points) from marts.rpt_opportunities o "
        "join marts.dim_controls d using (control_id) where not o.is_risk_accepted "
        "group by d.title, d.rank order by count(*) desc, sum(o.score_gain_points) desc, d.rank nulls last, d.title "
        "limit 3"
    ).fetchall()
    table = frame(app, "title", "customers", "points")
    assert [(r.title, r.customers) for r in table.head(3).itertuples()] == [(t, n) for t, n, _ in top]
    assert table.iloc[0]["points"] == pytest.approx(top[0][2])
    (points,) = _one(
        superuser, "select sum(score_gain_points) from marts.rpt_opportunities where not is_risk_accepted"
    )
    # Summing doubles in another order can move the last printed digit; the page rounds to 0.1.
    assert float(metrics(app)["Points available"].replace(",", "")) == pytest.approx(points, abs=0.051)
    who = frame(app, "company_name", "score_gain_points", "action_url")
    assert len(who) == top[0][1]
    assert app.get("download_button"), "the CSV export is offered"


@pytest.mark.parametrize("page", ["portfolio", "customer", "alerts", "opportunities"])
def test_one_customers_odd_records_break_no_page(
    monkeypatch: pytest.MonkeyPatch, odd_records_warehouse: tuple[str, LandedPortfolio], page: str
) -> None:
    url, landed = odd_records_warehouse
    query = {"customer": landed.odd_records_tenant} if page == "customer" else {}
    app = open_page(monkeypatch, url, page, **query)  # asserts no exception
    assert not app.error, [e.value for e in app.error]
    if page == "alerts":
        # An open alert created at a time Microsoft sent unreadable is in the backlog, of unknown age.
        with psycopg.connect(url) as conn:
            (unknown,) = _one(
                conn, "select count(*) from marts.fct_alerts where is_open and created_at is null"
            )
        assert unknown > 0
        bars = [
            spec["datasets"][name]
            for spec in chart_specs(app)
            for name in spec["datasets"]
            if "age_band" in spec["datasets"][name].columns
        ]
        assert bars, "no backlog-by-age chart"
        shown = bars[0]
        assert shown.loc[shown["age_band"] == "age unknown", "alerts"].sum() == unknown


def test_the_customer_page_says_from_when_the_customers_alert_history_is_complete(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    # The generated portfolio has one customer whose first run reached back only 30 days.
    (tenant, complete_from) = _one(
        superuser,
        "select tenant_id::text, complete_from_date from marts.fct_tenant_history where dataset = 'alerts_v2' "
        "order by complete_from_date desc limit 1",
    )
    app = open_page(monkeypatch, marts_warehouse[0], "customer", customer=tenant)
    assert (
        f"This customer's alert history is complete from {complete_from:%d %b %Y} (its first extraction reached "
        "back to then); days before it are left out (dashed line)." in texts(app)
    )
    marked = [
        pd.Timestamp(spec["datasets"][rule["data"]["name"]]["day"].iloc[0]).date()
        for spec in chart_specs(app)
        for rule in dashed_rules(spec)
    ]
    assert marked == [complete_from]
    # A customer complete over the whole range gets neither.
    (other,) = _one(
        superuser,
        "select tenant_id::text from marts.fct_tenant_history where dataset = 'alerts_v2' and tenant_id <> %s "
        "order by complete_from_date limit 1",
        (tenant,),
    )
    app = open_page(monkeypatch, marts_warehouse[0], "customer", customer=other)
    assert "alert history is complete from" not in texts(app)
    assert not [rule for spec in chart_specs(app) for rule in dashed_rules(spec)]


# ------------------------------------------------------------------------------------------------ polish


def _worst_tenant(conn: psycopg.Connection) -> str:
    return _one(
        conn,
        "select tenant_id::text from marts.rpt_customer_posture where secure_score_pct is not null "
        "order by open_high_severity_alerts desc, tenant_id limit 1",
    )[0]


@pytest.mark.parametrize("page", PAGES)
def test_no_table_cell_reads_none(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
    page: str,
) -> None:
    """A missing value shows as a dash (Streamlit draws the word "None" unless told), and no value the page
    shows as text is the word either (Microsoft rates some controls' user impact "None")."""
    query = {"customer": _worst_tenant(superuser)} if page == "customer" else {}
    app = open_page(monkeypatch, marts_warehouse[0], page, **query)
    tables = list(app.dataframe)
    assert tables
    assert [table.proto.placeholder for table in tables] == [fmt.DASH] * len(tables)
    for table in tables:
        text = table.value.select_dtypes(include=["object", "str"])
        assert not text.isin(["None"]).any().any(), text.columns.tolist()


def _labels(app, column: str) -> set[str]:  # type: ignore[no-untyped-def]
    """The values of `column` across the page's charts."""
    return {
        str(value)
        for spec in chart_specs(app)
        for rows in spec["datasets"].values()
        if column in rows.columns
        for value in rows[column]
    }


def test_alerts_page_names_products_categories_and_techniques_from_the_marts(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "alerts")
    labels = _labels(app, "value")
    sources = superuser.execute(
        "select distinct service_source, service_source_name from marts.fct_alert_volume_daily"
    ).fetchall()
    # Product names as the mart gives them, never the serviceSource member.
    assert {name for _, name in sources if name} & labels
    assert not {source for source, _ in sources} & labels
    categories = [
        c for (c,) in superuser.execute("select distinct category from marts.fct_alerts").fetchall() if c
    ]
    assert "CommandAndControl" in categories or "InitialAccess" in categories
    # Categories in words; a one-word category reads the same both ways.
    shown_categories = {fmt.category(c) for c in categories}
    assert "Initial access" in labels or "Command and control" in labels
    assert not set(categories) & (labels - shown_categories)
    (top_id, top_name) = _one(
        superuser,
        "select t.technique, d.technique_name from marts.fct_alerts as a cross join lateral "
        "unnest(a.mitre_techniques) as t(technique) join marts.dim_mitre_techniques as d on d.technique_id = "
        "t.technique group by t.technique, d.technique_name order by count(*) desc limit 1",
    )
    assert f"{top_id} {top_name}" in _labels(app, "technique")


def test_opportunities_note_counts_pairs_and_controls_left_out(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    pairs, controls = _one(
        superuser,
        "select count(*), count(distinct control_id) from marts.rpt_opportunities where is_risk_accepted",
    )
    assert pairs > controls > 0, "the generated portfolio has controls ignored by several customers"
    app = open_page(monkeypatch, marts_warehouse[0], "opportunities")
    assert fmt.risk_accepted_note(pairs, controls) in texts(app)
    assert f"{pairs} customer-control pairs ({controls} different controls)" in texts(app)
