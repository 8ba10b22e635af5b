"""The one connection translator: every setting that names the warehouse becomes a `WarehouseTarget`, and
everything that connects — landing, ops and the token store (psycopg), dbt (the CLI and Cosmos), the
dashboard, the CLI and `check-config` — connects through it.

Where the warehouse comes from, first match wins:

1. `SMART_OFFICE_WAREHOUSE_URL`: a libpq URL (`postgresql://…`) or key=value connection string;
2. the Airflow connection `smart_office_warehouse`, in Airflow's order: a configured secrets backend (Azure
   Key Vault), then `AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE` (URI or JSON), then the metadata database.

libpq keeps doing what it does — trust, a password in the URL, `PGPASSWORD`, `.pgpass`/`PGPASSFILE`,
`service=` with `PGSERVICEFILE`, `sslmode`/`sslrootcert`/`sslcert`/`sslkey` — and the translator passes the
parameters on untouched: it never reads a password file itself. `SMART_OFFICE_WAREHOUSE_AUTH=entra` adds the
one thing libpq cannot do: an Entra ID access token as the password, fetched for every new connection
(`smart_office.warehouse.entra`).

Failures are typed and one line long, naming the setting and libpq's own words: `WarehouseConfigError` (a
setting is missing or malformed) and `WarehouseLoginError` (the server refused the login, or a TLS file is
wrong) are configuration errors that no retry can fix; `WarehouseUnreachableError` (refused, timed out, the
server starting up) is transient.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

from smart_office.redaction import redact_text

if TYPE_CHECKING:
    from smart_office.clouds import Cloud
    from smart_office.warehouse.entra import EntraTokenProvider

WAREHOUSE_URL_ENV = "SMART_OFFICE_WAREHOUSE_URL"
WAREHOUSE_AUTH_ENV = "SMART_OFFICE_WAREHOUSE_AUTH"
WAREHOUSE_CONN_ID = "smart_office_warehouse"
AUTH_METHODS = ("libpq", "entra")
# libpq waits forever for a host that drops packets; the first task must fail within seconds instead.
DEFAULT_CONNECT_TIMEOUT = "10"
SECRET_PARAMS = frozenset({"password", "sslpassword", "oauth_client_secret"})
# Extras the Airflow Postgres provider reads itself; they are not libpq parameters, so they are dropped.
AIRFLOW_PROVIDER_EXTRAS = frozenset(
    {
        "cursor",
        "redshift",
        "redshift-serverless",
        "cluster-identifier",
        "workgroup-name",
        "aws_conn_id",
        "azure_conn_id",
        "sqlalchemy_scheme",
        "sqlalchemy_query",
        "enable_log_db_messages",
    }
)


class WarehouseError(Exception):
    """A warehouse problem, in one line that starts with the setting to look at."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message


class WarehouseConfigError(WarehouseError, ValueError):
    """The setting names no usable warehouse: missing, malformed, or an unknown option."""


class WarehouseLoginError(WarehouseError):
    """The server (or libpq before it) refused the login: wrong password, role, database, certificate, token."""


class WarehouseUnreachableError(WarehouseError):
    """The server could not be reached or is not accepting connections yet; worth retrying."""


def is_configuration_error(exc: BaseException) -> bool:
    """True for errors that only a change of configuration fixes (no retry helps)."""
    return isinstance(exc, WarehouseConfigError | WarehouseLoginError)


@functools.cache
def libpq_keywords() -> frozenset[str]:
    """Every connection parameter the loaded libpq knows."""
    return frozenset(option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults())


