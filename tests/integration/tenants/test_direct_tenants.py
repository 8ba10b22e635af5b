"""Direct tenants and the pilot, end to end: ops.tenants → discovery → extraction with each tenant's own
credential (real MSAL over HTTPS against the emulator) → outcomes, coverage and the run summary → dim_customers."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from typer.testing import CliRunner

from emulator.browser import ScriptedBrowser
from smart_office.auth.consent import run_consent
from smart_office.auth.errors import AuthError, AuthState
from smart_office.auth.stores import REFRESH_TOKEN_NAME, PostgresSecretStore, tenant_refresh_token_name
from smart_office.cli import app
from smart_office.dbt_runner import run_dbt
from smart_office.pipeline import discover_customers, extract_shard, finalize_run, prepare_warehouse
from smart_office.runtime import build_exchanger
from smart_office.settings import Settings
from smart_office.summary import read_run_summary, render_run_summary
from smart_office.tenants.consent_url import admin_consent_url
from smart_office.tenants.registry import TenantRegistry
from smart_office.tenants.scope import planned_scope
from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.partner import seeded_partner_env
from tests.support.warehouse import fresh_database

NOW = "2026-11-02T09:00:00+00:00"


@dataclass
class Setup:
    handle: EmulatorHandle
    settings: Settings
    url: str
    now: datetime
    env: dict[str, str]

    def run(self, run_id: str) -> dict[str, Any]:
        prepare_warehouse(self.settings)
        plan = discover_customers(self.settings, run_id=run_id, as_of=self.now)
        for shard in range(plan["shards"]):
            extract_shard(self.settings, run_id=run_id, shard=shard, shards=plan["shards"], as_of=self.now)
        return {"plan": plan, "coverage": finalize_run(self.settings, run_id=run_id)}

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def registry(self) -> Iterator[TenantRegistry]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            yield TenantRegistry(conn)

    def tokens(self, run_id: str) -> dict[str, tuple[str, str]]:
        rows = self.query(
            "select tenant_id::text, outcome, state from ops.tenant_runs where run_id = %s and endpoint = 'token'",
            run_id,
        )
        return {t: (o, s) for t, o, s in rows}


@pytest.fixture
def setup(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[Setup]:
    handle = emulator_factory(tenants=6, seed=5, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        env = {
            **seeded_partner_env(handle, url, tmp_path),
            "SMART_OFFICE_COVERAGE_THRESHOLD": "0",
            # Every rotated refresh token is written back at once, so a test sees the rotation in the store.
            "SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS": "0",
        }
        yield Setup(handle, Settings.from_env(env), url, datetime.fromisoformat(NOW), env)


def _readable(handle: EmulatorHandle) -> list[str]:
    return [c["tenant_id"] for c in handle.customers() if c["listed"] and c["can_read_security"]]


def test_pilot_and_exclusions_decide_who_is_read_and_are_reported(setup: Setup) -> None:
    readable = _readable(setup.handle)
    listed = [c["tenant_id"] for c in setup.handle.customers() if c["listed"]]
    assert len(readable) >= 3
    pilot, excluded = readable[:2], readable[2]
    for registry in setup.registry():
        for tenant in pilot:
            registry.include(tenant, by="ana", reason="pilot")
        registry.include(excluded, by="ana", reason="pilot")
        registry.exclude(excluded, by="ben", reason="customer asked to stop")  # exclusion wins over the pilot
    result = setup.run("run-pilot")
    # Only the pilot was read; the excluded tenant and every other customer were not.
    assert set(setup.tokens("run-pilot")) == set(pilot)
    assert result["coverage"]["loaded"] == len(pilot)
    assert result["coverage"]["not_extractable_by_state"] == {
        "excluded": 1,
        "not_in_pilot": len(listed) - len(pilot) - 1,
    }
    assert result["plan"]["not_extractable_by_reason"] == result["coverage"]["not_extractable_by_state"]
    # The run summary says how many were in scope and why the rest were not.
    with psycopg.connect(setup.url) as conn:
        summary = read_run_summary(conn, "run-pilot")
        assert summary is not None
        lines = [line for line in render_run_summary(summary) if isinstance(line, str)]
        assert (
            f"in scope: 2 of {len(listed)} customers; not read: {len(listed) - 3} not_in_pilot, 1 excluded"
            in lines
        )
        # check-config's view of the next run: today's lists over the latest run's customers.
        assert planned_scope(conn).sentence() == (
            f"scope: in scope: 2 of {len(listed)} customers; not read: {len(listed) - 3} not_in_pilot, 1 excluded "
            "(pilot of 2, 1 excluded; the customers of run run-pilot)"
        )
    # Ending the pilot (clearing its entries) puts every readable customer back in scope, the exclusion stays.
    for registry in setup.registry():
        for tenant in pilot:
            registry.clear(tenant, by="ana")
    setup.run("run-all")
    assert set(setup.tokens("run-all")) == set(readable) - {excluded}


def test_direct_tenant_app_only_after_admin_consent(setup: Setup, tmp_path: Path) -> None:
    target = tmp_path / "dbt-target"
    direct = setup.handle.admin_get("/portfolio/direct")
    tenant = direct[0]["tenant_id"]
    # Partner Center does not list it and the partner has no delegated access to it.
    assert tenant not in {c["tenant_id"] for c in setup.handle.customers()}
    for registry in setup.registry():
        registry.add(tenant, credential="app_only", by="ana", display_name="Direct Co")
    # Before its admin consented, the app has no service principal there: AADSTS7000229, that tenant's
    # consent_required outcome (never the partner's failure: the other customers are read).
    first = setup.run("run-1")
    assert setup.tokens("run-1")[tenant] == ("failed", "consent_required")
    assert first["coverage"]["loaded"] == len(_readable(setup.handle))
    assert first["coverage"]["failed_by_state"] == {"consent_required": 1}
    # Its admin opens the consent URL `smart-office tenants consent-url` prints (here on the emulator's host).
    url = admin_consent_url(setup.settings.cloud, tenant, setup.settings.client_id)
    assert url.startswith(f"{setup.handle.identity}/{tenant}/adminconsent?")
    answer = setup.handle.http_session().get(url, allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert (location.scheme, location.netloc) == ("http", "localhost:8400")
    assert parse_qs(location.query) == {"admin_consent": ["True"], "tenant": [tenant]}
    second = setup.run("run-2")
    assert setup.tokens("run-2")[tenant] == ("loaded", "ok")
    assert second["coverage"]["failed_by_state"] == {}
    rows = dict(setup.query("select tenant_id::text, count(*) from raw.secure_scores group by 1"))
    assert rows[tenant] > 0
    assert setup.query(
        "select source, access_state, company_name from ops.customer_snapshots where run_id = 'run-2' and tenant_id = %s",
        tenant,
    ) == [("direct", "direct", "Direct Co")]
    # The marts know it as a direct customer, read like the others (dim_customers, the rule's own function).
    built = run_dbt(
        ["build", "--select", "+dim_customers", "--indirect-selection", "cautious"],
        setup.url,
        capture=True,
        target_path=target,
    )
    assert built.returncode == 0, built.stdout[-4000:]
    assert setup.query(
        "select tenant_id::text, source, access_state, company_name, is_extractable from marts.dim_customers "
        "where source = 'direct' or tenant_id = %s",
        tenant,
    ) == [(tenant, "direct", "direct", "Direct Co", True)]
    sources = dict(setup.query("select source, count(*) from marts.dim_customers group by 1"))
    listed = setup.query("select count(*) from ops.customers where source = 'partner_center'")[0][0]
    assert sources == {"direct": 1, "partner_center": listed}


def test_direct_tenant_delegated_by_its_own_admins_consent(setup: Setup) -> None:
    tenant = setup.handle.admin_get("/portfolio/direct")[1]["tenant_id"]
    for registry in setup.registry():
        registry.add(tenant, credential="delegated", by="ana")
    # Not consented yet: no refresh token of that tenant is stored, that tenant's consent_required outcome.
    setup.run("run-1")
    assert setup.tokens("run-1")[tenant] == ("failed", "consent_required")
    store = PostgresSecretStore(setup.url, list(setup.settings.token_store_keys))
    partner_token = store.get(REFRESH_TOKEN_NAME)
    # `smart-office consent --tenant T`: the tenant's own admin signs in at that tenant (the scripted browser).
    stored = run_consent(
        setup.settings,
        open_browser=ScriptedBrowser(setup.handle.http_session()),
        show_device_code=lambda flow: None,
        tenant=tenant,
    )
    assert "ops.token_store" in stored.where
    own = store.get(tenant_refresh_token_name(tenant))
    assert own is not None
    assert store.get(REFRESH_TOKEN_NAME) == partner_token  # the partner's token is untouched
    setup.run("run-2")
    assert setup.tokens("run-2")[tenant] == ("loaded", "ok")
    # Its refresh token was rotated and written back under its own name, like the partner's.
    rotated = store.get(tenant_refresh_token_name(tenant))
    assert rotated is not None
    assert rotated.version != own.version
    assert rotated.value.reveal() != own.value.reveal()
    outcomes = setup.query(
        "select endpoint, outcome from ops.tenant_runs where run_id = 'run-2' and tenant_id = %s", tenant
    )
    assert dict(outcomes) == {e: "loaded" for e, _ in outcomes}
    assert set(dict(outcomes)) >= {"token", "secure_scores", "alerts_v2", "incidents"}
    assert setup.query("select count(*) from raw.secure_scores where tenant_id = %s", tenant)[0][0] > 0
    # `smart-office token --tenant T` reads a direct tenant with its own credential too: a token of T's admin.
    printed = CliRunner().invoke(
        app, ["token", "--tenant", tenant, "--resource", "graph", "--json"], env=setup.env
    )
    assert printed.exit_code == 0, printed.stderr
    claims = jwt_claims(json.loads(printed.stdout)["access_token"])
    assert (claims["tid"], claims["upn"].split("@")[0], "idp" in claims) == (tenant, "admin", False)
    # The partner's own refresh token cannot read a direct tenant: the partner's users do not exist there.
    partner_exchanger = build_exchanger(setup.settings, store)
    with pytest.raises(AuthError) as refused:
        partner_exchanger.get_token(tenant, setup.settings.cloud.graph_scope)
    assert (refused.value.state, refused.value.code) == (AuthState.GDAP_MISSING, 50020)


class _DeviceCodeReader(io.StringIO):
    """The terminal the admin reads: when `smart-office consent` shows a device code, the admin enters it on the
    verification page (a GET with the code, as the emulator's page takes it) and signs in."""

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session
        self.approved: list[str] = []

    def write(self, text: str) -> int:
        found = re.search(r"open the page (\S+) and enter the code (\S+)", text)
        if found:
            response = self.session.get(found.group(1), params={"otc": found.group(2)}, timeout=30)
            response.raise_for_status()
            self.approved.append(found.group(2))
        return super().write(text)


def test_consent_for_a_direct_tenant_with_a_device_code(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`smart-office consent --tenant T --device-code`: T's admin signs in on another device; T's own refresh
    token is stored under T's name, the partner's is untouched, and T is read with it."""
    from rich.console import Console

    import smart_office.cli as cli

    tenant = setup.handle.admin_get("/portfolio/direct")[1]["tenant_id"]
    for registry in setup.registry():
        registry.add(tenant, credential="delegated", by="ana")
    store = PostgresSecretStore(setup.url, list(setup.settings.token_store_keys))
    partner_token = store.get(REFRESH_TOKEN_NAME)
    terminal = _DeviceCodeReader(setup.handle.http_session())
    monkeypatch.setattr(cli, "console", Console(file=terminal, soft_wrap=True, width=400))

    result = CliRunner().invoke(app, ["consent", "--tenant", tenant, "--device-code"], env=setup.env)
    assert result.exit_code == 0, terminal.getvalue() + result.output
    assert len(terminal.approved) == 1
    assert re.search(
        r"refresh token stored in \S+ .*\(issued 2026-11-02 \d\d:\d\d UTC\)", terminal.getvalue()
    )
    own = store.get(tenant_refresh_token_name(tenant))
    assert own is not None
    assert store.get(REFRESH_TOKEN_NAME) == partner_token
    # The token is T's admin's, at T: printed by `smart-office token --tenant T`, then T is read with it.
    printed = CliRunner().invoke(
        app, ["token", "--tenant", tenant, "--resource", "graph", "--json"], env=setup.env
    )
    assert printed.exit_code == 0, printed.stderr
    claims = jwt_claims(json.loads(printed.stdout)["access_token"])
    assert (claims["tid"], claims["upn"].split("@")[0], "idp" in claims) == (tenant, "admin", False)
    setup.run("run-1")
    assert setup.tokens("run-1")[tenant] == ("loaded", "ok")
