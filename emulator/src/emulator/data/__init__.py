"""Deterministic generator of the emulated CSP portfolio: pure Python, no HTTP.

Everything is a pure function of (seed, tenant count, anchor = start of the UTC day of `--now`) and the instant
asked about; nothing depends on wall time or process state. Modules, by endpoint:

| module | serves |
|---|---|
| `portfolio` | the partner and its customers (plans, seats, licence history, GDAP/DAP, baked faults) |
| `directory_objects` | `/tenantRelationships/delegatedAdminRelationships`, `/contracts`, Partner Center `/v1/customers` |
| `securescore` | `/security/secureScores` (daily records, newest first) |
| `profiles` | `/security/secureScoreControlProfiles` |
| `alerts` | `/security/alerts_v2` (skeletons, filters, cursors, cached JSON bytes) |
| `incidents` | `/security/incidents` (incl. `$expand=alerts`) |
| `summary` | `GET {admin}/portfolio` |
| `catalogue`, `posture`, `alert_catalogue`, `evidence` | the models behind them |
| `catalogue/*.csv`, `alert-catalogue.json` | the catalogues as data (Secure Score controls, alert templates), read and checked at import |
| `rows` | checked reading of those files: a bad row fails with its file, row and field |
| `timestamps`, `enums`, `determinism`, `lru`, `jsonbytes` | shared helpers (Graph time formats, evolvable enums, stable randomness, bounded caches) |

Caches are bounded LRUs (10,000 tenants stay in the tens of MB); `clear_caches()` empties them (tests, benches).
"""

from __future__ import annotations


def clear_caches() -> None:
    """Drop every memoised posture, world, day of alerts and rendered payload."""
    from emulator.data import alerts, evidence, incidents, posture, securescore

    posture._POSTURES.clear()
    securescore._RECORD_BYTES.clear()
    securescore._FRAGMENTS.clear()
    evidence._WORLDS.clear()
    alerts._DAYS.clear()
    alerts._CHANGES.clear()
    alerts._BYTES.clear()
    incidents._BYTES.clear()
