"""An embedded PostgreSQL (the `pgserver` wheel) for the demo when no warehouse URL is given."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path, *, keep_running: bool = True) -> str:
    """Start (or reuse) a PostgreSQL cluster in `data_dir` and return its URL.

    With keep_running the server outlives this process, so the demo's dashboard and a later `make demo`
    find their data again; the same data_dir always maps to the same server.
    """
    import pgserver  # heavy: the PostgreSQL binaries' wrapper; only when really embedding

    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    url = server.get_uri()
    log.info("embedded PostgreSQL running from %s", data_dir)
    return url
