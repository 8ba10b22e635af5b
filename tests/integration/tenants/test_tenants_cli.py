"""`smart-office tenants`: direct tenants, the pilot and exclusions kept as data with who, when and why."""

from __future__ import annotations

import json

import psycopg
import pytest
from typer.testing import CliRunner

from smart_office.cli import app
from smart_office.warehouse.migrations import migrate

DIRECT = "6f1d7c3e-0b1a-4c55-9e0e-3a4b5c6d7e8f"
PILOT = "11111111-2222-4333-8444-555555555555"
GONE = "99999999-8888-4777-8666-555555555555"


@pytest.fixture
def env(warehouse_url: str) -> dict[str, str]:
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    return {"SMART_OFFICE_WAREHOUSE_URL": warehouse_url, "SMART_OFFICE_CLOUD": "public"}


def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["tenants", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_changes_are_recorded_with_who_when_and_why(env: dict[str, str], warehouse_url: str) -> None:
    assert (
        _cli(env, "add", DIRECT, "--credential", "app_only", "--name", "Fabrikam Direct", "--by", "ana")[0]
        == 0
    )
    assert _cli(env, "include", PILOT, "--reason", "pilot of three", "--by", "ana")[0] == 0
    assert _cli(env, "exclude", GONE, "--reason", "contract ended, ticket 42", "--by", "ben")[0] == 0
    code, out, _ = _cli(env, "list", "--json")
    assert code == 0
    listed = {row["tenant_id"]: row for row in map(json.loads, out.splitlines())}
    assert listed[DIRECT]["credential"] == "app_only"
    assert listed[DIRECT]["display_name"] == "Fabrikam Direct"
    assert listed[DIRECT]["scope"] is None
    assert (listed[PILOT]["scope"], listed[PILOT]["scope_reason"], listed[PILOT]["changed_by"]) == (
        "include",
        "pilot of three",
        "ana",
    )
    assert (listed[GONE]["scope"], listed[GONE]["changed_by"]) == ("exclude", "ben")
    # Clearing the pilot entry of a tenant that is only in the pilot removes it; removing keeps the history.
    assert _cli(env, "clear", PILOT, "--by", "ana")[0] == 0
    assert _cli(env, "remove", DIRECT, "--reason", "moved to CSP", "--by", "ben")[0] == 0
    code, out, _ = _cli(env, "list", "--json")
    assert [json.loads(line)["tenant_id"] for line in out.splitlines()] == [GONE]
    with psycopg.connect(warehouse_url) as conn:
        history = conn.execute(
            "select tenant_id::text, change_type, changed_by, reason, changed_at is not null from ops.tenant_changes "
            "order by change_id"
        ).fetchall()
    assert history == [
        (DIRECT, "add", "ana", None, True),
        (PILOT, "include", "ana", "pilot of three", True),
        (GONE, "exclude", "ben", "contract ended, ticket 42", True),
        (PILOT, "clear", "ana", None, True),
        (DIRECT, "remove", "ben", "moved to CSP", True),
    ]


def test_who_defaults_to_the_os_user(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "operator7")
    assert _cli(env, "include", PILOT)[0] == 0
    _, out, _ = _cli(env, "list", "--json")
    assert json.loads(out)["changed_by"] == "operator7"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("exclude", GONE), f"error: excluding {GONE} needs a reason — add --reason"),
        (("exclude", GONE, "--reason", "  "), f"error: excluding {GONE} needs a reason — add --reason"),
        (("remove", GONE), f"error: tenant {GONE} is not in the tenants table — "),
        (("clear", GONE), f"error: tenant {GONE} is not in the tenants table — "),
        (
            ("include", "contoso.com"),
            "error: tenant 'contoso.com' is not a tenant id — give the tenant's GUID",
        ),
        (
            ("add", DIRECT, "--credential", "password"),
            "error: --credential 'password' is unknown — use one of",
        ),
    ],
)
def test_refusals_are_one_line(
    env: dict[str, str], warehouse_url: str, args: tuple[str, ...], message: str
) -> None:
    code, _out, err = _cli(env, *args)
    assert code == 2
    assert err.startswith(message), err
    assert len(err.strip().splitlines()) == 1
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.tenants").fetchone() == (0,)
        assert conn.execute("select count(*) from ops.tenant_changes").fetchone() == (0,)


def test_the_table_refuses_an_exclusion_without_reason_too(env: dict[str, str], warehouse_url: str) -> None:
    with psycopg.connect(warehouse_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "insert into ops.tenants (tenant_id, scope, added_by, added_at, changed_by, changed_at) "
            "values (%s, 'exclude', 'x', now(), 'x', now())",
            (GONE,),
        )


@pytest.mark.parametrize(
    ("cloud", "host"),
    [("public", "https://login.microsoftonline.com"), ("usgov", "https://login.microsoftonline.us")],
)
def test_consent_url_is_the_clouds_admin_consent_endpoint(cloud: str, host: str) -> None:
    client = "0f0e0d0c-0b0a-4909-8807-060504030201"
    result = CliRunner().invoke(
        app,
        ["tenants", "consent-url", DIRECT],
        env={"SMART_OFFICE_CLOUD": cloud, "SMART_OFFICE_CLIENT_ID": client},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        f"{host}/{DIRECT}/adminconsent?client_id={client}&redirect_uri=http%3A%2F%2Flocalhost%3A8400"
    )


def test_consent_for_a_tenant_that_is_not_a_delegated_direct_tenant_is_refused(
    env: dict[str, str], warehouse_url: str
) -> None:
    from cryptography.fernet import Fernet

    partner = {
        **env,
        "SMART_OFFICE_PARTNER_TENANT_ID": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        "SMART_OFFICE_CLIENT_ID": "0f0e0d0c-0b0a-4909-8807-060504030201",
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": Fernet.generate_key().decode(),
    }
    assert _cli(env, "add", DIRECT, "--credential", "App-Only")[0] == 0  # the prose spelling works too
    for tenant in (DIRECT, PILOT):
        result = CliRunner().invoke(app, ["consent", "--tenant", tenant], env=partner)
        assert result.exit_code == 2
        assert result.stderr.startswith(
            f"error: tenant {tenant} is not a delegated direct tenant — add it first: "
            f"`smart-office tenants add {tenant} --credential delegated`"
        ), result.stderr
