"""An async Microsoft Graph client for many tenants: paging, throttling, $batch, typed errors. No Airflow needed."""

from __future__ import annotations
