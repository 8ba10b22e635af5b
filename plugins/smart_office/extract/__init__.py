"""Extraction: discover customers, pull each customer's security data, land it, record coverage."""

from __future__ import annotations
