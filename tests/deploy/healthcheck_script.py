"""scripts/healthcheck.py, imported from its path (scripts/ is not a package; the image runs it as a file)."""

from __future__ import annotations

import importlib.util

from tests.deploy.compose import REPO

_spec = importlib.util.spec_from_file_location(
    "smart_office_healthcheck", REPO / "scripts" / "healthcheck.py"
)
assert _spec is not None
assert _spec.loader is not None
healthcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(healthcheck)
