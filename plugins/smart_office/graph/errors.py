"""Typed Graph errors. They carry the tenant, endpoint, status and Graph's error code — never a token."""

from __future__ import annotations


class GraphError(Exception):
    """A Graph request failed for good (after the retries its kind allows)."""

    state = "graph_error"

    def __init__(
        self,
        message: str,
        *,
        tenant_id: str,
        endpoint: str,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.endpoint = endpoint
        self.status = status
        self.code = code
        self.request_id = request_id
        detail = f"HTTP {status}" if status else "no response"
        if code:
            detail += f" {code}"
        if request_id:
            detail += f", request-id {request_id}"
        super().__init__(f"{endpoint} for tenant {tenant_id}: {message} ({detail})")


class GraphUnauthorizedError(GraphError):
    """401 even with a fresh token."""

    state = "unauthorized"


class GraphForbiddenError(GraphError):
    """403: the tenant lacks the licence, or the delegated roles/permissions do not cover the endpoint."""

    state = "forbidden"


class GraphBadRequestError(GraphError):
    """400: our request is wrong for this API (e.g. $top over the maximum, unsupported $filter)."""

    state = "bad_request"


class GraphNotFoundError(GraphError):
    state = "not_found"


class GraphThrottledError(GraphError):
    """Still 429 after every retry the budget allowed."""

    state = "throttled"


class GraphTransientError(GraphError):
    """5xx, timeouts or broken connections that outlasted the retries."""

    state = "transient"


class MalformedPageError(GraphError):
    """A 200 response whose body is not JSON even after retrying; the raw bytes go to quarantine."""

    state = "malformed_page"

    def __init__(self, message: str, *, raw: bytes, **kwargs: object) -> None:
        self.raw = raw
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class PaginationError(GraphError):
    """@odata.nextLink repeated itself, pointed off-site, or the page cap was reached."""

    state = "pagination_error"
