"""`python -m emulator serve ...` — same as `smart-office-emulator serve ...`."""

from __future__ import annotations

from emulator.cli import emulator_app

if __name__ == "__main__":
    emulator_app(prog_name="python -m emulator")