@functools.cache
def libpq_env_vars() -> dict[str, str]:
    """libpq parameter -> the environment variable libpq reads it from (PGSSLMODE for sslmode, …)."""
    return {
        option.keyword.decode(): option.envvar.decode()
        for option in psycopg.pq.Conninfo.get_defaults()
        if option.envvar
    }


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse is and how to log in: libpq parameters plus, for Entra ID, a token provider.

    `params` are libpq keywords exactly as configured (a password only if the setting carried one). `origin`
    is the setting they came from, named in every error. repr and `display` never show a secret.
    """

    params: Mapping[str, str]
    origin: str
    token_provider: EntraTokenProvider | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"WarehouseTarget({self.display!r}, origin={self.origin!r}, auth={self.auth!r})"

    @property
    def auth(self) -> str:
        return "entra" if self.token_provider is not None else "libpq"

    @property
    def display(self) -> str:
        """The target as a URL with secrets masked, for messages and logs."""
        return params_to_url(self.params, mask_secrets=True)

    @property
    def password(self) -> str | None:
        """The configured password (not a token, not one libpq finds in a file)."""
        return self.params.get("password") or None

    @property
    def connect_timeout(self) -> float:
        """Seconds libpq waits for the server on one try (0: forever, libpq's own meaning)."""
        try:
            return max(float(self.params.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT), 0.0)
        except ValueError:
            return float(DEFAULT_CONNECT_TIMEOUT)

    def url(self) -> str:
        """A libpq URL with the configured password, to hand to a child process through its environment."""
        return params_to_url(self.params)

    def env(self) -> dict[str, str]:
        """The settings that make a child process resolve this same target."""
        values = {WAREHOUSE_URL_ENV: self.url()}
        if self.auth != "libpq":
            values[WAREHOUSE_AUTH_ENV] = self.auth
        return values

    def with_params(self, **changes: str | None) -> WarehouseTarget:
        """A copy with parameters replaced (None removes one)."""
        params = {**self.params, **{k: v for k, v in changes.items() if v is not None}}
        for key in (k for k, v in changes.items() if v is None):
            params.pop(key, None)
        return replace(self, params=params)

    def with_database(self, dbname: str) -> WarehouseTarget:
        return self.with_params(dbname=dbname)

    def connect_params(self, *, application_name: str | None = None) -> dict[str, str]:
        """libpq parameters for one new connection: a fresh Entra token as password when that is the login."""
        params = dict(self.params)
        params.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        if application_name:
            params["application_name"] = application_name
        if self.token_provider is not None:
            params["password"] = self.token_provider.token().reveal()
        return params

    def airflow_connection(self) -> str:
        """This target as an `AIRFLOW_CONN_*` value (JSON form); parameters beyond the fields go to `extra`."""
        params = dict(self.params)
        fields: dict[str, Any] = {"conn_type": "postgres"}
        for name, key in (
            ("host", "host"),
            ("login", "user"),
            ("password", "password"),
            ("schema", "dbname"),
        ):
            if key in params:
                fields[name] = params.pop(key)
        port = params.pop("port", None)
        if port and port.isdigit():
            fields["port"] = int(port)
        elif port:
            params["port"] = port  # a list of ports for a list of hosts is libpq's, not Airflow's
        if params:
            fields["extra"] = params
        return json.dumps(fields)


def params_to_url(params: Mapping[str, str], *, mask_secrets: bool = False) -> str:
    """A `postgresql://` URL for libpq parameters (socket directories and host lists as query parameters).

    `conninfo_to_dict(params_to_url(p)) == p` for every parameter set libpq accepts.
    """
    rest = dict(params)
    user = rest.pop("user", None)
    password = rest.pop("password", None)
    host = rest.get("host")
    port = rest.get("port")
    netloc = ""
    if host and not host.startswith("/") and "," not in host:
        rest.pop("host")
        netloc = f"[{host}]" if ":" in host else quote(host, safe="")
        if port is not None and port.isdigit():
            netloc += f":{rest.pop('port')}"
    if user is not None or password is not None:
        auth = quote(user or "", safe="")
        if password is not None:
            auth += ":***" if mask_secrets else f":{quote(password, safe='')}"
        netloc = f"{auth}@{netloc}"
    dbname = rest.pop("dbname", None)
    path = "/" + quote(dbname, safe="") if dbname is not None else ""
    query = {k: ("***" if mask_secrets and k in SECRET_PARAMS else v) for k, v in rest.items()}
    encoded = urlencode(query, safe="/*,", quote_via=quote)
    # Built by hand: urlunsplit drops the `//` of an empty authority, which libpq needs.
    return f"postgresql://{netloc}{path}" + (f"?{encoded}" if encoded else "")


# -- translation from the settings ------------------------------------------------------------------------
def auth_method(env: Mapping[str, str]) -> str:
    """SMART_OFFICE_WAREHOUSE_AUTH: `libpq` (default; whatever libpq does) or `entra` (an Entra ID token)."""
    value = env.get(WAREHOUSE_AUTH_ENV, "").strip().lower() or "libpq"
    if value not in AUTH_METHODS:
        raise WarehouseConfigError(
            WAREHOUSE_AUTH_ENV, f"must be one of {', '.join(AUTH_METHODS)}, not {value!r}"
        )
    return value


def _token_provider(auth: str, env: Mapping[str, str], cloud: Cloud | None) -> EntraTokenProvider | None:
    if auth != "entra":
        return None
    from smart_office.clouds import CloudConfigError, cloud_from_env
    from smart_office.warehouse.entra import entra_token_provider

    try:
        resolved = cloud or cloud_from_env(env)
    except CloudConfigError as exc:
        raise WarehouseConfigError(
            WAREHOUSE_AUTH_ENV, f"cannot tell which cloud's identity to use: {exc}"
        ) from None
    return entra_token_provider(resolved, env)


def _checked_params(params: Mapping[str, str], origin: str, auth: str) -> dict[str, str]:
    unknown = sorted(k for k in params if k not in libpq_keywords())
    if unknown:
        raise WarehouseConfigError(origin, f"{', '.join(unknown)}: not a libpq connection parameter")
    if auth == "entra":
        if params.get("password"):
            raise WarehouseConfigError(
                origin, f"carries a password, but {WAREHOUSE_AUTH_ENV}=entra logs in with an Entra ID token"
            )
        if not params.get("user") and not params.get("service"):
            raise WarehouseConfigError(
                origin,
                f"{WAREHOUSE_AUTH_ENV}=entra needs the user: the role of the Entra principal "
                "(pgaadauth_create_principal), e.g. the managed identity's name",
            )
    return dict(params)


def target_from_url(
    value: str,
    *,
    origin: str = WAREHOUSE_URL_ENV,
    auth: str = "libpq",
    env: Mapping[str, str] | None = None,
    cloud: Cloud | None = None,
) -> WarehouseTarget:
    """A target from a libpq URL or key=value string, parsed by libpq itself."""
    text = value.strip()
    if "://" in text and urlsplit(text).scheme not in {"postgresql", "postgres"}:
        raise WarehouseConfigError(
            origin,
            f"must be a postgresql:// URL or a libpq connection string, not a {urlsplit(text).scheme}:// URL",
        )
    try:
        params = conninfo_to_dict(text)
    except psycopg.ProgrammingError as exc:
        reason = redact_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable")
        raise WarehouseConfigError(origin, f"not a libpq URL or connection string: {reason}") from None
    clean = {k: str(v) for k, v in params.items() if v is not None}
    return WarehouseTarget(
        _checked_params(clean, origin, auth), origin, _token_provider(auth, env or os.environ, cloud)
    )


def target_from_airflow_connection(
    conn: Any,
    *,
    origin: str,
    auth: str = "libpq",
    env: Mapping[str, str] | None = None,
    cloud: Cloud | None = None,
) -> WarehouseTarget:
    """A target from an Airflow connection (SDK or models `Connection`): host/port/login/password/schema,
    and libpq parameters (sslmode, sslrootcert, service, passfile, …) from its extras."""
    conn_type = (conn.conn_type or "").lower()
    if conn_type not in {"postgres", "postgresql"}:
        raise WarehouseConfigError(origin, f"conn_type must be postgres, not {conn.conn_type!r}")
    params: dict[str, str] = {}
    for key, value in (conn.extra_dejson or {}).items():
        if key == "iam" and value:
            raise WarehouseConfigError(
                origin,
                f"the Postgres provider's `iam` extra is not used here: set {WAREHOUSE_AUTH_ENV}=entra "
                "for an Entra ID token",
            )
        if key in AIRFLOW_PROVIDER_EXTRAS or key == "iam" or key.startswith("extra__") or value in (None, ""):
            continue
        params[key] = ("1" if value else "0") if isinstance(value, bool) else str(value)
    # The connection's own fields win over extras of the same name, as in the Postgres provider.
    for key, value in (
        ("host", conn.host),
        ("port", conn.port),
        ("user", conn.login),
        ("password", conn.password),
        ("dbname", conn.schema),
    ):
        if value not in (None, ""):
            params[key] = str(value)
    return WarehouseTarget(
        _checked_params(params, origin, auth), origin, _token_provider(auth, env or os.environ, cloud)
    )


def _parse_airflow_connection(value: str, conn_id: str, origin: str) -> Any:
    from airflow.sdk import Connection

    text = value.strip()
    try:
        if text.startswith("{"):
            return Connection.from_json(text, conn_id=conn_id)
        return Connection.from_uri(text, conn_id=conn_id)
    except (ValueError, TypeError, KeyError) as exc:
        reason = redact_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise WarehouseConfigError(origin, f"not an Airflow connection URI or JSON: {reason}") from None


def lookup_airflow_connection(conn_id: str) -> Any | None:
    """The connection from Airflow's secrets backends (environment, Key Vault, metadata database), or None."""
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError
    except ImportError:  # the dashboard image may carry no Airflow
        return None
    try:
        return BaseHook.get_connection(conn_id)
    except (AirflowNotFoundException, AirflowRuntimeError):
        return None


def secrets_backend_configured() -> bool:
    """Whether Airflow has a secrets backend besides the environment and its database (airflow.cfg or env)."""
    try:
        from airflow.configuration import conf
    except ImportError:
        return False
    return bool((conf.get("secrets", "backend", fallback="") or "").strip())


def airflow_connection_env(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def resolve_warehouse(
    env: Mapping[str, str] | None = None,
    *,
    conn_id: str = WAREHOUSE_CONN_ID,
    lookup: Callable[[str], Any | None] | None = lookup_airflow_connection,
    cloud: Cloud | None = None,
) -> WarehouseTarget:
    """The warehouse the settings name (see the module docstring for the order).

    With an explicit `env`, only that mapping is read; with None, the process environment and (through
    `lookup`) Airflow's secrets backends.
    """
    environ = os.environ if env is None else env
    auth = auth_method(environ)
    url = environ.get(WAREHOUSE_URL_ENV, "").strip()
    if url:
        return target_from_url(url, origin=WAREHOUSE_URL_ENV, auth=auth, env=environ, cloud=cloud)
    setting = airflow_connection_env(conn_id)
    value = environ.get(setting, "").strip()
    if env is None and lookup is not None:
        # Airflow's own order: a configured secrets backend (e.g. Key Vault) first, then the environment,
        # then the metadata database.
        found = lookup(conn_id)
        if found is not None:
            origin = (
                setting if value and not secrets_backend_configured() else f"Airflow connection {conn_id!r}"
            )
            return target_from_airflow_connection(found, origin=origin, auth=auth, env=environ, cloud=cloud)
    if value:
        conn = _parse_airflow_connection(value, conn_id, setting)
        return target_from_airflow_connection(conn, origin=setting, auth=auth, env=environ, cloud=cloud)
    raise WarehouseConfigError(
        setting,
        f"no warehouse configured: set this Airflow connection (or a secrets backend's {conn_id!r}), "
        f"or {WAREHOUSE_URL_ENV}",
    )


def as_target(target: WarehouseTarget | str) -> WarehouseTarget:
    """A target as is, or one from a plain URL (libpq login; tests and benchmarks pass URLs)."""
    return target if isinstance(target, WarehouseTarget) else target_from_url(target, origin="warehouse URL")


# -- connecting ---------------------------------------------------------------------------------------------
# libpq reports network trouble without a SQLSTATE; these are its words for "try again later".
_TRANSIENT_MESSAGES = re.compile(
    r"connection refused|timeout expired|timed out|no route to host|network is unreachable|"
    r"connection reset|server closed the connection unexpectedly|could not receive data|could not send data|"
    r"temporary failure in name resolution|is the server running|the database system is (starting up|"
    r"shutting down|in recovery mode)|ssl syscall error|eof detected|too many clients|"
    r"remaining connection slots are reserved",
    re.IGNORECASE,
)
# Server answers that a retry can outlive: starting up, too many connections, admin shutdown, crash recovery.
# (A failed connection attempt rarely carries its SQLSTATE through libpq; the messages above are the rule.)
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "53400", "08006", "08001"})


