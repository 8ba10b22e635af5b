"""A running emulator for tests: its endpoint set, an admin client and HTTP sessions that trust its CA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from emulator.launcher import EmulatorProcess, start_emulator

DEFAULT_NOW = "2026-11-02T09:00:00Z"
DEFAULT_SEED = 7
DEFAULT_TENANTS = 25


def trusting_session(ca_bundle: str) -> requests.Session:
    """A requests session that verifies TLS against `ca_bundle` only (REQUESTS_CA_BUNDLE cannot override it)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle
    return session


@dataclass
class EmulatorHandle:
    """One emulator process. Admin helpers raise on HTTP errors and return the decoded JSON (or None)."""

    process: EmulatorProcess
    state_dir: Path
    log_file: Path
    _admin: requests.Session | None = field(default=None, repr=False)

    @property
    def endpoints(self) -> dict[str, Any]:
        return self.process.endpoints

    @property
    def identity(self) -> str:
        return self.endpoints["identity"]

    @property
    def graph(self) -> str:
        return self.endpoints["graph"]

    @property
    def partner_center(self) -> str:
        return self.endpoints["partner_center"]

    @property
    def key_vault(self) -> str:
        return self.endpoints["key_vault"]

    @property
    def admin(self) -> str:
        return self.endpoints["admin"]

    @property
    def power_bi(self) -> str:
        return self.endpoints["power_bi"]

    @property
    def ca_bundle(self) -> str:
        return self.endpoints["ca_bundle"]

    @property
    def partner_tenant_id(self) -> str:
        return self.endpoints["partner_tenant_id"]

    def authority(self, tenant: str) -> str:
        return f"{self.identity}/{tenant}"

    def http_session(self) -> requests.Session:
        return trusting_session(self.ca_bundle)

    def _admin_call(self, method: str, path: str, json: Any = None) -> Any:
        if self._admin is None:
            self._admin = self.http_session()
        response = self._admin.request(method, f"{self.admin}{path}", json=json, timeout=30)
        if response.status_code >= 400:
            raise AssertionError(f"admin {method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def admin_get(self, path: str) -> Any:
        return self._admin_call("GET", path)

    def admin_post(self, path: str, json: Any = None) -> Any:
        return self._admin_call("POST", path, json)

    def admin_delete(self, path: str) -> Any:
        return self._admin_call("DELETE", path)

    def partner_credentials(self) -> dict[str, str]:
        """A registered partner app (client id + fresh secret) and a fresh partner refresh token."""
        return self.admin_post("/partner-credentials")

    def add_fault(self, **spec: Any) -> dict[str, Any]:
        return self.admin_post("/faults", spec)

    def customers(self) -> list[dict[str, Any]]:
        return self.admin_get("/portfolio/customers")["customers"]

    def customer_where(self, **wanted: Any) -> dict[str, Any]:
        """The first customer whose summary row has all `wanted` values."""
        for row in self.customers():
            if all(row.get(k) == v for k, v in wanted.items()):
                return row
        raise LookupError(f"no customer with {wanted} in this portfolio")

    def reset(self) -> None:
        """Remove every injected fault (the clock cannot go back: tests that move it use their own emulator)."""
        self.admin_delete("/faults")

    def stop(self) -> int | None:
        if self._admin is not None:
            self._admin.close()
        self.process.stop()
        return self.process.process.returncode


@contextmanager
def running_emulator(
    state_dir: Path,
    *,
    tenants: int = DEFAULT_TENANTS,
    seed: int = DEFAULT_SEED,
    now: str = DEFAULT_NOW,
    fault_profile: str | None = None,
    port: int = 0,
) -> Iterator[EmulatorHandle]:
    """Start `python -m emulator serve` and stop it afterwards."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log_file = state_dir.parent / f"{state_dir.name}.log"
    process = start_emulator(
        tenants=tenants,
        seed=seed,
        now=now,
        state_dir=state_dir,
        port=port,
        fault_profile=fault_profile,
        log_file=log_file,
    )
    handle = EmulatorHandle(process=process, state_dir=state_dir, log_file=log_file)
    try:
        yield handle
    finally:
        handle.stop()


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, without verification (tests verify signatures separately where it matters)."""
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def sign_in_as_partner_admin(
    app: Any, scopes: list[str], session: requests.Session, redirect_uri: str = "http://localhost:8400"
) -> dict[str, Any]:
    """Authorization code + PKCE with MSAL, playing the browser: follow /authorize and hand the redirect back."""
    import warnings
    from urllib.parse import parse_qsl, urlsplit

    with warnings.catch_warnings():
        # MSAL recommends form_post; the emulator supports it, but a query redirect is what loopback listeners get.
        warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
        flow = app.initiate_auth_code_flow(scopes, redirect_uri=redirect_uri)
    response = session.get(flow["auth_uri"], allow_redirects=False, timeout=30)
    if response.status_code != 302:
        raise AssertionError(f"/authorize answered {response.status_code}: {response.text[:300]}")
    redirected = urlsplit(response.headers["location"])
    return app.acquire_token_by_auth_code_flow(flow, dict(parse_qsl(redirected.query)))


def self_signed_certificate(common_name: str = "emulator-test-client") -> tuple[str, str, str]:
    """(private key PEM, certificate PEM, base64 DER for Graph keyCredentials) of a throwaway certificate."""
    import base64
    import datetime as dt
    import uuid

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(uuid.uuid4().int >> 1)
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=400))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return (
        key_pem,
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode(),
    )


def make_context(
    state_dir: Path, *, tenants: int = 3, seed: int = DEFAULT_SEED, now: str = DEFAULT_NOW
) -> Any:
    """An in-process EmulatorContext (no sockets) for unit tests of the service layer."""
    from emulator.config import SERVICES, EmulatorConfig, parse_instant
    from emulator.server import build_context

    config = EmulatorConfig(now=parse_instant(now), state_dir=state_dir, tenants=tenants, seed=seed)
    ports = {name: 44300 + i for i, name in enumerate(SERVICES)}
    return build_context(config, ports, str(state_dir / "ca.pem"))
