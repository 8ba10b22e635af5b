"""Every way a partner's PostgreSQL lets the product in, on one cluster of the test's own.

One role and one database per method, each reachable only by its method (pg_hba.conf), so a method that
silently fell back to another would fail:

| method | role | how it logs in |
|---|---|---|
| trust | smart_trust | no password: `host … trust` |
| password_url | smart_url | SCRAM, the password in the URL |
| pgpassword | smart_env | SCRAM, the password in PGPASSWORD |
| pgpass | smart_pgpass | SCRAM, the password in a .pgpass file named by PGPASSFILE |
| service | smart_service | SCRAM; host, port, user, database and password from a service file (PGSERVICEFILE) |
| certificate | smart_cert | `hostssl … cert`: sslmode=verify-full, the test's CA, a client certificate for the role |
| entra | smart_office_mi | an Entra ID token from the emulator, checked by `EntraPostgresFront` (TLS, verify-full) |

Certificates are made by the test (trustme); passwords are obviously fake.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import trustme
from psycopg import sql

from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.entra_postgres import EntraPostgresFront, emulator_signing_keys
from tests.support.private_postgres import PrivateCluster, ServerTls, postgres_bindir, private_cluster

READER_ROLE = "smart_office_bi_reader"
LOADER_ROLE = "smart_office_loader"
ENTRA_ROLE = "smart_office_mi"
METHODS = ("trust", "password_url", "pgpassword", "pgpass", "service", "certificate", "entra")


@dataclass
class LoginMethod:
    """How the product is configured for one method: the warehouse URL and the extra environment it needs."""

    name: str
    role: str
    database: str
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def settings(self) -> dict[str, str]:
        """SMART_OFFICE_WAREHOUSE_URL and the method's environment."""
        return {"SMART_OFFICE_WAREHOUSE_URL": self.url, **self.env}


@dataclass
class LoginMatrix:
    cluster: PrivateCluster
    methods: dict[str, LoginMethod]
    ca_file: Path
    front: EntraPostgresFront | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def method(self, name: str) -> LoginMethod:
        import pytest

        if name in self.skipped:
            pytest.skip(self.skipped[name])
        return self.methods[name]


def _private_file(path: Path, data: bytes | str) -> Path:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def emulator_clock(handle: EmulatorHandle) -> float:
    now = handle.admin_get("/clock")["now"]
    return datetime.fromisoformat(now.replace("Z", "+00:00")).timestamp()


def entra_identity(handle: EmulatorHandle) -> dict[str, str]:
    """A service principal of the partner tenant (the deployment's workload identity) and its object id."""
    import msal

    creds = handle.partner_credentials()
    app = msal.ConfidentialClientApplication(
        creds["client_id"],
        client_credential=creds["client_secret"],
        authority=handle.authority(handle.partner_tenant_id),
        instance_discovery=False,
        http_client=handle.http_session(),
    )
    token = app.acquire_token_for_client(["https://ossrdbms-aad.database.windows.net/.default"])
    return {
        "tenant_id": handle.partner_tenant_id,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "oid": jwt_claims(token["access_token"])["oid"],
    }