_LOGIN_REFUSED = re.compile(r"authentication failed|pg_hba\.conf", re.IGNORECASE)


def _reason(exc: BaseException, target: WarehouseTarget, password: str | None) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    text = text.removeprefix("connection failed: ")
    secrets = [s for s in (password, target.password) if s]
    return redact_text(text, secrets)[:600]


def connect_error(
    target: WarehouseTarget, exc: psycopg.Error, *, password: str | None = None
) -> WarehouseError:
    """The typed, one-line error for a failed connection attempt."""
    reason = _reason(exc, target, password)
    sqlstate = getattr(exc, "sqlstate", None)
    transient = sqlstate in _TRANSIENT_SQLSTATES if sqlstate else bool(_TRANSIENT_MESSAGES.search(reason))
    if transient:
        return WarehouseUnreachableError(target.origin, f"cannot reach {target.display}: {reason}")
    hint = ""
    refused = (sqlstate or "").startswith("28") or _LOGIN_REFUSED.search(reason)
    if target.auth == "entra" and refused:
        hint = (
            f" ({WAREHOUSE_AUTH_ENV}=entra: the user must be the role pgaadauth_create_principal made for this "
            "identity, and the identity must be the one azure-identity signs in as)"
        )
    return WarehouseLoginError(target.origin, f"cannot log in to {target.display}: {reason}{hint}")


