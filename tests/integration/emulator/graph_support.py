"""A small Graph caller for the emulator's security/GDAP/batch tests: delegated tokens per tenant (the partner's
refresh token redeemed with MSAL), GETs over verified TLS, nextLink walks, and fidelity validation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from emulator.config import parse_instant
from emulator.data.portfolio import Portfolio
from emulator.fidelity import SchemaRegistry
from tests.integration.emulator.conftest import GRAPH_DEFAULT, confidential_app
from tests.support.emulator import EmulatorHandle

PREFER_UNKNOWN = {"Prefer": "include-unknown-enum-members"}
_REGISTRY = SchemaRegistry.load()


def assert_valid(url: str, body: Any, *, prefer: bool) -> None:
    """The body validates against the CSDL-derived schema for GET `url`."""
    issues = _REGISTRY.validate_response(url, body, include_unknown_enum_members=prefer)
    assert issues == [], issues[:5]


@dataclass
class GraphCaller:
    """Graph requests as the partner's app, with one cached token per (tenant, scopes)."""

    handle: EmulatorHandle
    credentials: dict[str, str]
    session: requests.Session
    _tokens: dict[tuple[str, tuple[str, ...]], str] = field(default_factory=dict)

    def token(self, tenant: str, scopes: list[str] = GRAPH_DEFAULT) -> str:
        key = (tenant, tuple(scopes))
        if key not in self._tokens:
            result = confidential_app(
                self.handle,
                tenant,
                self.credentials["client_id"],
                self.credentials["client_secret"],
                session=self.session,
            ).acquire_token_by_refresh_token(self.credentials["refresh_token"], scopes)
            assert "access_token" in result, result
            self._tokens[key] = result["access_token"]
        return self._tokens[key]

    def close(self) -> None:
        """Close the connections (an emulator stops at once when no keep-alive connection is left open)."""
        self.session.close()

    def forget_tokens(self) -> None:
        self._tokens.clear()

    def url(self, path: str) -> str:
        return f"{self.handle.graph}{path}"

    def get(
        self,
        tenant: str,
        path_or_url: str,
        *,
        prefer: bool = False,
        headers: dict[str, str] | None = None,
        scopes: list[str] = GRAPH_DEFAULT,
    ) -> requests.Response:
        url = path_or_url if path_or_url.startswith("https://") else self.url(path_or_url)
        sent = {"Authorization": f"Bearer {self.token(tenant, scopes)}", **(PREFER_UNKNOWN if prefer else {})}
        return self.session.get(url, headers={**sent, **(headers or {})}, timeout=60)

    def post(
        self, tenant: str, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {self.token(tenant)}", **(headers or {})}
        return self.session.post(self.url(path), json=body, headers=sent, timeout=60)

    def ok(self, tenant: str, path: str, *, prefer: bool = False) -> dict[str, Any]:
        """GET, assert 200, validate against the schema, return the body."""
        response = self.get(tenant, path, prefer=prefer)
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert_valid(path, body, prefer=prefer)
        return body

    def pages(
        self, tenant: str, path: str, *, prefer: bool = False, limit: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink verbatim; each page is validated."""
        url: str | None = self.url(path)
        seen: set[str] = set()
        while url is not None:
            assert url not in seen, f"nextLink loop at {url}"
            assert len(seen) < limit, "too many pages"
            seen.add(url)
            response = self.get(tenant, url, prefer=prefer)
            assert response.status_code == 200, response.text[:500]
            body = response.json()
            assert_valid(url, body, prefer=prefer)
            yield body
            url = body.get("@odata.nextLink")
            if url is not None:
                assert url.startswith(f"{self.handle.graph}/v1.0/"), url

    def items(self, tenant: str, path: str, *, prefer: bool = False) -> list[dict[str, Any]]:
        return [item for page in self.pages(tenant, path, prefer=prefer) for item in page["value"]]


def portfolio_of(*, seed: int, tenants: int, now: str) -> tuple[Portfolio, datetime]:
    """The portfolio an emulator started with these options serves (in-process, same generator), and `--now`."""
    instant = parse_instant(now)
    return Portfolio(seed, tenants, instant), instant


def graph_caller(handle: EmulatorHandle) -> GraphCaller:
    """A caller for a private emulator (fresh partner credentials, its own trusting session)."""
    return GraphCaller(handle, handle.partner_credentials(), handle.http_session())
