"""The fault matrix's odd payloads: what Graph could send for one customer, through landing and dbt.

One portfolio, one odd payload per customer (the emulator's `mutate` fault rewrites what Graph serves, $batch
items included): `"evidence": null`, a Secure Score whose controls do not add up to `currentScore` and that
exceeds `maxScore`, a comparative of "NaN", a bare NaN token (not JSON at all), wrong JSON types and an
impossible date. The real `smart-office run` lands them, `dbt build` builds every mart with warnings only,
`fct_data_issues` names each odd record's customer, and the other customers' marts are built as usual. Then
the faults are cleared and a rerun loses nothing.
"""

from __future__ import annotations

import json

import pytest

from smart_office.dbt_runner import run_dbt
from tests.faults.harness import Portfolio, Reference

ODDITIES = [
    (
        "payload_evidence_null",
        "`evidence: null` on alerts",
        {"endpoint": "alerts_v2", "params": {"set": {"evidence": None}, "items": 5}},
        "alerts_v2",
    ),
    (
        "payload_score_does_not_add_up",
        "a Secure Score above its maximum, its controls not adding up",
        {"endpoint": "secureScores", "params": {"set": {"currentScore": 9999}, "items": 3}},
        "secure_scores",
    ),
    (
        "payload_comparative_nan",
        'a comparative score of "NaN"',
        {
            "endpoint": "secureScores",
            "params": {"set": {"averageComparativeScores.0.averageScore": "NaN"}, "items": "all"},
        },
        "secure_scores",
    ),
    (
        "payload_bare_nan_token",
        "a bare NaN token in an incident (not JSON)",
        {"endpoint": "incidents", "params": {"raw": {"priorityScore": "NaN"}, "items": 2}},
        "incidents",
    ),
    (
        "payload_wrong_types",
        "wrong JSON types and an impossible date on alerts",
        {
            "endpoint": "alerts_v2",
            "params": {
                "set": {"mitreTechniques": "T1059", "createdDateTime": "2026-02-30T00:00:00Z", "severity": 5},
                "items": 3,
            },
        },
        "alerts_v2",
    ),
]


@pytest.mark.timeout(1200)
def test_odd_payloads_cost_no_customer_its_marts(
    portfolio: Portfolio, reference: Reference, tmp_path: object, record_property: object
) -> None:
    tenants = reference.loaded_tenants()[: len(ODDITIES)]
    for tenant, (_, _, spec, _) in zip(tenants, ODDITIES, strict=True):
        portfolio.handle.add_fault(kind="mutate", service="graph", tenant=tenant, **spec)
    run = portfolio.run()
    assert "Traceback" not in run.stderr
    assert run.exit_code == 0, run.stderr[-3000:]
    outcomes = portfolio.outcomes()
    # Every odd customer loaded; the bare NaN was repaired (the original token kept).
    for tenant, (_, _, _, endpoint) in zip(tenants, ODDITIES, strict=True):
        assert outcomes[(tenant, endpoint)]["outcome"] == "loaded", (tenant, endpoint)
    nan_tenant = tenants[3]
    assert outcomes[(nan_tenant, "incidents")]["state"] == "repaired_items"
    original = portfolio.query(
        "select original_payload from raw.incidents where tenant_id = %s and 'non_finite_number' = any(repairs)",
        nan_tenant,
    )
    assert original
    assert b'"priorityScore":NaN' in bytes(original[0][0])

    build = run_dbt(["build"], portfolio.url, capture=True, target_path=tmp_path / "dbt-target")  # type: ignore[operator]
    assert build.returncode == 0, build.stdout[-6000:]
    assert " ERROR=0 " in build.stdout
    # Every customer that loaded is in the marts, odd ones included.
    loaded = set(reference.loaded_tenants())
    for mart in ("fct_alerts", "fct_secure_scores", "fct_incidents", "rpt_customer_posture"):
        present = {r[0] for r in portfolio.query(f"select distinct tenant_id::text from marts.{mart}")}  # noqa: S608
        assert loaded <= present, f"{mart} lacks {sorted(loaded - present)[:3]}"
    issues = portfolio.query("select tenant_id::text, entity, field, issue from marts.fct_data_issues")
    by_tenant: dict[str, set[str]] = {}
    for tenant, entity, field, issue in issues:
        by_tenant.setdefault(tenant, set()).add(f"{entity}.{field}:{issue}")
    for tenant, (scenario, _, _, entity) in zip(tenants, ODDITIES, strict=True):
        assert any(found.startswith(entity) for found in by_tenant.get(tenant, set())), (scenario, by_tenant)
    assert set(by_tenant) == set(tenants), "a customer without odd data has data issues"
    # NaN never reaches a score.
    nan = portfolio.query(
        "select count(*) from marts.fct_secure_scores where comparative_all_tenants_pct = 'NaN'::float8 "
        "or secure_score_pct = 'NaN'::float8"
    )
    assert nan == [(0,)]

    portfolio.handle.reset()
    again = portfolio.run()
    assert again.exit_code == 0
    lost = {k[:3] for k in reference.digest} - {k[:3] for k in portfolio.digest()}
    assert not lost, f"{len(lost)} entities lost, e.g. {sorted(lost)[:3]}"
    for scenario, what, _, entity in ODDITIES:
        record_property(  # type: ignore[operator]
            "fault_matrix",
            json.dumps(
                {
                    "scenario": scenario,
                    "defect": "5",
                    "fault": what,
                    "exit": 0,
                    "observed": f"{entity} loaded; dbt ERROR=0; in fct_data_issues",
                    "lost": 0,
                    "extra": 0,
                    "seconds": round(run.seconds, 1),
                }
            ),
        )
