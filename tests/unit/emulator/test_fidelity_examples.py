"""Microsoft's own example responses validate under the fidelity validator, except for documented doc errors.

The examples are verbatim copies (see each file's `_source`) from the Graph docs; keys starting with `_`
are our annotations and are dropped before validation. Where the docs disagree with the CSDL, the
schema wins, and each such disagreement is listed below with the reason.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from emulator.fidelity import SchemaRegistry

EXAMPLES = Path(__file__).resolve().parents[3] / "emulator" / "examples"

# The GET each example answers (from its `_source`), so validation goes through ENTITY_SETS too.
REQUEST_URLS = {
    "graph_v1_security_alerts_v2_list.json": "/v1.0/security/alerts_v2",
    "graph_v1_security_incidents_list.json": "/v1.0/security/incidents",
    "graph_v1_security_secureScores_list.json": "/v1.0/security/secureScores?$top=1",
    "graph_v1_security_secureScoreControlProfiles_list.json": "/v1.0/security/secureScoreControlProfiles",
    "graph_v1_security_alerts_legacy_list.json": "/v1.0/security/alerts",
    "graph_v1_tenantRelationships_delegatedAdminRelationships_list.json": (
        "/v1.0/tenantRelationships/delegatedAdminRelationships"
    ),
    "graph_v1_contracts_list.json": "/v1.0/contracts",
}

# Every deviation an example has from the CSDL; an example not listed here must have none.
DOCUMENTED_DEVIATIONS: dict[str, list[tuple[str, str]]] = {
    # The file's `_doc_inconsistencies`: "Example 1 shows PascalCase enum values (TruePositive,
    # MultiStagedAttack, Active, Medium); the CSDL enums and Example 2 of the same page use camelCase
    # ... Real service returns camelCase." and "comments[] items here use createdBy/createdTime, but
    # CSDL microsoft.graph.security.alertComment has comment, createdByDisplayName, createdDateTime".
    "graph_v1_security_incidents_list.json": [
        ("value[0].classification", "enum"),
        ("value[0].determination", "enum"),
        ("value[0].status", "enum"),
        ("value[0].severity", "enum"),
        ("value[0].comments[0].createdBy", "unknown-property"),
        ("value[0].comments[0].createdTime", "unknown-property"),
    ],
    # `_source`: "placeholder values verbatim" — the docs write "customerId-value" where the CSDL
    # declares customerId as Edm.Guid.
    "graph_v1_contracts_list.json": [("value[0].customerId", "type")],
    # `_source`: "docs show only this placeholder body (truncated)" — "datetime-value" is not an
    # Edm.DateTimeOffset, and the truncated item lost the entity key `id` that every entity carries.
    "graph_v1_security_alerts_legacy_list.json": [
        ("value[0].closedDateTime", "type"),
        ("value[0].id", "missing-key"),
    ],
}


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load()


def _load(name: str) -> dict[str, Any]:
    raw = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return {key: value for key, value in raw.items() if not key.startswith("_")}


# Examples that are not entity collections ($batch, error and throttling bodies), which the emulator cites.
NOT_COLLECTIONS = {
    "graph_v1_batch_response.json",
    "graph_v1_error_400_top_exceeded_incidents.json",
    "graph_v1_error_429_throttled.json",
}


def test_every_copied_example_has_a_request_url() -> None:
    copied = {path.name for path in EXAMPLES.glob("graph_v1_*.json")} - NOT_COLLECTIONS
    assert copied == set(REQUEST_URLS)
    assert set(DOCUMENTED_DEVIATIONS) <= copied
    for name in copied:
        assert "_source" in json.loads((EXAMPLES / name).read_text(encoding="utf-8")), name


@pytest.mark.parametrize("name", sorted(REQUEST_URLS))
def test_example_matches_the_schema_except_documented_deviations(registry: SchemaRegistry, name: str) -> None:
    issues = registry.validate_response(REQUEST_URLS[name], _load(name), include_unknown_enum_members=False)
    found = [(issue.path, str(issue.code)) for issue in issues]
    assert found == DOCUMENTED_DEVIATIONS.get(name, []), [str(issue) for issue in issues]


def test_examples_are_not_vacuous() -> None:
    for name in REQUEST_URLS:
        assert len(_load(name)["value"]) >= 1, name


def test_alert_example_with_a_nonexistent_evidence_type_fails(registry: SchemaRegistry) -> None:
    payload = copy.deepcopy(_load("graph_v1_security_alerts_v2_list.json"))
    evidence = payload["value"][0]["evidence"][1]
    assert evidence["@odata.type"] == "#microsoft.graph.security.fileEvidence"
    evidence["@odata.type"] = "#microsoft.graph.security.fileEvidenceV9"
    issues = registry.validate_response(
        "/v1.0/security/alerts_v2", payload, include_unknown_enum_members=False
    )
    assert [(issue.path, str(issue.code)) for issue in issues] == [
        ("value[0].evidence[1].@odata.type", "odata-type")
    ]
    assert "fileEvidenceV9" in issues[0].message


def test_incident_example_with_its_enums_in_camel_case_is_clean(registry: SchemaRegistry) -> None:
    """The PascalCase deviations are the only enum problems: fixing their case fixes them."""
    payload = copy.deepcopy(_load("graph_v1_security_incidents_list.json"))
    incident = payload["value"][0]
    for field in ("classification", "determination", "status", "severity"):
        incident[field] = incident[field][0].lower() + incident[field][1:]
    incident["comments"] = [
        {
            "comment": "Demo incident",
            "createdByDisplayName": "Fake Analyst",
            "createdDateTime": "2021-09-30T12:07:37.2756993Z",
        }
    ]
    assert (
        registry.validate_response("/v1.0/security/incidents", payload, include_unknown_enum_members=False)
        == []
    )
