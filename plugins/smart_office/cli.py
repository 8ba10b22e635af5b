"""The `smart-office` command: one-time setup (register-app, consent), tokens, the pipeline, dbt, the dashboard."""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import webbrowser
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from smart_office.dashboard.cli import dashboard_app
from smart_office.events.cli import events_app
from smart_office.reports.cli import report_command
from smart_office.segments.cli import segments_app
from smart_office.tenants.cli import tenants_app
from smart_office.wording import counted

# soft_wrap: an error is one line however narrow the terminal (or none, under a supervisor).
console = Console(stderr=True, soft_wrap=True)
P = ParamSpec("P")
R = TypeVar("R")
VERBOSE = "smart_office.verbose"  # click's context meta, shared by every command of one invocation


class CliError(Exception):
    """A user error: what is wrong (naming the setting or argument) and how to fix it, and the exit code."""

    def __init__(self, what: str, fix: str = "", code: int = 2) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.code = code


def _error_line(what: str, fix: str = "") -> None:
    console.print(f"[red]error:[/] {escape(what)}" + (f" — {escape(fix)}" if fix else ""), soft_wrap=True)


def report_error(exc: BaseException) -> int:
    """Print `exc` as one line per problem, `error: <what> — <fix>`, and return the exit code for it.

    Exit codes (as `smart-office run` documents them): 2 configuration or usage, 4 warehouse unreachable,
    1 anything unexpected (its traceback with `-v`).
    """
    from smart_office.clouds import CloudConfigError
    from smart_office.redaction import redact_text
    from smart_office.settings import SettingsError
    from smart_office.warehouse.connection import WarehouseError, is_configuration_error

    if isinstance(exc, CliError):
        _error_line(exc.what, exc.fix)
        return exc.code
    if isinstance(exc, SettingsError):
        for message in exc.messages:
            _error_line(message)
        return EXIT_CONFIG
    if isinstance(exc, CloudConfigError):
        _error_line(str(exc))
        return EXIT_CONFIG
    if isinstance(exc, WarehouseError):
        if is_configuration_error(exc):
            _error_line(str(exc), f"correct the login in {exc.setting}")
            return EXIT_CONFIG
        _error_line(str(exc), f"start the warehouse, or correct the host and port in {exc.setting}")
        return EXIT_WAREHOUSE
    first_line = (str(exc).strip().splitlines() or [""])[0]
    _error_line(f"{type(exc).__name__}: {redact_text(first_line)[:300]}", "rerun with -v for the traceback")
    return 1


def _click_exits() -> tuple[type[BaseException], ...]:
    """Exits and usage errors that click (or the copy of it Typer vendors, which raises e.g. a missing option
    from its own classes) prints itself, as usage and exit code 2."""
    exits: list[type[BaseException]] = [
        typer.Exit,
        typer.Abort,
        click.exceptions.Exit,
        click.ClickException,
        click.Abort,
    ]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        pass
    else:
        exits.append(vendored.ClickException)
    return tuple(exits)


_CLICK_EXITS = _click_exits()


