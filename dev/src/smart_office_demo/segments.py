"""The demo's customer segments: a segments CSV the demo writes for the emulated customers, imported with
`smart-office segments import` as a partner would, so that the dashboard and the marts show segments.

Deterministic: each customer's attributes come from a stable hash of its tenant id, so the same portfolio
always gets the same segments. The seat band is left out on purpose: dbt derives it from the licences Graph
reports (licensedUserCount), as it does for a partner that sets none.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import ssl
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

SERVICE_MODELS = ("managed", "managed", "co-managed", "break-fix")
INDUSTRIES = ("healthcare", "legal", "manufacturing", "nonprofit", "professional services", "retail")
CONTRACT_TIERS = ("bronze", "silver", "gold")


def _pick(tenant_id: str, purpose: str, choices: tuple[str, ...]) -> str:
    digest = hashlib.sha256(f"{purpose}:{tenant_id}".encode()).digest()
    return choices[int.from_bytes(digest[:8], "big") % len(choices)]


def segments_csv(customers: Iterable[Mapping[str, Any]]) -> str:
    """The CSV (`smart-office segments export`'s columns) giving each customer its demo segments."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["tenant_id", "company_name", "service_model", "industry", "contract_tier"])
    for customer in sorted(customers, key=lambda c: str(c["tenant_id"])):
        tenant = str(customer["tenant_id"])
        writer.writerow(
            [
                tenant,
                customer.get("company_name") or "",
                _pick(tenant, "service_model", SERVICE_MODELS),
                _pick(tenant, "industry", INDUSTRIES),
                _pick(tenant, "contract_tier", CONTRACT_TIERS),
            ]
        )
    return out.getvalue()


def emulated_customers(endpoints: Mapping[str, str]) -> list[dict[str, Any]]:
    """The emulated portfolio's customers, from the emulator's admin API (trusting its CA, bypassing proxies)."""
    context = ssl.create_default_context(cafile=endpoints["ca_bundle"])
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )
    with opener.open(f"{endpoints['admin']}/portfolio/customers", timeout=60) as response:
        return list(json.load(response)["customers"])
