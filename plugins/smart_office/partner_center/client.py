"""Partner Center customers client: seek-based paging with continuation tokens, Retry-After, typed errors.

The anchor this replaces stopped at the first 100 customers because it ignored `links.next`; here a page's
`links.next` (relative URI + `MS-ContinuationToken` header) is followed until absent, with loop detection.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests

from smart_office.graph.rate_limits import RetryPolicy, parse_retry_after
from smart_office.redaction import redact_url

log = logging.getLogger(__name__)


class PartnerCenterError(Exception):
    """A Partner Center request failed for good. Carries status and Partner Center's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(f"Partner Center: {message}" + (f" (HTTP {status}, code {code})" if status else ""))


@dataclass(slots=True)
class PartnerCenterStats:
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    pages: int = 0


class PartnerCenterClient:
    """Lists the partner's customers.

    :param base_url: Partner Center root, e.g. https://api.partnercenter.microsoft.com.
    :param token: callable returning a Partner Center access token (user_impersonation) for the partner tenant.
    :param session: requests session that trusts the right CA.
    :param page_size: `size` query parameter.
    :param max_pages: safety cap on pages.
    :param retry: how long to keep retrying 429/5xx/broken connections (a time budget per request).
    :param timeout: seconds per request; a hung connection is a failed attempt, never a hung run.
    """

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        session: requests.Session,
        *,
        page_size: int = 500,
        max_pages: int = 10_000,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._session = session
        self.page_size = page_size
        self.max_pages = max_pages
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self.stats = PartnerCenterStats()

    def customers(self) -> Iterator[dict[str, Any]]:
        """Yield every customer object, page after page, exactly as Partner Center sent it."""
        url = f"{self._base}/v1/customers?size={self.page_size}"
        extra_headers: dict[str, str] = {}
        seen: set[tuple[str, str]] = set()
        while True:
            page = self._get(url, extra_headers)
            self.stats.pages += 1
            items = page.get("items")
            if not isinstance(items, list):
                raise PartnerCenterError("customers page without an `items` array")
            yield from items
            nxt = (page.get("links") or {}).get("next")
            if not nxt:
                return
            url, extra_headers = self._next(nxt)
            marker = (url, extra_headers.get("MS-ContinuationToken", ""))
            if marker in seen:
                raise PartnerCenterError(f"continuation loop after {self.stats.pages} pages")
            if self.stats.pages >= self.max_pages:
                raise PartnerCenterError(f"page cap of {self.max_pages} reached")
            seen.add(marker)

    def _next(self, link: dict[str, Any]) -> tuple[str, dict[str, str]]:
        uri = str(link.get("uri", ""))
        if not uri:
            raise PartnerCenterError("links.next without a uri")
        # links.next.uri is relative and, in Microsoft's examples, sometimes lacks the /v1 prefix.
        if not uri.startswith(("http://", "https://")):
            path = uri if uri.startswith("/v1/") else "/v1" + (uri if uri.startswith("/") else "/" + uri)
            uri = urljoin(self._base + "/", path.lstrip("/"))
        if urlsplit(uri).netloc != urlsplit(self._base).netloc:
            raise PartnerCenterError("links.next points to another host")
        headers = {
            str(h.get("key")): str(h.get("value"))
            for h in link.get("headers") or []
            if isinstance(h, dict) and h.get("key")
        }
        return uri, headers

    def _get(self, url: str, extra_headers: dict[str, str]) -> dict[str, Any]:
        request_id = str(uuid.uuid4())  # reused on retries: Partner Center's idempotency key
        budget = self.retry.start()
        while True:
            headers = {
                "Authorization": f"Bearer {self._token()}",
                "Accept": "application/json",
                "MS-RequestId": request_id,
                "MS-CorrelationId": str(uuid.uuid4()),
                "MS-Contract-Version": "v1",
                **extra_headers,
            }
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                response = self._session.get(url, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                problem = type(exc).__name__
            else:
                if response.status_code == 200:
                    try:
                        return orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        problem = "a body that is not JSON"
                elif response.status_code in {429, 500, 502, 503, 504}:
                    self.stats.throttled += response.status_code == 429
                    problem = f"HTTP {response.status_code}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                else:
                    raise _error(response)
            wait = budget.next_wait(retry_after)
            if wait is None:
                raise PartnerCenterError(
                    f"gave up on {redact_url(url)} after {budget.attempts} attempts (last: {problem})"
                )
            self.stats.retries += 1
            log.warning("Partner Center %s: %s; retrying in %.1fs", redact_url(url), problem, wait)
            self._sleep(wait)


def _error(response: requests.Response) -> PartnerCenterError:
    code = description = None
    try:
        body = orjson.loads(response.content)
        if isinstance(body, dict):
            code = body.get("code") or body.get("statusCode")
            description = body.get("description") or body.get("message")
    except orjson.JSONDecodeError:
        pass
    return PartnerCenterError(
        str(description or response.reason)[:300],
        status=response.status_code,
        code=str(code) if code is not None else None,
    )
