"""The Secure Score control record shared by the 2018 catalogue and the current-era controls."""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("Identity", "Data", "Device", "Apps", "Infrastructure")

# How a control is measured, which decides its score shape and the undocumented controlScores extras:
# "binary" scores all or nothing (`on`); the others score max * count / total (`count`, `total`).
MEASURES = ("binary", "users", "admins", "devices", "policy")

# The other closed vocabularies of a control, as live tenants and the 2018 catalogue spell them (case varies
# between products: "Low" and "low" both occur, and both are kept as written).
TIERS = ("Core", "Advanced", "Defense In Depth")
ACTION_TYPES = ("Config", "Behavior", "Review")
LEVELS = ("None", "Low", "Moderate", "Medium", "High", "Unknown")  # userImpact, implementationCost
SERVICES = (
    "Admincenter",
    "AppG",
    "Azure ATP",
    "AzureAD",
    "EXO",
    "IP",
    "Intune",
    "MCAS",
    "MDATP",
    "MDO",
    "MIP",
    "OD4B",
    "SFB",
    "SPO",
)
# Placeholders a measured control's implementationStatus template may use (securescore fills them in), and
# those an action URL may carry (profiles fills them in per tenant).
STATUS_PLACEHOLDERS = ("count", "total", "missing", "pct")
URL_PLACEHOLDERS = ("tenantid", "tenantdomain", "initialdomainshort")


@dataclass(frozen=True, slots=True)
class Control:
    """One Secure Score control (a secureScoreControlProfile id / controlScores.controlName)."""

    id: str
    title: str
    category: str
    service: str
    max_score: float
    rank: int
    tier: str
    action_type: str
    user_impact: str | None
    implementation_cost: str | None
    threats: tuple[str, ...]
    action_url: str
    description: str
    remediation: str
    remediation_impact: str
    # Licence flags (Plan.services vocabulary) that must ALL be present for the control to apply.
    requires: frozenset[str]
    measure: str
    deprecated: bool
    era: str  # "2018" or "current"
    # Share of average tenants that already satisfy it when the partner takes them on (secure defaults
    # push this up), and how readily a partner implements it afterwards (low for high-impact changes).
    baseline: float
    ease: float
    # implementationStatus texts: binary → (compliant, not compliant); partial → one template with
    # {count} {total} {missing} {pct} placeholders.
    status: tuple[str, ...]
    compliance: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def applies_to(self, services: frozenset[str]) -> bool:
        """Whether a tenant with these licence flags is scored on this control."""
        return not self.deprecated and self.requires <= services