class _OneLineErrors(TyperGroup):
    """The one error handler of the CLI: a user error is one red line and an exit code, never a traceback
    (unless `-v`); click's own exits and usage errors pass through."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except _CLICK_EXITS:
            raise
        except Exception as exc:
            if ctx.meta.get(VERBOSE):
                console.print_exception(show_locals=False)
            raise typer.Exit(report_error(exc)) from None


app = typer.Typer(
    cls=_OneLineErrors,
    help="Partner Smart Office: one warehouse of security posture for all of a CSP partner's customers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.add_typer(dashboard_app, name="dashboard")
# add, list, include, exclude, consent-url, …, and retention's purge and readmit
app.add_typer(tenants_app, name="tenants")
app.command("report")(report_command)
app.add_typer(segments_app, name="segments")
app.add_typer(events_app, name="events")


def load_env_file(path: Path, environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Read a docker compose env file (KEY=VALUE, `#` comments, quotes, ${VAR}) into `environ`; a variable
    already set there wins, as in compose. Returns what was added."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise CliError(f"--env-file {path}: no such file", "give the path of the .env that compose reads")
    added = {
        key: value
        for key, value in dotenv_values(path, interpolate=True).items()
        if value is not None and key not in environ
    }
    environ.update(added)
    return added


@app.callback()
def _global_options(
    ctx: typer.Context,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Log progress, and show the traceback of an unexpected error."),
    ] = False,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            metavar="PATH",
            help="Read settings from this .env file (docker compose's format: KEY=VALUE, # comments, quotes, "
            "${VAR}). A variable already set in the environment wins, as in compose.",
        ),
    ] = None,
) -> None:
    ctx.meta[VERBOSE] = verbose
    if verbose:
        _logging(True)
    if env_file is not None:
        load_env_file(env_file)


def _settings(require_partner: bool = True, *, require_warehouse: bool = False):  # type: ignore[no-untyped-def]
    """Settings from the environment; without SMART_OFFICE_WAREHOUSE_URL, the warehouse of the Airflow
    connection (as the DAG sees it), so a deployment's CLI needs no second copy of the warehouse login.
    Invalid settings raise to the CLI's error handler, every one of them at once."""
    import dataclasses

    from smart_office.settings import Settings
    from smart_office.warehouse.connection import (
        WAREHOUSE_URL_ENV,
        WarehouseConfigError,
        airflow_connection_env,
        resolve_warehouse,
    )

    settings = Settings.from_env(require_partner=require_partner)
    if settings.warehouse is None:
        connection = airflow_connection_env("smart_office_warehouse")
        try:
            target = resolve_warehouse(cloud=settings.cloud)
        except WarehouseConfigError as exc:
            if exc.setting != connection:
                raise
            if require_warehouse:
                raise CliError(
                    "no warehouse configured",
                    f"set {WAREHOUSE_URL_ENV}, or the Airflow connection smart_office_warehouse ({connection} "
                    "or a secrets backend)",
                ) from None
            return settings  # none configured: the commands that need one say so
        settings = dataclasses.replace(settings, warehouse=target)
    return settings


def _warehouse_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A warehouse that cannot be used ends the command with its one-line reason (exit code 2 when the
    configuration is wrong, 4 when it is unreachable), no traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from smart_office.warehouse.connection import WarehouseError

        try:
            return command(*args, **kwargs)
        except WarehouseError as exc:
            raise typer.Exit(report_error(exc)) from None

    return wrapper


def _logging(verbose: bool) -> None:
    from smart_office.redaction import RedactingFilter

    context = click.get_current_context(silent=True)
    if context is not None and verbose:
        context.meta[VERBOSE] = True  # `run -v` shows an unexpected error's traceback too
    verbose = verbose or bool(context is not None and context.meta.get(VERBOSE))

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


