"""Partner Smart Office: security posture of every customer of a Microsoft CSP partner, in one warehouse."""

from __future__ import annotations

__version__ = "0.1.0"
