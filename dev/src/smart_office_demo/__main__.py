"""`python -m smart_office_demo` — same as `smart-office-demo`."""

from __future__ import annotations

from smart_office_demo.cli import app

if __name__ == "__main__":
    app(prog_name="python -m smart_office_demo")
