"""Entra (AADSTS) error responses, in the exact body shape login.microsoftonline.com sends.

`error_description` = "AADSTSnnnnn: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …"; plus
error_codes, timestamp (`YYYY-MM-DD hh:mm:ssZ`), trace_id, correlation_id (the client's `client-request-id`
when it sent one), error_uri, and suberror/claims where Entra adds them (see examples/identity_*.json).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import Response

from emulator.context import json_response

# code -> (OAuth error, HTTP status, suberror)
CATALOGUE: dict[int, tuple[str, int, str | None]] = {
    50020: ("invalid_grant", 400, None),
    50076: ("invalid_grant", 400, "basic_action"),
    53003: ("invalid_grant", 400, None),
    65001: ("invalid_grant", 400, "consent_required"),
    70000: ("invalid_grant", 400, None),
    70008: ("invalid_grant", 400, None),
    70011: ("invalid_scope", 400, None),
    70016: ("authorization_pending", 400, None),
    70020: ("expired_token", 400, None),
    54005: ("invalid_grant", 400, None),
    90002: ("invalid_request", 400, None),
    90009: ("invalid_request", 400, None),
    90014: ("invalid_request", 400, None),
    500011: ("invalid_resource", 400, None),
    500112: ("invalid_grant", 400, None),
    501481: ("invalid_grant", 400, None),
    530034: ("invalid_grant", 400, None),
    700007: ("invalid_grant", 400, None),
    700016: ("unauthorized_client", 400, None),
    700021: ("invalid_client", 401, None),
    700023: ("invalid_client", 401, None),
    700024: ("invalid_client", 401, None),
    700025: ("invalid_client", 401, None),
    70003: ("unsupported_grant_type", 400, None),
    901002: ("invalid_request", 400, None),
    90033: ("temporarily_unavailable", 503, None),
    700027: ("invalid_client", 401, None),
    700082: ("invalid_grant", 400, None),
    7000215: ("invalid_client", 401, None),
    # Client credentials at a tenant where the app has no service principal (no admin consent there):
    # `invalid_client` with this code, as captured in Azure/azure-sdk-for-net#46762 (the status, 401, is that
    # of the other invalid_client answers; inferred).
    7000229: ("invalid_client", 401, None),
    7000218: ("invalid_client", 401, None),
    7000222: ("invalid_client", 401, None),
    900144: ("invalid_request", 400, None),
    1002012: ("invalid_scope", 400, None),
    9002313: ("invalid_request", 400, None),
    900561: ("invalid_request", 400, None),
    50011: ("invalid_request", 400, None),
    50059: ("invalid_request", 400, None),
}


@dataclass
class AadError(Exception):
    """An AADSTS failure; `error` and `status` default from the catalogue."""

    code: int
    text: str
    error: str | None = None
    status: int | None = None
    suberror: str | None = None
    claims: str | None = None
    with_error_uri: bool = True
    # The discovery endpoint's captured 90002 body separates Trace ID etc. with spaces, not CRLF.
    single_line: bool = False

    def __post_init__(self) -> None:
        error, status, suberror = CATALOGUE.get(self.code, ("invalid_request", 400, None))
        self.error = self.error or error
        self.status = self.status or status
        self.suberror = self.suberror or suberror
        super().__init__(f"AADSTS{self.code}")


def aad_timestamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M:%SZ")


def aad_error_body(
    err: AadError, *, now: datetime, identity: str, correlation_id: str | None, trace_id: str | None = None
) -> dict[str, Any]:
    trace = trace_id or str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    stamp = aad_timestamp(now)
    sep = " " if err.single_line else "\r\n"
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": (
            f"AADSTS{err.code}: {err.text}{sep}Trace ID: {trace}{sep}Correlation ID: {correlation}{sep}Timestamp: {stamp}"
        ),
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
    }
    if err.with_error_uri:
        body["error_uri"] = f"{identity}/error?code={err.code}"
    if err.suberror:
        body["suberror"] = err.suberror
    if err.claims:
        body["claims"] = err.claims
    return body


def aad_error_response(
    err: AadError, *, now: datetime, identity: str, correlation_id: str | None, trace_id: str | None = None
) -> Response:
    body = aad_error_body(err, now=now, identity=identity, correlation_id=correlation_id, trace_id=trace_id)
    return json_response(body, err.status or 400, headers={"x-ms-request-id": body["trace_id"]})
