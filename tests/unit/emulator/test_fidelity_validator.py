"""The schema-fidelity validator: each rule rejects what Graph's CSDL forbids and accepts what it allows."""

from __future__ import annotations

import copy
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from importlib import resources
from typing import Any

import pytest

from emulator.fidelity import (
    ENTITY_SETS,
    SchemaError,
    SchemaModel,
    SchemaRegistry,
    UnknownEndpointError,
    UnknownTypeError,
    ValidationIssue,
    prefers_unknown_enum_members,
    resolve_endpoint,
)

ALERT = "microsoft.graph.security.alert"
INCIDENT = "microsoft.graph.security.incident"
SCORE = "microsoft.graph.secureScore"
PROFILE = "microsoft.graph.secureScoreControlProfile"
GDAP = "microsoft.graph.delegatedAdminRelationship"
CONTRACT = "microsoft.graph.contract"
DELETE = object()


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load()


def changed(base: Mapping[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A deep copy of `base` with the value at `path` replaced (or removed when `value` is DELETE)."""
    result = copy.deepcopy(dict(base))
    target: Any = result
    for step in path[:-1]:
        target = target[step]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


def found(issues: list[ValidationIssue]) -> list[tuple[str, str]]:
    return [(issue.path, str(issue.code)) for issue in issues]


DEVICE_EVIDENCE: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.security.deviceEvidence",
    "createdDateTime": "2026-01-02T03:04:05.1234567Z",
    "verdict": "suspicious",
    "remediationStatus": "none",
    "remediationStatusDetails": None,
    "roles": ["compromised"],
    "detailedRoles": ["Main device"],
    "tags": [],
    "mdeDeviceId": "fake-device-0001",
    "osBuild": 22424,
    "rbacGroupId": 75,
    "healthStatus": "active",
    "riskScore": "medium",
    "loggedOnUsers": [],
    "vmMetadata": {"vmId": "vm-fake-1", "cloudProvider": "azure", "resourceId": None, "subscriptionId": None},
}
FILE_EVIDENCE: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.security.fileEvidence",
    "createdDateTime": "2026-01-02T03:04:05Z",
    "verdict": "malicious",
    "remediationStatus": "remediated",
    "roles": [],
    "detectionStatus": "detected",
    "fileDetails": {"fileName": "fake.exe", "filePath": "C:\\fake", "fileSize": 6136392, "sha1": None},
}
VALID_ALERT: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.security.alert",
    "id": "da000000000000000000_-1",
    "status": "new",
    "severity": "low",
    "classification": None,
    "determination": None,
    "serviceSource": "microsoftDefenderForEndpoint",
    "detectionSource": "antivirus",
    "title": "Fake alert for tests",
    "assignedTo": None,
    "mitreTechniques": ["T1564.001"],
    "createdDateTime": "2026-01-02T03:04:05.1234567Z",
    "lastUpdateDateTime": "2026-01-02T04:00:00+01:00",
    "comments": [
        {"comment": "fake", "createdByDisplayName": "Fake Analyst", "createdDateTime": "2026-01-02T03:04:05Z"}
    ],
    "evidence": [DEVICE_EVIDENCE, FILE_EVIDENCE],
    "customDetails": {"anyKey": ["security.dictionary is an OpenType"]},
    "systemTags": [],
}
VALID_PROFILE: dict[str, Any] = {
    "id": "FakeControl",
    "azureTenantId": "00000000-0000-0000-0000-00000000fa4e",
    "deprecated": False,
    "maxScore": 20.0,
    "rank": 55,
    "threats": ["Data Exfiltration"],
    "complianceInformation": [
        {"certificationName": "ISO 27001:2013", "certificationControls": [{"name": "A.8.2.1", "url": ""}]}
    ],
}
VALID_SCORE: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-00000000fa4e_2026-01-02",
    "azureTenantId": "00000000-0000-0000-0000-00000000fa4e",
    "currentScore": 387,
    "maxScore": 697.5,
    "activeUserCount": 0,
    "controlScores": [{"controlName": "AdminMFA", "score": 35.0, "controlCategory": "Identity"}],
}
VALID_GDAP: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
    "@odata.etag": 'W/"ZmFrZS1ldGFn"',
    "id": "fake-relationship-1",
    "displayName": "Fake relationship",
    "duration": "P730D",
    "autoExtendDuration": "PT0S",
    "status": "active",
    "customer": {"tenantId": "00000000-0000-0000-0000-00000000c057", "displayName": "Fake Customer"},
    "accessDetails": {"unifiedRoles": [{"roleDefinitionId": "00000000-0000-0000-0000-0000000000a1"}]},
    "endDateTime": None,
}
VALID_CONTRACT: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-00000000c0de",
    "customerId": "00000000-0000-0000-0000-00000000c057",
    "deletedDateTime": None,
    "contractType": "ResellerPartner",
    "defaultDomainName": "fake-customer.example",
}


BASES: dict[str, dict[str, Any]] = {
    ALERT: VALID_ALERT,
    PROFILE: VALID_PROFILE,
    SCORE: VALID_SCORE,
    GDAP: VALID_GDAP,
    CONTRACT: VALID_CONTRACT,
}
CREATED = ("createdDateTime",)
RESELLER_GDAP = changed(VALID_GDAP, ("@odata.type",), "#microsoft.graph.resellerDelegatedAdminRelationship")


def mutation(name: str, type_name: str, path: tuple[str | int, ...], value: object, *expected: Any) -> Any:
    """Case: the valid `type_name` fixture with `path` set to `value`; `expected` are (path, code) pairs."""
    return pytest.param(type_name, changed(BASES[type_name], path, value), False, list(expected), id=name)


def with_prefer(name: str, type_name: str, path: tuple[str | int, ...], value: object, *expected: Any) -> Any:
    """Like `mutation`, validated as if the request sent `Prefer: include-unknown-enum-members`."""
    return pytest.param(type_name, changed(BASES[type_name], path, value), True, list(expected), id=name)


SINGLE_CASES = [
    # Baselines: the mutations below are meaningful only because these pass.
    *(pytest.param(name, base, False, [], id=f"valid {name}") for name, base in BASES.items()),
    # Edm types
    mutation("string given a number", ALERT, ("title",), 42, ("title", "type")),
    mutation("boolean given a string", PROFILE, ("deprecated",), "false", ("deprecated", "type")),
    mutation("Int32 given a float", PROFILE, ("rank",), 1.5, ("rank", "type")),
    mutation("Int32 given a boolean", PROFILE, ("rank",), True, ("rank", "type")),
    mutation("Int32 above its range", PROFILE, ("rank",), 2**31, ("rank", "type")),
    mutation("Int32 at its minimum", PROFILE, ("rank",), -(2**31)),
    mutation("Int64 beyond Int32", ALERT, ("evidence", 0, "osBuild"), 2**40),
    mutation(
        "Int64 above its range", ALERT, ("evidence", 0, "osBuild"), 2**63, ("evidence[0].osBuild", "type")
    ),
    mutation("Double given an integer", PROFILE, ("maxScore",), 20),
    mutation("Double as OData INF", PROFILE, ("maxScore",), "INF"),
    mutation("Double as OData -INF", PROFILE, ("maxScore",), "-INF"),
    mutation("Double as OData NaN", PROFILE, ("maxScore",), "NaN"),
    mutation("Double as 'Infinity'", PROFILE, ("maxScore",), "Infinity", ("maxScore", "type")),
    mutation("Double as bare NaN", PROFILE, ("maxScore",), math.nan, ("maxScore", "type")),
    mutation("Double as numeric string", PROFILE, ("maxScore",), "20.0", ("maxScore", "type")),
    mutation("Guid upper case", CONTRACT, ("customerId",), "ABCDEF00-0000-0000-0000-00000000C057"),
    mutation("Guid malformed", CONTRACT, ("customerId",), "customerId-value", ("customerId", "type")),
    # Edm.DateTimeOffset
    mutation("DateTimeOffset without seconds", ALERT, CREATED, "2026-01-02T03:04Z"),
    mutation("DateTimeOffset negative offset", ALERT, CREATED, "2026-01-02T03:04:05.1-08:00"),
    mutation(
        "DateTimeOffset with a space", ALERT, CREATED, "2026-01-02 03:04:05Z", ("createdDateTime", "type")
    ),
    mutation(
        "DateTimeOffset without offset", ALERT, CREATED, "2026-01-02T03:04:05", ("createdDateTime", "type")
    ),
    mutation(
        "DateTimeOffset 8 digits",
        ALERT,
        CREATED,
        "2026-01-02T03:04:05.12345678Z",
        ("createdDateTime", "type"),
    ),
    mutation(
        "DateTimeOffset impossible day", ALERT, CREATED, "2026-02-30T03:04:05Z", ("createdDateTime", "type")
    ),
    mutation("DateTimeOffset hour 24", ALERT, CREATED, "2026-01-02T24:00:00Z", ("createdDateTime", "type")),
    mutation("DateTimeOffset as epoch number", ALERT, CREATED, 1767323045, ("createdDateTime", "type")),
    # Edm.Duration
    mutation("Duration with hours, minutes, seconds", GDAP, ("duration",), "P1DT2H3M4.5S"),
    mutation("Duration in years", GDAP, ("duration",), "P2Y", ("duration", "type")),
    mutation("Duration as a number of days", GDAP, ("duration",), "730", ("duration", "type")),
    mutation("Duration 'P' alone", GDAP, ("autoExtendDuration",), "P", ("autoExtendDuration", "type")),
    mutation("Duration 'PT' alone", GDAP, ("autoExtendDuration",), "PT", ("autoExtendDuration", "type")),
    mutation("Duration dangling T", GDAP, ("autoExtendDuration",), "P1DT", ("autoExtendDuration", "type")),
    # Nullability
    mutation("non-nullable enum null", ALERT, ("severity",), None, ("severity", "null")),
    mutation("nullable property null", ALERT, ("title",), None),
    mutation("non-nullable property missing", ALERT, ("status",), DELETE),
    mutation("collection null", ALERT, ("mitreTechniques",), None, ("mitreTechniques", "null")),
    mutation(
        "collection given an object", ALERT, ("mitreTechniques",), {"0": "T1"}, ("mitreTechniques", "type")
    ),
    # CSDL: Nullable on a collection governs its items, and defaults to true.
    mutation("nullable collection item null", ALERT, ("mitreTechniques",), [None]),
    mutation(
        "non-nullable item null",
        ALERT,
        ("evidence", 0, "roles"),
        ["added", None],
        ("evidence[0].roles[1]", "null"),
    ),
    mutation("non-nullable nested null", GDAP, ("customer", "tenantId"), None, ("customer.tenantId", "null")),
    mutation("non-nullable complex null", GDAP, ("accessDetails",), None, ("accessDetails", "null")),
    # Property names and OpenType
    mutation(
        "unknown on closed entity", ALERT, ("alertSeverity",), "low", ("alertSeverity", "unknown-property")
    ),
    mutation(
        "unknown on closed complex", ALERT, ("comments", 0, "by"), "x", ("comments[0].by", "unknown-property")
    ),
    mutation("extra on OpenType entity", SCORE, ("undeclaredExtra",), {"x": 1}),
    mutation("extra on OpenType complex", SCORE, ("controlScores", 0, "implementationStatus"), "On"),
    mutation(
        "extra on OpenType nested", PROFILE, ("complianceInformation", 0, "certificationControls", 0, "x"), 1
    ),
    mutation(
        "declared on OpenType typed",
        SCORE,
        ("controlScores", 0, "score"),
        "35",
        ("controlScores[0].score", "type"),
    ),
    mutation("extra key in security.dictionary", ALERT, ("customDetails", "n"), 7),
    mutation(
        "annotation of declared property",
        ALERT,
        ("severity@odata.type",),
        "#microsoft.graph.security.alertSeverity",
    ),
    mutation(
        "annotation of undeclared",
        ALERT,
        ("bogus@odata.type",),
        "#String",
        ("bogus@odata.type", "unknown-property"),
    ),
    mutation("etag must be a string", GDAP, ("@odata.etag",), 5, ("@odata.etag", "type")),
    mutation("custom instance annotation", ALERT, ("@microsoft.graph.tips",), "fake tip"),
    # Enums and evolvable members
    mutation("enum unknown member", ALERT, ("severity",), "critical", ("severity", "enum")),
    mutation("enum wrong case", ALERT, ("severity",), "Low", ("severity", "enum")),
    mutation("enum as its integer value", ALERT, ("severity",), 64, ("severity", "type")),
    mutation("legacy member on v2 status", ALERT, ("status",), "newAlert", ("status", "enum")),
    mutation("non-flags enum two members", ALERT, ("severity",), "low,high", ("severity", "enum")),
    mutation("unknownFutureValue allowed", ALERT, ("serviceSource",), "unknownFutureValue"),
    mutation(
        "evolvable without Prefer",
        ALERT,
        ("serviceSource",),
        "microsoftSentinel",
        ("serviceSource", "evolvable-enum"),
    ),
    with_prefer("evolvable with Prefer", ALERT, ("serviceSource",), "microsoftSentinel"),
    mutation(
        "nested evolvable without Prefer",
        ALERT,
        ("evidence", 1, "remediationStatus"),
        "pendingApproval",
        ("evidence[1].remediationStatus", "evolvable-enum"),
    ),
    with_prefer(
        "nested evolvable with Prefer", ALERT, ("evidence", 1, "remediationStatus"), "pendingApproval"
    ),
    with_prefer(
        "unknown member with Prefer", ALERT, ("serviceSource",), "microsoftNothing", ("serviceSource", "enum")
    ),
    pytest.param(
        INCIDENT,
        {"id": "1", "status": "awaitingAction"},
        False,
        [("status", "evolvable-enum")],
        id="incident evolvable",
    ),
    # @odata.type and derived types
    mutation(
        "evidence subtype that does not exist",
        ALERT,
        ("evidence", 1, "@odata.type"),
        "#microsoft.graph.security.notAnEvidence",
        ("evidence[1].@odata.type", "odata-type"),
    ),
    mutation(
        "evidence @odata.type without '#'",
        ALERT,
        ("evidence", 1, "@odata.type"),
        "microsoft.graph.security.fileEvidence",
        ("evidence[1].@odata.type", "odata-type"),
    ),
    mutation(
        "evidence typed as an unrelated complex",
        ALERT,
        ("evidence", 1, "@odata.type"),
        "#microsoft.graph.security.alertComment",
        ("evidence[1].@odata.type", "odata-type"),
    ),
    mutation(
        "evidence typed as an enum",
        ALERT,
        ("evidence", 1, "@odata.type"),
        "#microsoft.graph.security.alertSeverity",
        ("evidence[1].@odata.type", "odata-type"),
    ),
    mutation(
        "alert typed as an incident",
        ALERT,
        ("@odata.type",),
        "#microsoft.graph.security.incident",
        ("@odata.type", "odata-type"),
    ),
    mutation(
        "evidence without @odata.type is the base type",
        ALERT,
        ("evidence", 1, "@odata.type"),
        DELETE,
        ("evidence[1].detectionStatus", "unknown-property"),
        ("evidence[1].fileDetails", "unknown-property"),
    ),
    mutation(
        "subtype inherits base enum",
        ALERT,
        ("evidence", 1, "verdict"),
        "bogus",
        ("evidence[1].verdict", "enum"),
    ),
    mutation(
        "subtype inherits base non-nullable",
        ALERT,
        ("evidence", 0, "createdDateTime"),
        None,
        ("evidence[0].createdDateTime", "null"),
    ),
    mutation(
        "subtype property on another subtype",
        ALERT,
        ("evidence", 0, "fileDetails"),
        {"fileName": "x"},
        ("evidence[0].fileDetails", "unknown-property"),
    ),
    mutation(
        "derived property needs derived type",
        GDAP,
        ("isPartnerConsentPending",),
        True,
        ("isPartnerConsentPending", "unknown-property"),
    ),
    pytest.param(
        GDAP,
        changed(RESELLER_GDAP, ("isPartnerConsentPending",), True),
        False,
        [],
        id="derived entity own property",
    ),
    pytest.param(
        GDAP,
        changed(RESELLER_GDAP, ("indirectProviderTenantId",), None),
        False,
        [("indirectProviderTenantId", "null")],
        id="derived entity own non-nullable",
    ),
    mutation(
        "directoryObject property inherited",
        CONTRACT,
        ("deletedDateTime",),
        "now",
        ("deletedDateTime", "type"),
    ),
    mutation("entity key inherited and non-nullable", CONTRACT, ("id",), None, ("id", "null")),
    mutation("entity key missing", CONTRACT, ("id",), DELETE, ("id", "missing-key")),
    # Paths: deep nesting, and every problem reported rather than the first
    mutation(
        "deep nested path",
        ALERT,
        ("evidence", 1, "fileDetails", "fileSize"),
        "6 MB",
        ("evidence[1].fileDetails.fileSize", "type"),
    ),
    mutation(
        "nested complex non-nullable enum",
        ALERT,
        ("evidence", 0, "vmMetadata", "cloudProvider"),
        None,
        ("evidence[0].vmMetadata.cloudProvider", "null"),
    ),
    pytest.param(
        ALERT,
        changed(
            changed(changed(VALID_ALERT, ("severity",), "Low"), ("title",), 1),
            ("evidence", 0, "rbacGroupId"),
            "75",
        ),
        False,
        [("severity", "enum"), ("title", "type"), ("evidence[0].rbacGroupId", "type")],
        id="all problems reported",
    ),
    pytest.param(ALERT, ["not", "an", "object"], False, [("", "type")], id="payload is not an object"),
]


@pytest.mark.parametrize(("type_name", "payload", "include_unknown", "expected"), SINGLE_CASES)
def test_validate_single_instance(
    registry: SchemaRegistry,
    type_name: str,
    payload: object,
    include_unknown: bool,
    expected: list[tuple[str, str]],
) -> None:
    issues = registry.validate(payload, type_name, include_unknown_enum_members=include_unknown)
    assert found(issues) == expected, [str(issue) for issue in issues]


def test_messages_explain_the_fix(registry: SchemaRegistry) -> None:
    wrong_case = registry.validate(
        changed(VALID_ALERT, ("severity",), "Low"), ALERT, include_unknown_enum_members=False
    )
    assert "did you mean 'low'?" in wrong_case[0].message
    evolvable = registry.validate(
        changed(VALID_ALERT, ("serviceSource",), "microsoftSentinel"),
        ALERT,
        include_unknown_enum_members=False,
    )
    assert "'unknownFutureValue'" in evolvable[0].message
    assert "Prefer: include-unknown-enum-members" in evolvable[0].message
    out_of_range = registry.validate(
        changed(VALID_PROFILE, ("rank",), 2**31), PROFILE, include_unknown_enum_members=False
    )
    assert out_of_range[0].message == "2147483648 is outside the range of Edm.Int32 [-2147483648, 2147483647]"
    assert str(out_of_range[0]).startswith("rank: [type] ")


@pytest.mark.parametrize(
    ("enum_name", "evolvable"),
    [
        (
            "microsoft.graph.security.serviceSource",
            {
                "microsoftDefenderForCloud",
                "microsoftSentinel",
                "microsoftInsiderRiskManagement",
                "microsoftThreatIntelligence",
                "microsoftSecurityForAI",
            },
        ),
        ("microsoft.graph.security.incidentStatus", {"awaitingAction"}),
        (
            "microsoft.graph.security.evidenceRemediationStatus",
            {"active", "pendingApproval", "declined", "unremediated", "running", "partiallyRemediated"},
        ),
        ("microsoft.graph.security.alertSeverity", set()),
        ("microsoft.graph.delegatedAdminRelationshipOperationType", {"delegatedAdminRelationshipUpdate"}),
        ("microsoft.graph.delegatedAdminRelationshipStatus", set()),
    ],
)
def test_evolvable_members_are_those_declared_after_unknown_future_value(
    registry: SchemaRegistry, enum_name: str, evolvable: set[str]
) -> None:
    enum = registry.model.get(enum_name)
    assert enum is not None
    assert enum.evolvable_members == evolvable


def _page(*items: dict[str, Any], **envelope: object) -> dict[str, Any]:
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2",
        **envelope,
        "value": list(items),
    }


NEXT_LINK = "https://127.0.0.1:41002/v1.0/security/alerts_v2?$top=1&$skiptoken=fake"

COLLECTION_CASES: list[tuple[str, object, list[tuple[str, str]]]] = [
    (
        "valid page with nextLink and count",
        _page(VALID_ALERT, **{"@odata.nextLink": NEXT_LINK, "@odata.count": 2}),
        [],
    ),
    ("empty page", _page(), []),
    (
        "nested path inside a page",
        _page(VALID_ALERT, changed(VALID_ALERT, ("evidence", 1, "fileDetails", "fileSize"), -1.5)),
        [("value[1].evidence[1].fileDetails.fileSize", "type")],
    ),
    ("item without its key", _page(changed(VALID_ALERT, ("id",), DELETE)), [("value[0].id", "missing-key")]),
    ("null item", _page(VALID_ALERT, None), [("value[1]", "null")]),
    ("item is not an object", _page("fake"), [("value[0]", "type")]),
    (
        "relative nextLink",
        _page(**{"@odata.nextLink": "/v1.0/security/alerts_v2?$skip=1"}),
        [("@odata.nextLink", "type")],
    ),
    ("count as a string", _page(**{"@odata.count": "2"}), [("@odata.count", "type")]),
    ("context not a string", {"@odata.context": 1, "value": []}, [("@odata.context", "type")]),
    (
        "missing value",
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#x"},
        [("value", "collection")],
    ),
    ("value not an array", {"value": {"id": "1"}}, [("value", "collection")]),
    ("unknown envelope key", {"value": [], "items": []}, [("items", "unknown-property")]),
    ("not an object", [VALID_ALERT], [("", "collection")]),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [case[1:] for case in COLLECTION_CASES],
    ids=[case[0] for case in COLLECTION_CASES],
)
def test_validate_collection_response(
    registry: SchemaRegistry, payload: object, expected: list[tuple[str, str]]
) -> None:
    issues = registry.validate_collection(payload, ALERT, include_unknown_enum_members=False)
    assert found(issues) == expected, [str(issue) for issue in issues]


VALID_INCIDENT: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.security.incident",
    "id": "2972395",
    "status": "active",
    "severity": "medium",
    "createdDateTime": "2026-01-02T03:04:05.5533333Z",
    "lastUpdateDateTime": "2026-01-03T03:04:05.1133333Z",
    "customTags": [],
    "priorityScore": 10,
}


@pytest.mark.parametrize(
    ("url", "payload", "expected"),
    [
        ("/v1.0/security/incidents", _page(VALID_INCIDENT), []),
        (
            "/v1.0/security/incidents?$expand=alerts",
            _page(changed(VALID_INCIDENT, ("alerts",), [VALID_ALERT])),
            [],
        ),
        (
            "https://127.0.0.1:41002/v1.0/security/incidents?$top=10&$expand=alerts($select=id)",
            _page(changed(VALID_INCIDENT, ("alerts",), [changed(VALID_ALERT, ("severity",), "Low")])),
            [("value[0].alerts[0].severity", "enum")],
        ),
        (
            "/v1.0/security/incidents?$expand=alerts",
            _page(changed(VALID_INCIDENT, ("alerts",), [changed(VALID_ALERT, ("id",), DELETE)])),
            [("value[0].alerts[0].id", "missing-key")],
        ),
        (
            "/v1.0/security/incidents",
            _page(changed(VALID_INCIDENT, ("alerts",), [VALID_ALERT])),
            [("value[0].alerts", "navigation")],
        ),
        ("/v1.0/security/incidents/2972395", VALID_INCIDENT, []),
        (
            "/v1.0/security/incidents/2972395",
            changed(VALID_INCIDENT, ("tags",), ["Demo"]),
            [("tags", "unknown-property")],
        ),
        ("/v1.0/security/incidents/2972395/alerts", _page(VALID_ALERT), []),
        ("/v1.0/contracts?$filter=customerId eq 'x'", _page(VALID_CONTRACT), []),
    ],
)
def test_validate_response_by_url(
    registry: SchemaRegistry, url: str, payload: object, expected: list[tuple[str, str]]
) -> None:
    issues = registry.validate_response(url, payload, include_unknown_enum_members=False)
    assert found(issues) == expected, [str(issue) for issue in issues]


@pytest.mark.parametrize(
    ("url", "type_name", "is_collection", "expanded"),
    [
        ("/v1.0/security/alerts_v2", ALERT, True, set()),
        ("/security/alerts_v2?$top=5", ALERT, True, set()),
        ("https://graph.microsoft.com/v1.0/Security/Alerts_V2/da1", ALERT, False, set()),
        ("/v1.0/security/alerts_v2('da1')", ALERT, False, set()),
        ("/v1.0/security/alerts", "microsoft.graph.alert", True, set()),
        ("/v1.0/security/incidents?$expand=alerts", INCIDENT, True, {"alerts"}),
        ("/v1.0/security/incidents?expand=alerts($select=id,title)", INCIDENT, True, {"alerts"}),
        ("/v1.0/security/incidents/1/alerts", ALERT, True, set()),
        ("/v1.0/security/secureScores?$top=1", SCORE, True, set()),
        ("/v1.0/security/secureScoreControlProfiles", PROFILE, True, set()),
        ("/v1.0/tenantRelationships/delegatedAdminRelationships", GDAP, True, set()),
        (
            "/v1.0/tenantRelationships/delegatedAdminRelationships/r1/accessAssignments",
            "microsoft.graph.delegatedAdminAccessAssignment",
            True,
            set(),
        ),
        (
            "/v1.0/tenantRelationships/delegatedAdminCustomers",
            "microsoft.graph.delegatedAdminCustomer",
            True,
            set(),
        ),
        ("/v1.0/contracts", CONTRACT, True, set()),
    ],
)
def test_resolve_endpoint(
    registry: SchemaRegistry, url: str, type_name: str, is_collection: bool, expanded: set[str]
) -> None:
    endpoint = resolve_endpoint(registry.model, url)
    assert (endpoint.type_name, endpoint.is_collection, set(endpoint.expanded)) == (
        type_name,
        is_collection,
        expanded,
    )


@pytest.mark.parametrize(
    "url",
    [
        "/v1.0/users",
        "/v1.0/security",
        "/v1.0/security/incidents/1/comments",
        "/v1.0/security/incidents/1/alerts/a/x",
    ],
)
def test_unknown_endpoints_are_refused(registry: SchemaRegistry, url: str) -> None:
    with pytest.raises(UnknownEndpointError):
        resolve_endpoint(registry.model, url)


def test_entity_sets_name_types_that_exist(registry: SchemaRegistry) -> None:
    for type_name in ENTITY_SETS.values():
        assert type_name in registry
        assert registry.model.structured(type_name).kind == "EntityType"
        assert registry.model.key(type_name) == ("id",)


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        (None, False),
        ("", False),
        ("include-unknown-enum-members", True),
        ("odata.maxpagesize=10, Include-Unknown-Enum-Members", True),
        (["return=minimal", "include-unknown-enum-members"], True),
        ("include-unknown-enum-members-please", False),
        ("return=representation", False),
    ],
)
def test_prefer_header(prefer: str | list[str] | None, expected: bool) -> None:
    assert prefers_unknown_enum_members(prefer) is expected


def test_unknown_type_name_is_a_caller_error(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownTypeError):
        registry.validate({}, "microsoft.graph.security.notAType", include_unknown_enum_members=False)


# --- small synthetic schemas for rules the Graph extracts do not exercise -------------------------------

SYNTHETIC = {
    "test.root": {
        "kind": "EntityType",
        "abstract": True,
        "key": ["id"],
        "properties": {"id": {"type": "Edm.String", "nullable": False}},
    },
    "test.openBase": {"kind": "ComplexType", "openType": True, "properties": {"a": {"type": "Edm.Int32"}}},
    "test.closedChild": {
        "kind": "ComplexType",
        "baseType": "test.openBase",
        "properties": {"b": {"type": "Edm.String"}},
    },
    "test.colour": {"kind": "EnumType", "isFlags": True, "members": {"red": 1, "green": 2, "blue": 4}},
    "test.thing": {
        "kind": "EntityType",
        "baseType": "test.root",
        "properties": {
            "shape": {"type": "test.closedChild"},
            "colours": {"type": "test.colour"},
            "day": {"type": "Edm.Date"},
            "navToGap": {"type": "Collection(test.notExtracted)", "navigation": True},
        },
    },
}


@pytest.fixture(scope="module")
def synthetic() -> SchemaRegistry:
    return SchemaRegistry(SchemaModel.from_documents([("synthetic.json", json.dumps(SYNTHETIC))]))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"id": "1", "shape": {"a": 1, "b": "x", "extra": True}}, []),  # open via its base type
        ({"id": "1", "shape": {"a": "1"}}, [("shape.a", "type")]),
        ({"id": "1", "colours": "red,blue"}, []),
        ({"id": "1", "colours": "red,purple"}, [("colours", "enum")]),
        ({"id": "1", "day": "2026-01-02"}, []),
        ({"id": "1", "day": "2026-13-02"}, [("day", "type")]),
        ({"id": "1", "navToGap": [{"id": "2"}]}, [("navToGap[0]", "schema-gap")]),
        ({"id": "1", "@odata.type": "#test.root"}, [("@odata.type", "odata-type")]),
    ],
)
def test_synthetic_schema_rules(
    synthetic: SchemaRegistry, payload: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    issues = synthetic.validate(payload, "test.thing", include_unknown_enum_members=False)
    assert found(issues) == expected, [str(issue) for issue in issues]


def test_abstract_type_needs_odata_type(synthetic: SchemaRegistry) -> None:
    issues = synthetic.validate({"id": "1"}, "test.root", include_unknown_enum_members=False)
    assert found(issues) == [("@odata.type", "odata-type")]
    derived = synthetic.validate(
        {"id": "1", "@odata.type": "#test.thing"}, "test.root", include_unknown_enum_members=False
    )
    assert derived == []


@pytest.mark.parametrize(
    ("documents", "error"),
    [
        (
            [("a.json", {"t.x": {"kind": "ComplexType", "baseType": "t.missing", "properties": {}}})],
            "base type t.missing",
        ),
        (
            [("a.json", {"t.x": {"kind": "ComplexType", "properties": {"p": {"type": "t.missing"}}}})],
            "unknown type t.missing",
        ),
        (
            [("a.json", {"t.x": {"kind": "ComplexType", "properties": {"p": {"type": "Edm.Geography"}}}})],
            "unknown type Edm.Geography",
        ),
        (
            [
                ("a.json", {"t.x": {"kind": "ComplexType", "properties": {}}}),
                ("b.json", {"t.x": {"kind": "ComplexType", "openType": True, "properties": {}}}),
            ],
            "defined differently in a.json and b.json",
        ),
        (
            [
                (
                    "a.json",
                    {
                        "t.x": {"kind": "ComplexType", "baseType": "t.y"},
                        "t.y": {"kind": "ComplexType", "baseType": "t.x"},
                    },
                )
            ],
            "cycle",
        ),
    ],
)
def test_inconsistent_schema_files_are_refused(
    documents: list[tuple[str, dict[str, Any]]], error: str
) -> None:
    with pytest.raises(SchemaError, match=error):
        SchemaModel.from_documents((name, json.dumps(body)) for name, body in documents)


# --- the packaged JSON summaries say exactly what the packaged CSDL XML says ---------------------------

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
ALIASES = {"graph.": "microsoft.graph.", "self.": "microsoft.graph.security."}
SCHEMA_DIR = resources.files("emulator") / "schemas" / "graph"


def _unalias(type_expr: str) -> str:
    inner, collection = (
        (type_expr[11:-1], True) if type_expr.startswith("Collection(") else (type_expr, False)
    )
    for alias, namespace in ALIASES.items():
        if inner.startswith(alias):
            inner = namespace + inner[len(alias) :]
    return f"Collection({inner})" if collection else inner


def _summary_from_xml(xml_text: str) -> dict[str, Any]:
    """Type summaries derived from a CSDL extract (fragments, each preceded by a comment naming the type)."""
    # Our own packaged, trusted file (no DTD, no entities): the stdlib parser is appropriate.
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))  # noqa: S314
    # The first comment is the provenance header; each later one names the type element after it.
    root = ET.fromstring(f"<extract>{xml_text.split('-->', 1)[1]}</extract>", parser=parser)  # noqa: S314
    summary: dict[str, Any] = {}
    full_name = ""
    for element in root:
        if element.tag is ET.Comment:
            full_name = (element.text or "").strip()
            continue
        kind = element.tag.removeprefix(EDM)
        assert full_name.endswith("." + element.get("Name", "")), full_name
        if kind == "EnumType":
            summary[full_name] = {
                "kind": kind,
                "isFlags": element.get("IsFlags") == "true",
                "members": [(m.get("Name"), int(m.get("Value", ""))) for m in element.iter(EDM + "Member")],
            }
            continue
        properties = {}
        for prop in element:
            tag = prop.tag.removeprefix(EDM)
            properties[prop.get("Name")] = {
                "type": _unalias(prop.get("Type", "")),
                "nullable": prop.get("Nullable") != "false",
                "navigation": tag == "NavigationProperty",
                "containsTarget": prop.get("ContainsTarget") == "true",
            }
        summary[full_name] = {
            "kind": kind,
            "baseType": _unalias(element.get("BaseType")) if element.get("BaseType") else None,
            "openType": element.get("OpenType") == "true",
            "abstract": element.get("Abstract") == "true",
            "properties": properties,
        }
    return summary


def _summary_from_json(raw: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, spec in raw.items():
        if spec["kind"] == "EnumType":
            summary[name] = {
                "kind": "EnumType",
                "isFlags": spec["isFlags"],
                "members": list(spec["members"].items()),
            }
            continue
        summary[name] = {
            "kind": spec["kind"],
            "baseType": spec.get("baseType"),
            "openType": spec.get("openType", False),
            "abstract": spec.get("abstract", False),
            "properties": {
                prop: {
                    "type": p["type"],
                    "nullable": p.get("nullable", True),
                    "navigation": p.get("navigation", False),
                    "containsTarget": p.get("containsTarget", False),
                }
                for prop, p in spec.get("properties", {}).items()
            },
        }
    return summary


@pytest.mark.parametrize(
    "stem", ["secureScore", "securityAlertV2", "securityIncident", "legacyAlert", "contracts_gdap"]
)
def test_packaged_json_summary_matches_its_csdl_extract(stem: str) -> None:
    from_xml = _summary_from_xml((SCHEMA_DIR / f"{stem}.csdl.xml").read_text(encoding="utf-8"))
    from_json = _summary_from_json(json.loads((SCHEMA_DIR / f"{stem}.json").read_text(encoding="utf-8")))
    assert len(from_json) > 0
    assert from_json == from_xml


def test_open_types_are_the_ones_the_csdl_declares(registry: SchemaRegistry) -> None:
    open_types = {
        name
        for name in (
            "microsoft.graph.secureScore",
            "microsoft.graph.secureScoreControlProfile",
            "microsoft.graph.controlScore",
            "microsoft.graph.averageComparativeScore",
            "microsoft.graph.complianceInformation",
            "microsoft.graph.certificationControl",
            "microsoft.graph.security.dictionary",
            "microsoft.graph.alert",
            "microsoft.graph.directoryObject",
            "microsoft.graph.contract",
            "microsoft.graph.security.alert",
            "microsoft.graph.security.incident",
            "microsoft.graph.security.alertEvidence",
            "microsoft.graph.delegatedAdminRelationship",
        )
        if registry.model.is_open(name)
    }
    assert open_types == {
        "microsoft.graph.secureScore",
        "microsoft.graph.secureScoreControlProfile",
        "microsoft.graph.controlScore",
        "microsoft.graph.averageComparativeScore",
        "microsoft.graph.complianceInformation",
        "microsoft.graph.certificationControl",
        "microsoft.graph.security.dictionary",
        "microsoft.graph.alert",
        "microsoft.graph.directoryObject",
        "microsoft.graph.contract",
    }
