"""The demo's own environment variables, declared once: `demo.py` reads its defaults from here and
docs/settings.md lists them (entry point `smart_office.settings_reference` in dev/pyproject.toml)."""

from __future__ import annotations

import os

from smart_office.settings import Variable

SECTION = "The demo (`make demo`)"
READ_BY = "smart_office_demo.demo"

TENANTS = Variable(
    "SMART_OFFICE_DEMO_TENANTS",
    "Customers in the emulated portfolio (10,000 works).",
    SECTION,
    default="50",
    kind="integer",
    read_by=READ_BY,
)
SEED = Variable(
    "SMART_OFFICE_DEMO_SEED", "The portfolio's seed.", SECTION, default="42", kind="integer", read_by=READ_BY
)
NOW = Variable(
    "SMART_OFFICE_DEMO_NOW",
    "The emulator clock's start; with the same seed and tenants, the same data.",
    SECTION,
    default="(now, to the hour)",
    kind="ISO 8601 timestamp",
    read_by=READ_BY,
)
DASHBOARD = Variable(
    "SMART_OFFICE_DEMO_DASHBOARD",
    "`0`: do not start the dashboard at the end of the demo.",
    SECTION,
    default="1",
    kind="0 or 1",
    read_by=READ_BY,
)
DASHBOARD_PORT = Variable(
    "SMART_OFFICE_DASHBOARD_PORT",
    "The port of the dashboard the demo starts.",
    SECTION,
    default="8501",
    kind="integer",
    read_by=READ_BY,
)
PORT = Variable(
    "SMART_OFFICE_DEMO_PORT",
    "The embedded PostgreSQL also listens on 127.0.0.1 at this port, for BI tools; every login there needs a "
    "password (`smart-office bi-login create NAME`).",
    SECTION,
    default="(unset: the Unix socket only)",
    kind="integer",
    read_by=READ_BY,
)
STATE_DIR = Variable(
    "SMART_OFFICE_STATE_DIR",
    "Where the demo keeps its embedded PostgreSQL, emulator state, Airflow home, logs and `demo.env`.",
    SECTION,
    default="(the checkout's .state/)",
    kind="directory",
    read_by=READ_BY,
)

VARIABLES: tuple[Variable, ...] = (TENANTS, SEED, NOW, DASHBOARD, DASHBOARD_PORT, PORT, STATE_DIR)


def setting(variable: Variable) -> str:
    """The variable's value in the environment, else its declared default."""
    return os.environ.get(variable.name, "").strip() or (variable.default or "")
