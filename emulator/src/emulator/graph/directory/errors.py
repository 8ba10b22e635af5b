"""The directory's errors (Entra's `Request_*` codes) and the request-body reading every write shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.graph.app import graph_error

Handler = Callable[[Request], Awaitable[Response]]


class DirectoryError(Exception):
    """A request the directory refuses: the HTTP status, Entra's error code and its message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(key: str) -> DirectoryError:
    return DirectoryError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


def bad_value(field: str, resource: str | None = None) -> DirectoryError:
    of = f" of resource '{resource}'" if resource else ""
    return DirectoryError(400, "Request_BadRequest", f"Invalid value specified for property '{field}'{of}.")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or Graph's 400 for anything else."""
    try:
        body = await request.json()
    except ValueError:
        raise DirectoryError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of "
            "valid JSON format.",
        ) from None
    if not isinstance(body, dict):
        raise DirectoryError(400, "BadRequest", "The request payload must be a JSON object.")
    return body


def answering_errors(handler: Handler) -> Handler:
    """`handler` with a DirectoryError turned into Graph's error response."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except DirectoryError as err:
            return graph_error(request, err.status, err.code, err.message)

    endpoint.__name__ = handler.__name__
    endpoint.__qualname__ = handler.__qualname__
    return endpoint