@app.command()
def keygen() -> None:
    """Print a new key for the encrypted PostgreSQL token store (set it as SMART_OFFICE_TOKEN_STORE_KEY)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@app.command("check-config")
def check_config(
    tries: Annotated[
        int, typer.Option(min=1, help="Tries to reach the warehouse (compose may still be starting it).")
    ] = 3,
    wait: Annotated[float, typer.Option(min=0, help="Seconds between two tries.")] = 2.0,
) -> None:
    """Check the configuration: every problem at once, each named by its setting (exit code 2 if any).

    An unreachable warehouse is tried --tries times, --wait seconds apart; each wait is announced with its
    bound (each try gives up after libpq's 10 s connect timeout).
    """
    from smart_office.preflight import main

    raise typer.Exit(main([], attempts=tries, wait_seconds=wait))


@app.command()
@_warehouse_errors
def migrate() -> None:
    """Apply the warehouse's schema migrations."""
    from smart_office.pipeline import prepare_warehouse

    applied = prepare_warehouse(_settings(require_partner=False, require_warehouse=True))
    console.print(f"applied {counted(len(applied), 'migration')}: {', '.join(applied) or 'none pending'}")


@app.command("register-app")
@_warehouse_errors
def register_app_command(
    display_name: Annotated[
        str, typer.Option(help="Display name of the app registration.")
    ] = "Partner Smart Office",
    app_id: Annotated[
        str | None, typer.Option(help="Manage this existing app id instead of finding it by name.")
    ] = None,
    credential: Annotated[str, typer.Option(help="certificate (preferred) or secret.")] = "certificate",
    rotate_credential: Annotated[
        bool, typer.Option(help="Add a new credential even if the stored one is valid.")
    ] = False,
    preconsent: Annotated[bool, typer.Option(help="Add the service principal to AdminAgents (DAP).")] = False,
    app_only_permissions: Annotated[
        bool,
        typer.Option(
            help="Also ask for the Graph application permissions app-only direct tenants consent to."
        ),
    ] = False,
    device_code: Annotated[bool, typer.Option(help="Sign in with a device code (headless hosts).")] = False,
    show_secret: Annotated[
        bool, typer.Option(help="Print the client secret (it is stored either way).")
    ] = False,
    write_env: Annotated[
        Path | None, typer.Option(help="Append SMART_OFFICE_CLIENT_ID=... to this file.")
    ] = None,
) -> None:
    """Register (or update) the multi-tenant Secure Application Model app via Microsoft Graph. Idempotent."""
    import msal

    from smart_office.auth.interactive import sign_in_with_browser, sign_in_with_device_code
    from smart_office.auth.registration import BOOTSTRAP_CLIENT_ID, BOOTSTRAP_SCOPES, register_app
    from smart_office.runtime import build_secret_store
    from smart_office.tls import requests_session

    settings = _settings(require_partner=False)
    if not settings.partner_tenant_id:
        raise CliError(
            "SMART_OFFICE_PARTNER_TENANT_ID is not set", "set it to the partner's tenant id (a GUID)"
        )
    session = requests_session(settings.cloud.ca_bundle)
    bootstrap = msal.PublicClientApplication(
        BOOTSTRAP_CLIENT_ID,
        authority=settings.cloud.authority(settings.partner_tenant_id),
        instance_discovery=False,
        http_client=session,
    )
    if device_code:
        result = sign_in_with_device_code(
            bootstrap, BOOTSTRAP_SCOPES, show=lambda f: console.print(f["message"])
        )
    else:
        result = sign_in_with_browser(bootstrap, BOOTSTRAP_SCOPES, open_browser=_open_browser)
    if "access_token" not in result:
        console.print(
            f"[red]sign-in failed:[/] {result.get('error')}: {str(result.get('error_description'))[:300]}"
        )
        raise typer.Exit(1)
    outcome = register_app(
        cloud=settings.cloud,
        admin_token=result["access_token"],
        session=session,
        store=build_secret_store(settings),
        display_name=display_name,
        app_id=app_id,
        credential=credential,
        rotate_credential=rotate_credential,
        preconsent=preconsent,
        app_only_permissions=app_only_permissions,
    )
    console.print(f"application id: [bold]{outcome.app_id}[/] ({'created' if outcome.created else 'found'})")
    console.print(f"changes: {', '.join(outcome.changes) or 'none (already as desired)'}")
    console.print(f"{outcome.credential_kind} credential stored in {outcome.credential_location}")
    if outcome.secret is not None and show_secret:
        typer.echo(outcome.secret.reveal())
    if write_env:
        with write_env.open("a") as fh:
            fh.write(f"SMART_OFFICE_CLIENT_ID={outcome.app_id}\n")
    console.print(f"next: export SMART_OFFICE_CLIENT_ID={outcome.app_id} and run `smart-office consent`")


def _open_browser(url: str) -> None:
    console.print(f"Opening your browser to sign in. If it does not open, visit:\n{url}")
    webbrowser.open(url)


@app.command()
@_warehouse_errors
def consent(
    device_code: Annotated[
        bool, typer.Option(help="Use a device code instead of a local browser redirect.")
    ] = False,
    tenant: Annotated[
        str | None,
        typer.Option(
            help="A delegated direct tenant (`smart-office tenants add T --credential delegated`): its "
            "own admin signs in, and its refresh token is stored under its name."
        ),
    ] = None,
) -> None:
    """One-time partner consent with MFA: obtain the partner refresh token and store it."""
    from smart_office.auth.consent import run_consent
    from smart_office.tenants.consent import check_delegated_tenant

    settings = _settings()
    if tenant is not None:
        tenant = check_delegated_tenant(settings, tenant)
    stored = run_consent(
        settings,
        open_browser=None if device_code else _open_browser,
        show_device_code=lambda f: console.print(f["message"]),
        tenant=tenant,
    )
    console.print(f"refresh token stored in {stored.where} (issued {stored.issued_at:%Y-%m-%d %H:%M} UTC)")


@app.command()
@_warehouse_errors
def token(
    tenant: Annotated[str, typer.Option(help="Tenant id or domain (a customer, or the partner).")],
    resource: Annotated[
        str,
        typer.Option(
            help="graph, partnercenter, management, keyvault or postgres (this cloud's), or a resource URI "
            "or app id (asked for as <resource>/.default), or a full scope."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON with expiry instead of the bare token.")
    ] = False,
) -> None:
    """Print an access token for a customer tenant, for scripts and other tools that take one."""
    from smart_office.auth.errors import AuthError, AuthState
    from smart_office.clouds import UnknownResourceError
    from smart_office.runtime import build_exchanger, build_secret_store
    from smart_office.tenants.consent import direct_credentials

    settings = _settings()
    try:
        scope = settings.cloud.scope_for(resource)
    except UnknownResourceError as exc:
        raise CliError(f"--resource {exc}", "give an alias or a resource URI") from None
    exchanger = build_exchanger(
        settings, build_secret_store(settings), direct_tenants=direct_credentials(settings)
    )
    try:
        access = exchanger.get_token(tenant, scope)
    except AuthError as error:
        code = f" (AADSTS{error.code})" if error.code else ""
        what = f"no token for {scope} in tenant {tenant}: {error.state.value}{code}"
        if error.state is AuthState.UNKNOWN and error.detail:
            # Microsoft's own first sentence says more than "unrecognised"; the AADSTS page says the rest.
            detail = error.detail.split(". ")[0].removeprefix(f"AADSTS{error.code}: ")
            fix = f"{detail} (https://login.microsoftonline.com/error?code={error.code})"
        else:
            fix = error.remediation
        raise CliError(what, fix, code=1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "token_type": "Bearer",
                    "access_token": access.token.reveal(),
                    "tenant_id": tenant,
                    "scope": scope,
                    "expires_on": access.expires_at.isoformat(),
                }
            )
        )
    else:
        typer.echo(access.token.reveal())


