"""A local, faithful emulator of the Microsoft endpoints Partner Smart Office uses.

Identity (login.microsoftonline.com), Microsoft Graph v1.0 (security, GDAP, directory objects),
Partner Center and Key Vault — over HTTPS with a CA it generates, with a deterministic portfolio of
customer tenants and injectable faults. See docs/architecture.md.
"""

from __future__ import annotations