def _token_error(target: WarehouseTarget, exc: Exception) -> WarehouseError:
    from smart_office.warehouse.entra import EntraTokenError

    scope = target.token_provider.scope if target.token_provider else ""
    message = f"cannot get an Entra ID token for {scope} (for {target.origin}): {redact_text(str(exc))}"
    if isinstance(exc, EntraTokenError) and exc.transient:
        return WarehouseUnreachableError(WAREHOUSE_AUTH_ENV, message)
    return WarehouseLoginError(WAREHOUSE_AUTH_ENV, message)


def _params_or_raise(target: WarehouseTarget, application_name: str | None) -> dict[str, str]:
    from smart_office.warehouse.entra import EntraTokenError

    try:
        return target.connect_params(application_name=application_name)
    except EntraTokenError as exc:
        raise _token_error(target, exc) from None


def connect(
    target: WarehouseTarget | str,
    *,
    autocommit: bool = False,
    application_name: str = "smart-office",
    **kwargs: Any,
) -> psycopg.Connection:
    """Open a connection; a failure raises one line naming the setting and libpq's reason, no password."""
    target = as_target(target)
    params = _params_or_raise(target, application_name)
    try:
        return psycopg.connect(autocommit=autocommit, **params, **kwargs)
    except psycopg.OperationalError as exc:
        raise connect_error(target, exc, password=params.get("password")) from None


async def aconnect(
    target: WarehouseTarget | str,
    *,
    autocommit: bool = False,
    application_name: str = "smart-office",
    **kwargs: Any,
) -> psycopg.AsyncConnection:
    """`connect` for asyncio; the token (a blocking HTTP call when it must be fetched) comes from a thread."""
    target = as_target(target)
    params = await asyncio.to_thread(_params_or_raise, target, application_name)
    try:
        return await psycopg.AsyncConnection.connect(autocommit=autocommit, **params, **kwargs)
    except psycopg.OperationalError as exc:
        raise connect_error(target, exc, password=params.get("password")) from None


def check_warehouse(target: WarehouseTarget | str) -> None:
    """Log in once and run `select 1`: raises the typed one-line error when the warehouse is not usable."""
    with connect(target, autocommit=True, application_name="smart-office-check") as conn:
        conn.execute("select 1")
