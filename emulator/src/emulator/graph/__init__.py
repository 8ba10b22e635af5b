"""Microsoft Graph v1.0 (shape of graph.microsoft.com): the service skeleton in `app`, endpoint modules beside it."""

from __future__ import annotations
