"""A daily incremental read costs the emulator the new day, not the tenant's history: alerts_v2 and incidents
filtered on lastUpdateDateTime draw only the days that can have changed (the change index), and secureScores
renders only the records a page returns, and control profiles stay cached while no state update is listed.
Counted, never timed."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from starlette.testclient import TestClient

from emulator.data import alerts, clear_caches, securescore
from emulator.data.alerts import RETENTION_DAYS, AlertFilter, alerts_as_of
from emulator.data.incidents import IncidentFilter, incidents_as_of
from emulator.data.profiles import control_profile_items, control_profiles, updates_listed
from emulator.data.securescore import record_created_us, record_days, secure_score_record
from emulator.data.timestamps import iso0, to_us
from emulator.graph import app as graph_app
from emulator.graph import security
from tests.support.emulator import make_context

TENANTS = 12
HISTORY_DAYS = RETENTION_DAYS + 1  # the days a 180-day window touches


@pytest.fixture
def ctx(tmp_path):
    clear_caches()
    context = make_context(tmp_path, tenants=TENANTS)
    yield context
    context.state.close()
    clear_caches()


def _count_calls(monkeypatch, module, name: str) -> list[int]:
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def _app_token(ctx, tenant: str) -> str:
    now = ctx.clock.timestamp()
    return ctx.tokens.mint(
        {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant}/",
            "tid": tenant,
            "appid": "11111111-2222-3333-4444-555555555555",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "roles": ["SecurityAlert.Read.All", "SecurityIncident.Read.All", "SecurityEvents.Read.All"],
        }
    )


def _odata_time(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _customers(ctx):
    return [c for c in ctx.portfolio if c.alert_rate > 0 and c.baked_fault != "no_security_license"]


def test_a_daily_alert_and_incident_read_draws_only_the_days_that_can_have_changed(ctx, monkeypatch):
    customers = _customers(ctx)
    assert customers
    first = ctx.now()
    for customer in customers:  # the first run draws every day of the window once
        list(alerts_as_of(customer, first))
    alerts._DAYS.clear()  # at 10,000 tenants the LRU of days has long evicted them by the next day
    drawn = _count_calls(monkeypatch, alerts, "_generate_day")
    daily = first + timedelta(days=1)
    since = first - timedelta(hours=12)  # the pipeline's watermark less its overlap
    found = {}
    for customer in customers:
        changed = AlertFilter(updated_gt=since, updated_le=daily)
        found[customer.tenant_id] = (
            [s.skeleton.id for s in alerts_as_of(customer, daily, changed)],
            [s.skeleton.id for s in incidents_as_of(customer, daily, IncidentFilter(updated_gt=since))],
        )
    # Without the index every one of the window's days is drawn again, for alerts and again for incidents
    # once the LRU has dropped them; with it, the new day and the few whose alerts still change.
    assert len(drawn) < 0.15 * HISTORY_DAYS * len(customers)
    monkeypatch.undo()
    alerts._CHANGES.clear()  # the same reads without the index: exactly the same answers
    low = to_us(since) + 1
    for customer in customers:
        every = list(alerts_as_of(customer, daily))
        assert found[customer.tenant_id][0] == [s.skeleton.id for s in every if s.last_update_us >= low]
        every_incident = list(incidents_as_of(customer, daily))
        assert found[customer.tenant_id][1] == [
            s.skeleton.id for s in every_incident if s.last_update_us >= low
        ]
    assert any(ids for ids, _ in found.values())  # the daily read did find changes


def test_the_daily_http_reads_pass_the_change_window_to_the_data_layer(ctx, monkeypatch):
    client = TestClient(graph_app.build_app(ctx), base_url="https://testserver")
    customer = _customers(ctx)[0]
    headers = {"Authorization": f"Bearer {_app_token(ctx, customer.tenant_id)}"}
    first = ctx.now()
    window = f"lastUpdateDateTime gt {_odata_time(first - timedelta(days=180))} and lastUpdateDateTime le {_odata_time(first)}"
    full = client.get("/v1.0/security/alerts_v2", params={"$filter": window, "$top": "2000"}, headers=headers)
    assert full.status_code == 200, full.text
    alerts._DAYS.clear()
    ctx.clock.advance(timedelta(days=1))
    daily_at = ctx.now()
    since = first - timedelta(hours=12)
    daily_window = (
        f"lastUpdateDateTime gt {_odata_time(since)} and lastUpdateDateTime le {_odata_time(daily_at)}"
    )
    headers = {"Authorization": f"Bearer {_app_token(ctx, customer.tenant_id)}"}  # a day later: a new token
    drawn = _count_calls(monkeypatch, alerts, "_generate_day")
    for path, top in (("/v1.0/security/alerts_v2", "2000"), ("/v1.0/security/incidents", "50")):
        response = client.get(path, params={"$filter": daily_window, "$top": top}, headers=headers)
        assert response.status_code == 200, response.text
        for item in response.json()["value"]:
            assert item["lastUpdateDateTime"] > _odata_time(since)
    assert len(drawn) < 0.15 * HISTORY_DAYS * 2


def test_a_daily_secure_score_read_renders_only_the_records_it_returns(ctx, monkeypatch):
    client = TestClient(graph_app.build_app(ctx), base_url="https://testserver")
    customer = _customers(ctx)[0]
    headers = {"Authorization": f"Bearer {_app_token(ctx, customer.tenant_id)}"}
    securescore._RECORD_BYTES.clear()
    rendered = _count_calls(monkeypatch, securescore, "_record_bytes")
    response = client.get(
        "/v1.0/security/secureScores",
        params={"$filter": f"createdDateTime le {_odata_time(ctx.now())}", "$top": "2"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    records = response.json()["value"]
    assert len(records) == 2
    assert len(rendered) == 2  # not the 90 days of history
    everything = client.get("/v1.0/security/secureScores", headers=headers).json()["value"]
    assert records == everything[:2]


def test_a_records_created_date_time_is_known_without_rendering_it(ctx):
    for customer in _customers(ctx)[:3]:
        for day in record_days(customer, ctx.now()):
            record = secure_score_record(customer, day)
            assert record is not None
            assert iso0(record_created_us(customer, day)) == record["createdDateTime"]


def test_control_profiles_spliced_from_cached_pieces_are_the_same_bytes(ctx):
    for customer in list(ctx.portfolio)[:4]:
        for days in (-400, -30, 0, 1, 200):
            now = ctx.now() + timedelta(days=days)
            expected = [orjson.dumps(p) for p in control_profiles(customer, now)]
            assert control_profile_items(customer, now) == expected


def test_a_new_days_control_profile_read_is_served_from_the_cache(ctx, monkeypatch):
    client = TestClient(graph_app.build_app(ctx), base_url="https://testserver")
    unchanged = [
        c
        for c in _customers(ctx)
        if updates_listed(c, ctx.now()) == updates_listed(c, ctx.now() + timedelta(days=1))
    ]
    assert unchanged
    first = {}
    for customer in unchanged:
        headers = {"Authorization": f"Bearer {_app_token(ctx, customer.tenant_id)}"}
        first[customer.tenant_id] = client.get("/v1.0/security/secureScoreControlProfiles", headers=headers)
    ctx.clock.advance(timedelta(days=1))
    rendered = _count_calls(monkeypatch, security, "control_profile_items")
    for customer in unchanged:
        headers = {"Authorization": f"Bearer {_app_token(ctx, customer.tenant_id)}"}
        daily = client.get("/v1.0/security/secureScoreControlProfiles", headers=headers)
        assert daily.status_code == 200, daily.text
        assert daily.json()["value"] == first[customer.tenant_id].json()["value"]
    assert rendered == []  # without the cache keyed on what profiles change with, one per tenant
