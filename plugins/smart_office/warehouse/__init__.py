"""The PostgreSQL warehouse: versioned migrations, COPY-based landing, run and coverage bookkeeping."""

from __future__ import annotations
