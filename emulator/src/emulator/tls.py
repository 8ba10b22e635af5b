"""The emulator's CA and server certificate (trustme), kept in the state dir so restarts keep trust."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509

SERVER_NAMES = ("127.0.0.1", "localhost", "::1")
_RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Paths: `ca_bundle` for clients to trust; `cert_chain` + `private_key` for the server."""

    ca_bundle: Path
    cert_chain: Path
    private_key: Path


def ensure_tls(state_dir: Path) -> TlsFiles:
    """Load the CA and server certificate from `state_dir/tls`, creating (or renewing) what is missing."""
    folder = state_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    chain, key = folder / "server.pem", folder / "server-key.pem"
    if ca_cert.exists() and ca_key.exists():
        ca = trustme.CA.from_pem(ca_cert.read_bytes(), ca_key.read_bytes())
    else:
        ca = trustme.CA(organization_name="Partner Smart Office emulator")
        ca.cert_pem.write_to_path(str(ca_cert))
        _write_private(ca_key, ca.private_key_pem.bytes())
        chain.unlink(missing_ok=True)
    if not _server_cert_usable(chain, key, ca_cert):
        leaf = ca.issue_cert(*SERVER_NAMES)
        chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        _write_private(key, leaf.private_key_pem.bytes())
    return TlsFiles(ca_bundle=ca_cert, cert_chain=chain, private_key=key)


def _server_cert_usable(chain: Path, key: Path, ca_cert: Path) -> bool:
    if not (chain.exists() and key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(chain.read_bytes())
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    fresh = cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > _RENEW_BEFORE
    return fresh and cert.issuer == ca.subject


def _write_private(path: Path, data: bytes) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_bytes(data)
