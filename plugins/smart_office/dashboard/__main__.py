"""`python -m smart_office.dashboard` — the same as `smart-office dashboard`."""

from __future__ import annotations

from smart_office.dashboard.cli import dashboard_app

if __name__ == "__main__":
    dashboard_app(prog_name="smart-office dashboard")
