"""The dashboard on the marts (Streamlit): portfolio, customer, alerts and opportunities pages, and a static export.

It reads schema `marts` only, as the BI reader role, through the queries in `queries/` (one module per page,
beside its view in `views/`).
"""

from __future__ import annotations
