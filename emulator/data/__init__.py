"""Deterministic generator of the emulated CSP portfolio: pure Python, no HTTP."""

from __future__ import annotations