# `smart-office run` exit codes: each failure is one line naming its cause and what to do.
EXIT_COVERAGE, EXIT_CONFIG, EXIT_PARTNER_AUTH, EXIT_WAREHOUSE = 1, 2, 3, 4


@app.command()
@_warehouse_errors
def run(
    as_of: Annotated[
        str | None,
        typer.Option(
            help="The run's point in time (ISO 8601 with offset): every window ends here; default now."
        ),
    ] = None,
    interval_start: Annotated[
        str | None,
        typer.Option(
            help="Start of the run's data interval, for a backfill behind the watermarks (default: a day before --as-of)."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("-v", help="Log progress.")] = False,
) -> None:
    """Run the extraction once in this process (what the DAG does, without Airflow).

    Exit codes: 0 done; 1 coverage under SMART_OFFICE_COVERAGE_THRESHOLD; 2 configuration error;
    3 the partner's own authentication failed (a human must act, or the identity service is down);
    4 the warehouse is unreachable.
    """
    _logging(verbose)
    from smart_office.auth.rotation import NoRefreshTokenError
    from smart_office.auth.stores import TokenStoreError
    from smart_office.extract.shard import WarehouseUnavailableError
    from smart_office.extract.tenant import PartnerAuthFailure
    from smart_office.pipeline import (
        CoverageError,
        check_partner_token,
        close_run,
        discover_customers,
        enforce_coverage,
        extract_shard,
        prepare_warehouse,
    )
    from smart_office.runtime import CredentialMissingError
    from smart_office.summary import print_run_summary, track

    settings = _settings(require_warehouse=True)
    try:
        when = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
        start = datetime.fromisoformat(interval_start) if interval_start else None
    except ValueError as error:
        raise CliError(
            f"--as-of/--interval-start: {error}", "give ISO 8601, e.g. 2026-11-02T09:00:00Z"
        ) from None
    if when.tzinfo is None or (start is not None and start.tzinfo is None):
        raise CliError("--as-of and --interval-start need a UTC offset", "add one, e.g. 2026-11-02T09:00:00Z")
    run_id = f"cli/{when:%Y%m%dT%H%M%S}"
    try:
        prepare_warehouse(settings)
        check_partner_token(settings, as_of=when)
        plan = discover_customers(settings, run_id=run_id, as_of=when)
        try:
            shards = plan["shards"]
            label = f"extracting {plan['extractable']:,} customers, shard"
            for shard in track(range(shards), Console(), label, shards):
                try:
                    extract_shard(
                        settings,
                        run_id=run_id,
                        shard=shard,
                        shards=plan["shards"],
                        as_of=when,
                        interval_start=start,
                    )
                except WarehouseUnavailableError as error:
                    # This shard's tenants count as not extracted; the others still run.
                    console.print(
                        f"[yellow]shard {shard + 1}/{plan['shards']} failed:[/] {escape(str(error))}"
                    )
        except PartnerAuthFailure as failure:
            # Every later tenant would fail the same way: close the run with what landed, then stop.
            close_run(settings, run_id=run_id, failure=str(failure.error))
            raise
        summary = close_run(settings, run_id=run_id)
        enforce_coverage(summary)
    except PartnerAuthFailure as failure:
        raise CliError(f"partner authentication failed: {failure.error}", code=EXIT_PARTNER_AUTH) from None
    except CoverageError as error:
        raise CliError(f"run failed: {error}", code=EXIT_COVERAGE) from None
    except (CredentialMissingError, NoRefreshTokenError, TokenStoreError) as error:
        raise CliError(str(error), code=EXIT_CONFIG) from None
    except WarehouseUnavailableError as error:
        raise CliError(
            f"warehouse unavailable: {error}",
            "start the warehouse, or correct its host and port",
            EXIT_WAREHOUSE,
        ) from None
    console.print(summary["sentence"])
    print_run_summary(Console(), settings.warehouse, run_id)  # stdout: the run's table


@app.command("dbt-parse")
def dbt_parse() -> None:
    """Build dbt/target/manifest.json, which the DAG's Cosmos task group renders from."""
    from smart_office.dbt_runner import build_manifest

    console.print(f"manifest: {build_manifest()}")


@app.command(
    "dbt", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
)
@_warehouse_errors
def dbt_command(ctx: typer.Context) -> None:
    """Run dbt on this project against SMART_OFFICE_WAREHOUSE_URL, e.g. `smart-office dbt build`."""
    from smart_office.dbt_runner import run_dbt

    args = list(ctx.args)
    if not args or {"-h", "--help"} & set(args):
        # dbt's help needs no warehouse: ask dbt itself, with nothing configured.
        console.print(
            "Usage: smart-office dbt <dbt command> [dbt options] (on this project and its warehouse)"
        )
        dbt = str(Path(sys.executable).parent / "dbt")
        raise typer.Exit(subprocess.run([dbt, *(args or ["--help"])], check=False).returncode)
    settings = _settings(require_partner=False, require_warehouse=True)
    raise typer.Exit(run_dbt(args, settings.warehouse).returncode)


bi_login_app = typer.Typer(
    help="Logins for BI tools (Power BI, Superset, psql) that read the marts and nothing else."
)
app.add_typer(bi_login_app, name="bi-login")


@bi_login_app.command("create")
@_warehouse_errors
def bi_login_create(
    name: Annotated[str, typer.Argument(help="The login's name (a PostgreSQL role).")],
    password_file: Annotated[
        Path | None, typer.Option(help="Write the password here (mode 0600) instead of printing it.")
    ] = None,
    rotate: Annotated[bool, typer.Option(help="Give an existing BI login a new password.")] = False,
) -> None:
    """Create a login in the marts reader role with a generated password, shown once (or written to a file)."""
    from smart_office.warehouse.bi_login import (
        BiLoginError,
        create_bi_login,
        reader_role_from_env,
        write_password_file,
    )
    from smart_office.warehouse.connection import connect

    settings = _settings(require_partner=False, require_warehouse=True)
    try:
        with connect(settings.warehouse, autocommit=True) as conn:
            login = create_bi_login(conn, name, reader_role=reader_role_from_env(), rotate=rotate)
    except BiLoginError as error:
        raise CliError(f"bi-login: {error}", code=1) from None
    console.print(
        f"login {name} {'has a new password' if login.rotated else 'created'} (role {login.reader_role})"
    )
    if password_file is not None:
        write_password_file(password_file, login.password)
        console.print(f"password written to {password_file} (readable by you only)")
    else:
        typer.echo(login.password.reveal())  # stdout, once: the only place it is ever shown


@bi_login_app.command("drop")
@_warehouse_errors
def bi_login_drop(name: Annotated[str, typer.Argument(help="The login to drop.")]) -> None:
    """Drop a BI login (only a login in the marts reader role; any other role is left alone)."""
    from smart_office.warehouse.bi_login import BiLoginError, drop_bi_login, reader_role_from_env
    from smart_office.warehouse.connection import connect

    settings = _settings(require_partner=False, require_warehouse=True)
    try:
        with connect(settings.warehouse, autocommit=True) as conn:
            dropped = drop_bi_login(conn, name, reader_role=reader_role_from_env())
    except BiLoginError as error:
        raise CliError(f"bi-login: {error}", code=1) from None
    console.print(f"login {name} {'dropped' if dropped else 'does not exist'}")


warehouse_app = typer.Typer(
    help="Upkeep of the warehouse itself (schema migrations are `smart-office migrate`)."
)
app.add_typer(warehouse_app, name="warehouse")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB" if size >= 100_000 else f"{size:,} bytes"


@warehouse_app.command("recompress")
@_warehouse_errors
def warehouse_recompress(
    table: Annotated[
        list[str] | None,
        typer.Option(help="Only this raw table (repeatable); default: every raw table with an lz4 payload."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 5_000,
) -> None:
    """Rewrite raw payloads stored with pglz as lz4 (history landed before lz4, or through the old staging path).

    Batched, one transaction per batch; safe to stop and run again: only pglz payloads are rewritten, so a
    second run continues where the first stopped and a finished one is a no-op. Reports the payloads'
    stored bytes before and after; the old row versions become free space after (auto)vacuum.
    """
    from smart_office.warehouse.connection import connect
    from smart_office.warehouse.recompress import Lz4Unavailable, TableRecompression, recompress

    def progress(done: TableRecompression) -> None:
        if done.batches % 20 == 0:
            console.print(f"raw.{done.table}: {counted(done.rows, 'payload')} so far")

    settings = _settings(require_partner=False, require_warehouse=True)
    try:
        with connect(settings.warehouse, autocommit=True) as conn:
            results = recompress(conn, tables=table, batch_size=batch_size, progress=progress)
    except Lz4Unavailable as error:
        raise CliError(f"warehouse recompress: {error}", code=1) from None
    except ValueError as error:
        raise CliError(f"warehouse recompress: {error}", code=2) from None
    for done in results:
        console.print(
            f"raw.{done.table}: {counted(done.rows, 'payload')} recompressed, "
            f"{_mb(done.bytes_before)} -> {_mb(done.bytes_after)}"
        )
    before = sum(r.bytes_before for r in results)
    after = sum(r.bytes_after for r in results)
    console.print(f"total: {counted(sum(r.rows for r in results), 'payload')}, {_mb(before)} -> {_mb(after)}")
