"""Partner Center REST: the partner's customer list, every page of it."""

from __future__ import annotations
