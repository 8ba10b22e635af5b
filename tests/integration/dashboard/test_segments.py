"""The segment filter: every page shows only the chosen segment's customers, and the filter lives in the URL."""

from __future__ import annotations

import psycopg
import pytest

from smart_office.dashboard import formatting as fmt
from tests.integration.dashboard.apptest import frame, metrics, open_page, texts
from tests.support.marts_data import LandedPortfolio

pytestmark = pytest.mark.integration

BREAK_FIX = "service_model:break-fix"


def _names(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> set[str]:
    return {row[0] for row in conn.execute(query, params).fetchall()}


def test_portfolio_filtered_by_segment_shows_only_its_customers(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    url, landed = marts_warehouse
    break_fix = [tenant for tenant, model in landed.service_models.items() if model == "break-fix"]
    # The segment's current customers with a score, from the landed attributes (not from the segment mart).
    expected = _names(
        superuser,
        "select company_name from marts.rpt_customer_posture"
        " where not is_departed and secure_score_pct is not null and tenant_id = any(%s::uuid[])",
        (break_fix,),
    )
    everyone = _names(
        superuser,
        "select company_name from marts.rpt_customer_posture where not is_departed and secure_score_pct is not null",
    )
    assert expected
    assert expected != everyone

    app = open_page(monkeypatch, url, "portfolio", segment=BREAK_FIX)
    assert set(frame(app, "company_name", "secure_score_pct")["company_name"]) == expected
    scored, current = superuser.execute(
        "select count(secure_score_pct), count(*) from marts.rpt_customer_posture"
        " where not is_departed and tenant_id = any(%s::uuid[])",
        (break_fix,),
    ).fetchone()
    assert metrics(app)["Customers scored"] == f"{scored} of {current}"
    assert "Segment **Service model: break-fix**" in texts(app)


def test_alerts_and_opportunities_filtered_by_segment_count_only_its_customers(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
) -> None:
    url, landed = marts_warehouse
    break_fix = [tenant for tenant, model in landed.service_models.items() if model == "break-fix"]
    app = open_page(monkeypatch, url, "opportunities", segment=BREAK_FIX)
    (customers,) = superuser.execute(
        "select count(distinct tenant_id) from marts.rpt_opportunities"
        " where not is_risk_accepted and tenant_id = any(%s::uuid[])",
        (break_fix,),
    ).fetchone()
    assert metrics(app)["Customers"] == fmt.count(customers)

    app = open_page(monkeypatch, url, "alerts", segment=BREAK_FIX)
    offered = app.selectbox(key="f_customer").options
    names = _names(
        superuser,
        "select company_name from marts.dim_customers where tenant_id = any(%s::uuid[])",
        (break_fix,),
    )
    assert offered
    assert {option.split(" (departed)")[0] for option in offered} <= names
    (open_alerts,) = superuser.execute(
        "select count(*) from marts.fct_alerts where is_open and tenant_id = any(%s::uuid[])", (break_fix,)
    ).fetchone()
    assert metrics(app)["Open now"] == fmt.count(open_alerts)


def test_the_segment_round_trips_through_the_url(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio", segment=BREAK_FIX)
    assert app.selectbox(key="f_segment").value == BREAK_FIX
    assert app.query_params["segment"] == BREAK_FIX
    app.selectbox(key="f_segment").set_value("service_model:managed").run()
    assert app.query_params["segment"] == "service_model:managed"
    # The navigation carries it to the other pages.
    links = {element.proto.page: element.proto.query_string for element in app.get("page_link")}
    assert all("segment=service_model%3Amanaged" in query for query in links.values()), links
    app.selectbox(key="f_segment").set_value(None).run()
    assert "segment" not in app.query_params


def test_a_segment_without_customers_in_the_link_is_ignored_and_said(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    app = open_page(monkeypatch, marts_warehouse[0], "portfolio", segment="industry:nowhere")
    assert "segment" not in app.query_params
    assert any("no customer is in the segment Industry: nowhere" in w.value for w in app.sidebar.warning)
