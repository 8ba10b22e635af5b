"""Evolvable enum members: Graph renders them as `unknownFutureValue` unless the caller opts in.

Members declared AFTER `unknownFutureValue` in the CSDL are "evolvable"; the service returns them only when
the request carries `Prefer: include-unknown-enum-members` (FACTS.md §1.3, security-alert.md). The sets
below are those members, in CSDL order (schemas/securityAlertV2.json, securityIncident.json).
"""

from __future__ import annotations

UNKNOWN_FUTURE_VALUE = "unknownFutureValue"

EVOLVABLE_SERVICE_SOURCES = frozenset(
    {
        "microsoftDefenderForCloud",
        "microsoftSentinel",
        "microsoftInsiderRiskManagement",
        "microsoftThreatIntelligence",
        "microsoftSecurityForAI",
    }
)
EVOLVABLE_DETECTION_SOURCES = frozenset(
    {
        "microsoftDefenderForCloud",
        "microsoftDefenderForIoT",
        "microsoftDefenderForServers",
        "microsoftDefenderForStorage",
        "microsoftDefenderForDNS",
        "microsoftDefenderForDatabases",
        "microsoftDefenderForContainers",
        "microsoftDefenderForNetwork",
        "microsoftDefenderForAppService",
        "microsoftDefenderForKeyVault",
        "microsoftDefenderForResourceManager",
        "microsoftDefenderForApiManagement",
        "nrtAlerts",
        "scheduledAlerts",
        "microsoftDefenderThreatIntelligenceAnalytics",
        "builtInMl",
        "microsoftInsiderRiskManagement",
        "microsoftThreatIntelligence",
        "microsoftDefenderForAIServices",
        "securityCopilot",
        "microsoftSentinel",
    }
)
EVOLVABLE_REMEDIATION_STATUSES = frozenset(
    {"active", "pendingApproval", "declined", "unremediated", "running", "partiallyRemediated"}
)
EVOLVABLE_INCIDENT_STATUSES = frozenset({"awaitingAction"})


def render(value: str, evolvable: frozenset[str], include_unknown: bool) -> str:
    """`value` as Graph sends it: evolvable members become `unknownFutureValue` unless opted in."""
    if include_unknown or value not in evolvable:
        return value
    return UNKNOWN_FUTURE_VALUE
