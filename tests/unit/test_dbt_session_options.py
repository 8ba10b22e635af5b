"""dbt's sessions run without PostgreSQL's JIT (it compiled the daily build's queries for 100 times longer than
they ran), both through `smart-office dbt` and through Cosmos (both take dbt_login's libpq_env); a connection's
own libpq options still reach dbt, after it, so they win."""

from __future__ import annotations

from smart_office.dbt_runner import login_env
from smart_office.redaction import Secret
from smart_office.warehouse.dbt_login import DbtLogin, with_dbt_session_options


def test_dbt_sessions_turn_jit_off() -> None:
    assert with_dbt_session_options({}) == {"PGOPTIONS": "-c jit=off"}


def test_the_connections_own_options_come_after_and_win() -> None:
    env = with_dbt_session_options({"PGOPTIONS": "-c statement_timeout=0 -c jit=on", "PGSSLMODE": "require"})
    assert env == {"PGOPTIONS": "-c jit=off -c statement_timeout=0 -c jit=on", "PGSSLMODE": "require"}


def test_smart_office_dbt_passes_them_on() -> None:
    login = DbtLogin(
        host="db.example.test",
        port=5432,
        user="dbt",
        dbname="wh",
        password=Secret(""),
        libpq_env=with_dbt_session_options({}),
    )
    assert login_env(login)["PGOPTIONS"] == "-c jit=off"
