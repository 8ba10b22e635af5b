"""The Cosmos profile mapping of the warehouse: the connection translator's login, as a dbt profile.

Cosmos' own `PostgresUserPasswordProfileMapping` requires a password in the Airflow connection, so a warehouse
that trusts its clients, reads `.pgpass`, uses a service file, client certificates or Entra ID tokens
cannot run dbt through it. This mapping resolves the warehouse like every other part of the product
(SMART_OFFICE_WAREHOUSE_URL, else the Airflow connection) when a dbt task runs, logs in once
(`smart_office.warehouse.dbt_login`: a refused login fails the task at once, not after dbt's retries), and
gives dbt that login: host, port, user and database in the profile Cosmos writes, the password (or this
invocation's Entra token) only as the environment variable the profile names, and libpq variables for the
rest (PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, …). No secret is written to the profile.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from cosmos.profiles.base import BaseProfileMapping, DbtProfileConfigVars

if TYPE_CHECKING:
    # The DAG file builds this mapping at parse time; psycopg and the translator load when a task runs.
    from smart_office.warehouse.dbt_login import DbtLogin


class WarehouseProfileMapping(BaseProfileMapping):
    """Maps the warehouse (through the connection translator) to a dbt-postgres profile.

    :param conn_id: the Airflow connection, used when SMART_OFFICE_WAREHOUSE_URL is not set.
    :param profile_args: extra profile fields (e.g. ``{"schema": "dbt"}``).
    """

    airflow_connection_type: str = "postgres"
    dbt_profile_type: str = "postgres"
    required_fields = ["host", "port", "user", "dbname"]
    secret_fields = ["password"]

    def __init__(self, conn_id: str, profile_args: dict[str, Any] | None = None) -> None:
        super().__init__(
            conn_id,
            profile_args,
            dbt_config_vars=DbtProfileConfigVars(send_anonymous_usage_stats=False),
        )
        self._login: tuple[float, DbtLogin] | None = None

    # Cosmos reads `profile` and `env_vars` (and hashes the profile) while it prepares one dbt invocation: they
    # share one login. The DAG's tasks share this mapping when they run in one process (`airflow dags test`,
    # a LocalExecutor's forks of the parsed DAG), so a later invocation logs in again and gets a token that
    # is fresh for it.
    login_reuse_seconds: float = 60.0

    @property
    def login(self) -> DbtLogin:
        """The login of this dbt invocation (logged in anew for each, so an Entra token is fresh for each)."""
        from smart_office.operators.errors import as_airflow_error
        from smart_office.warehouse.connection import resolve_warehouse
        from smart_office.warehouse.dbt_login import dbt_login

        if self._login is not None and time.monotonic() - self._login[0] < self.login_reuse_seconds:
            return self._login[1]
        with as_airflow_error():
            login = dbt_login(resolve_warehouse(conn_id=self.conn_id))
        self._login = (time.monotonic(), login)
        return login

    @property
    def profile(self) -> dict[str, Any]:
        login = self.login
        profile: dict[str, Any] = {
            "type": self.dbt_profile_type,
            "host": login.host,
            "port": login.port,
            "user": login.user,
            "dbname": login.dbname,
            "connect_timeout": login.connect_timeout,
            "keepalives_idle": login.keepalives_idle,
            **self.profile_args,
            "password": self.get_env_var_format("password"),
        }
        return self.filter_null(profile)

    @property
    def env_vars(self) -> dict[str, str]:
        login = self.login
        return {**login.libpq_env, self.get_env_var_name("password"): login.password.reveal()}

    @property
    def mock_profile(self) -> dict[str, Any]:
        return {"port": 5432, **super().mock_profile, **self.profile_args}

    def can_claim_connection(self) -> bool:
        return True
