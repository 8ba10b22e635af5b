"""Keep secrets out of logs, exceptions and reprs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "***"

# Query parameters and form fields that carry credentials in the protocols we speak.
_SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "client_assertion",
        "code",
        "code_verifier",
        "device_code",
        "password",
        "assertion",
        "secret",
        "token",
        "sig",
        "$skiptoken",
    }
)
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")


class Secret(str):
    """A str whose repr and str() never show the value; use `.reveal()` where the value must go on the wire."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def reveal(self) -> str:
        return str.__str__(self)


def redact_url(url: str) -> str:
    """Drop credential-bearing query parameters from a URL before it is logged."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (k, REDACTED if k.lower() in _SECRET_KEYS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="$*")))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask bearer tokens, JWT-shaped strings and the given literal secrets inside free text."""
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks bearer tokens and JWTs in every record it sees (defence in depth)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