@contextlib.contextmanager
def login_matrix(folder: Path, emulator: EmulatorHandle | None = None) -> Iterator[LoginMatrix]:
    """The cluster with every method set up (entra only with an emulator; certificate only with OpenSSL)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="Smart Office test warehouse CA")
    ca_file = folder / "warehouse-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ssl_bindir = postgres_bindir(ssl=True)
    tls = (
        ServerTls(
            b"".join(b.bytes() for b in leaf.cert_chain_pems),
            leaf.private_key_pem.bytes(),
            ca.cert_pem.bytes(),
        )
        if ssl_bindir
        else None
    )
    with private_cluster(tls=tls, bindir=ssl_bindir) as cluster, contextlib.ExitStack() as stack:
        port = cluster.port
        host = "127.0.0.1"
        with cluster.admin() as conn:
            for role in (READER_ROLE, LOADER_ROLE):
                conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
        methods: dict[str, LoginMethod] = {}
        skipped: dict[str, str] = {}
        hba: list[str] = []

        def add(
            name: str, role: str, url: str, env: dict[str, str] | None = None, password: str | None = None
        ) -> None:
            database = f"{name}_db"
            cluster.create_login(role, password=password, database=database)
            with cluster.admin() as conn:
                conn.execute(
                    sql.SQL("grant {} to {}").format(sql.Identifier(READER_ROLE), sql.Identifier(role))
                )
                conn.execute(
                    sql.SQL("grant {} to {}").format(sql.Identifier(LOADER_ROLE), sql.Identifier(role))
                )
            methods[name] = LoginMethod(name, role, database, url.format(database=database), env or {})

        add("trust", "smart_trust", f"postgresql://smart_trust@{host}:{port}/{{database}}")
        hba.append(f"host trust_db smart_trust {host}/32 trust")

        add(
            "password_url",
            "smart_url",
            f"postgresql://smart_url:fake-url-pw-1@{host}:{port}/{{database}}",
            password="fake-url-pw-1",
        )
        add(
            "pgpassword",
            "smart_env",
            f"postgresql://smart_env@{host}:{port}/{{database}}",
            {"PGPASSWORD": "fake-env-pw-2"},
            password="fake-env-pw-2",
        )
        pgpass = _private_file(folder / "pgpass", f"{host}:{port}:pgpass_db:smart_pgpass:fake-pgpass-pw-3\n")
        add(
            "pgpass",
            "smart_pgpass",
            f"postgresql://smart_pgpass@{host}:{port}/{{database}}",
            {"PGPASSFILE": str(pgpass)},
            password="fake-pgpass-pw-3",
        )
        service_file = _private_file(
            folder / "pg_service.conf",
            f"[smart_office]\nhost={host}\nport={port}\nuser=smart_service\ndbname=service_db\npassword=fake-service-pw-5\n",
        )
        add(
            "service",
            "smart_service",
            "postgresql://?service=smart_office",
            {"PGSERVICEFILE": str(service_file)},
            password="fake-service-pw-5",
        )
        for db, role in (
            ("password_url_db", "smart_url"),
            ("pgpassword_db", "smart_env"),
            ("pgpass_db", "smart_pgpass"),
            ("service_db", "smart_service"),
        ):
            hba.append(f"host {db} {role} {host}/32 scram-sha-256")

        if tls is not None:
            client = ca.issue_cert("smart-cert.client.test", common_name="smart_cert")
            cert_file = folder / "client.crt"
            client.cert_chain_pems[0].write_to_path(str(cert_file))
            key_file = _private_file(folder / "client.key", client.private_key_pem.bytes())
            add(
                "certificate",
                "smart_cert",
                f"postgresql://smart_cert@{host}:{port}/{{database}}?sslmode=verify-full&sslrootcert={ca_file}"
                f"&sslcert={cert_file}&sslkey={key_file}",
            )
            hba.append(f"hostssl certificate_db smart_cert {host}/32 cert")
        else:
            skipped["certificate"] = "no PostgreSQL built with OpenSSL on this machine (hostssl/cert logins)"

        front = None
        if emulator is not None:
            identity = entra_identity(emulator)
            session = emulator.http_session()
            jwks = session.get(
                f"{emulator.identity}/{emulator.partner_tenant_id}/discovery/v2.0/keys", timeout=30
            ).json()
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            leaf.configure_cert(context)
            front = EntraPostgresFront(
                backend_socket=f"{cluster.socket_dir}/.s.PGSQL.{port}",
                signing_keys=emulator_signing_keys(jwks),
                issuer=f"https://sts.windows.net/{emulator.partner_tenant_id}/",
                principals={ENTRA_ROLE: identity["oid"]},
                clock=lambda: emulator_clock(emulator),
                tls=context,
            )
            stack.enter_context(front)
            add(
                "entra",
                ENTRA_ROLE,
                f"postgresql://{ENTRA_ROLE}@{host}:{front.port}/{{database}}?sslmode=verify-full&sslrootcert={ca_file}",
                {
                    "SMART_OFFICE_WAREHOUSE_AUTH": "entra",
                    "AZURE_TENANT_ID": identity["tenant_id"],
                    "AZURE_CLIENT_ID": identity["client_id"],
                    "AZURE_CLIENT_SECRET": identity["client_secret"],
                },
            )
        else:
            skipped["entra"] = "needs the emulator"
        hba.append(f"host all all {host}/32 reject")
        cluster.set_hba(hba)
        yield LoginMatrix(cluster, methods, ca_file, front, skipped)


def with_endpoints(method: LoginMethod, emulator: EmulatorHandle, folder: Path) -> dict[str, Any]:
    """The method's settings plus the emulator's endpoint set (the entra login's authority and CA)."""
    import json

    endpoints = folder / "endpoints.json"
    if not endpoints.exists():
        endpoints.write_text(json.dumps(emulator.endpoints))
    return {**method.settings(), "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints)}
