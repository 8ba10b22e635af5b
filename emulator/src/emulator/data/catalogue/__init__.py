"""The Secure Score control catalogue: Microsoft's 2018 controls plus current-era controls, each a CSV here.

API:
- `CONTROLS` — every control, ordered the way Graph lists secureScoreControlProfiles (id, case-insensitive).
- `CONTROL_BY_ID` — id → Control.
- `applicable_controls(services)` — the non-deprecated controls a tenant with these licence flags is scored on,
  in CONTROLS order (cached per flag set).

A 2018 control is deprecated when the CSV says so or when Microsoft replaced/retired it (`_RETIRED_2018`, with
the replacement noted); see README.md for sources. Both files are read through `emulator.data.rows`, which
checks every row (types, vocabularies, required cells) and fails at import with a `CatalogueError` naming the
file, the row and the field; ids are unique across both files and every replacement names a current control.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from types import MappingProxyType

from emulator.data.catalogue.current import CSV_CURRENT, load_current_controls
from emulator.data.catalogue.model import (
    ACTION_TYPES,
    CATEGORIES,
    LEVELS,
    MEASURES,
    SERVICES,
    TIERS,
    Control,
)
from emulator.data.portfolio import PLANS
from emulator.data.rows import CatalogueError, Row, csv_rows

__all__ = [
    "CATEGORIES",
    "CONTROLS",
    "CONTROL_BY_ID",
    "CSV_2018",
    "CSV_CURRENT",
    "MEASURES",
    "CatalogueError",
    "Control",
    "applicable_controls",
]

CSV_2018 = Path(__file__).with_name("secure-score-controls-catalogue-2018.csv")
COLUMNS_2018 = (
    "Control Type",
    "Action Category",
    "Workload",
    "Tier",
    "User Impact",
    "Implementation Cost",
    "Enablement",
    "Reference Id",
    "Stack Rank",
    "Baseline",
    "Threats",
    "Deprecated",
    "Description",
    "Name",
    "Remediation Change",
    "Remediation Impact",
    "Action Url",
)

_CATEGORY_NOW = {"Account": "Identity", "Data": "Data", "Device": "Device"}

# 2018 controls Microsoft has since replaced (→ current id) or retired with the 2019 Secure Score rework.
_RETIRED_2018: dict[str, str | None] = {
    "AdminMFA": "AdminMFAV2",
    "UserMFA": "MFARegistrationV2",
    "DLPEnabled": "dlp_datalossprevention",
    "AuditEnabled": "mip_search_auditlog",
    "MailboxAuditingEnabled": "exo_mailboxaudit",
    "CloudApplicationSecurityEnabled": "mcas_mda_enabled",
    "SafeAttachmentsEnabled": "mdo_safeattachments",
    "SafeLinksEnabled": "mdo_safelinksforemail",
    "BlockAutoFwdTransportRule": "mdo_autoforwardingmode",
    "MailForwardingAll": "mdo_autoforwardingmode",
    "WeakSpam": "mdo_spam_notifications_only_for_admins",
    "CalendarDetails": "exo_individualsharing",
    "AnonymousCalendar": "exo_individualsharing",
    "MDMAlphaPW": "intune_mobile_password_requirement",
    "MDMEncryptReq": "intune_mobile_device_encryption",
    "MDMManageEmail": None,
    "MDMMinPW": "intune_mobile_password_requirement",
    "MDMPWExpireNew": None,
    "MDMPWReq": "intune_mobile_password_requirement",
    "MDMRootedBlock": "intune_conection_from_jail_broken_rooted_devices",
    "MDMSimplePW": "intune_mobile_password_requirement",
    "MDMWipeOnFail": None,
    "MDMEnabled": None,
    "MDMLockInactive": "intune_mobile_device_lock_after_inactivity",
    "MDMPWReuse": None,
    "MDMReportViolation": None,
    # Weekly "review a report" controls and "[Not Scored]" ones did not survive the rework.
    "AltInfoIncomplete": None,
    "SignIns": None,
    "RGChanges": None,
    "AuditUsed": None,
    "IRMEnabled": None,
    "IRMDocs": None,
    "IRMEmail": None,
    "NoGlobalMailForwarding": None,
    "NoTransportWhitelist": None,
    "MailForwardingRules": None,
    "NonOwnerAccess": None,
    "MalwareDetections": None,
    "SiteClassification": None,
    "ExternalSFB": None,
    "NewProvisionedAccounts": None,
    "DelegatedAdmins": None,
    "TaggedDocs": None,
    "MBDelegation": None,
}

# Current title/score/rank of 2018 ids still live today, as a live tenant's profile list shows them.
_CURRENT_VALUES: dict[str, dict[str, object]] = {
    "IntegratedApps": {
        "title": "Ensure user consent to apps accessing company data on their behalf is not allowed",
        "max_score": 4.0,
        "rank": 35,
        "description": "To reduce the risk of malicious applications tricking users into granting them access "
        "to your organization's data, allow user consent only for apps from verified publishers.",
    },
    "PWAgePolicyNew": {
        "max_score": 8.0,
        "description": "Research has found that periodic password resets make passwords weaker; Microsoft "
        "recommends that cloud-only tenants set passwords to never expire.",
    },
    "CustomerLockBoxEnabled": {
        "title": "Ensure the customer lockbox feature is enabled",
        "category": "Apps",
        "max_score": 1.0,
        "rank": 127,
    },
}

# (baseline, ease) for 2018 controls still scored; see Control for the meaning.
_ADOPTION_2018: dict[str, tuple[float, float]] = {
    "OneAdmin": (0.75, 0.9),
    "ManyAdmins": (0.7, 0.8),
    "RoleOverlap": (0.3, 0.5),
    "PWAgePolicyNew": (0.5, 0.85),
    "IntegratedApps": (0.2, 0.6),
    "AdoptedODB": (0.4, 0.6),
    "ExternalSharingExpiration": (0.1, 0.5),
    "SPOVersioning": (0.85, 0.9),
    "InactiveAccounts": (0.4, 0.5),
    "AnonymousAccess": (0.5, 0.6),
    "CustomerLockBoxEnabled": (0.05, 0.3),
}

_MEASURE_2018 = {"AdminMFA": "admins", "UserMFA": "users", "AdoptedODB": "users", "InactiveAccounts": "users"}
_STATUS_2018 = {
    "AdoptedODB": ("{count} of {total} users store documents in OneDrive.",),
    "InactiveAccounts": (
        "You have {missing} accounts out of {total} that were not used in the last 30 days.",
    ),
    "OneAdmin": ("You currently have more than one global admin.", "You currently have 1 global admins."),
    "ManyAdmins": ("You have fewer than 5 global admins.", "You have 5 or more global admins."),
    "RoleOverlap": (
        "You have users with least privileged administrative roles.",
        "You have 0 users with least privileged administrative roles.",
    ),
    "PWAgePolicyNew": (
        "Your current policy is set to never let passwords expire.",
        "Your current policy is set to let passwords expire.",
    ),
    "IntegratedApps": (
        "User consent is allowed only for verified publishers.",
        "You have no user consent policy in place.",
    ),
}

# ISO/IEC 27001:2013 Annex A controls (the certification the docs example names) for the 2018 rows.
_ISO_27001 = "ISO 27001:2013"
_COMPLIANCE_2018: dict[str, tuple[str, ...]] = {
    "AdminMFA": ("A.9.4.2",),
    "UserMFA": ("A.9.4.2",),
    "DLPEnabled": ("A.8.2.1",),
    "AuditEnabled": ("A.12.4.1",),
    "MailboxAuditingEnabled": ("A.12.4.1",),
    "OneAdmin": ("A.9.2.3",),
    "ManyAdmins": ("A.9.2.3",),
    "RoleOverlap": ("A.9.2.3", "A.6.1.2"),
    "PWAgePolicyNew": ("A.9.4.3",),
    "SPOVersioning": ("A.12.3.1",),
    "InactiveAccounts": ("A.9.2.6",),
}


def _requires_2018(row: Row, control_id: str) -> frozenset[str]:
    workload, enablement = row.values["Workload"], row.values["Enablement"]
    if control_id == "DLPEnabled":
        return frozenset({"HasDLP"})
    if control_id == "CloudApplicationSecurityEnabled":
        return frozenset({"HasMCAS"})
    if control_id == "CustomerLockBoxEnabled":
        # Customer Lockbox is an E5 feature; among our plans only E5 carries Entra ID P2.
        return frozenset({"HasExchange", "HasAADP2"})
    if enablement == "O365 E5":
        return frozenset({"HasExchange", "HasMDO"})
    if control_id.startswith("MDM"):
        return frozenset({"HasInTune"})
    by_workload = {
        "EXO": {"HasExchange"},
        "SPO": {"HasSharePoint"},
        "OD4B": {"HasOD4B"},
        "SFB": {"HasTeams"},
    }
    if workload == "IP" and row.values["Action Category"] == "Data" and not control_id.startswith("Audit"):
        return frozenset({"HasExchange"})
    return frozenset(by_workload.get(workload, set()))


def _score_description(text: str) -> str:
    """The 2018 descriptions end with tenant-specific findings ("We found …"); keep the general part."""
    general = re.split(r"\s+We found", text, maxsplit=1)[0]
    return re.sub(r"\s+", " ", general).strip()


def load_2018_controls(path: Path = CSV_2018) -> list[Control]:
    """Every row of the 2018 file as a Control (with today's status of each id); CatalogueError names a bad row."""
    controls = []
    for row in csv_rows(path, COLUMNS_2018):
        control_id = row.text("Reference Id")
        row.named(control_id)
        baseline, ease = _ADOPTION_2018.get(control_id, (0.3, 0.5))
        measure = _MEASURE_2018.get(control_id, "binary")
        default_status = (
            ("Feature in place: true.", "Feature in place: false.")
            if measure == "binary"
            else ("{count} of {total} users are covered.",)
        )
        fields: dict[str, object] = {
            "id": control_id,
            "title": row.text("Name"),
            "category": _CATEGORY_NOW[row.choice("Action Category", tuple(_CATEGORY_NOW))],
            "service": row.choice("Workload", SERVICES),
            "max_score": row.number("Baseline", low=0.0),
            "rank": row.integer("Stack Rank", low=1),
            "tier": row.choice("Tier", TIERS, casefold=True),
            "action_type": row.choice("Control Type", ACTION_TYPES),
            "user_impact": row.choice("User Impact", LEVELS, casefold=True),
            "implementation_cost": row.choice("Implementation Cost", LEVELS, casefold=True),
            "threats": row.items("Threats"),
            "action_url": row.text("Action Url"),
            "description": _score_description(row.text("Description")),
            "remediation": re.sub(r"\s+", " ", row.text("Remediation Change")).strip(),
            "remediation_impact": re.sub(r"\s+", " ", row.text("Remediation Impact")).strip(),
            "requires": _requires_2018(row, control_id),
            "measure": measure,
            "deprecated": row.flag("Deprecated") or control_id in _RETIRED_2018,
            "era": "2018",
            "baseline": baseline,
            "ease": ease,
            "status": _STATUS_2018.get(control_id, default_status),
            "compliance": (
                ((_ISO_27001, _COMPLIANCE_2018[control_id]),) if control_id in _COMPLIANCE_2018 else ()
            ),
        }
        fields.update(_CURRENT_VALUES.get(control_id, {}))
        controls.append(Control(**fields))  # type: ignore[arg-type]
    return controls


def _build() -> tuple[Control, ...]:
    licence_flags = frozenset().union(*(plan.services for plan in PLANS))
    current = load_current_controls(CSV_CURRENT, licence_flags)
    older = load_2018_controls()
    first_seen = {c.id: CSV_CURRENT.name for c in current}
    for control in older:
        if control.id in first_seen:
            raise CatalogueError(
                CSV_2018.name,
                f"id {control.id!r}",
                "Reference Id",
                f"also listed in {first_seen[control.id]}",
            )
    everything = {c.id: c for c in (*older, *current)}
    # The Python-side notes on 2018 ids must name rows of the 2018 file, and a replacement a current control.
    ids_2018 = {c.id for c in older}
    for name, notes in (
        ("_RETIRED_2018", _RETIRED_2018),
        ("_CURRENT_VALUES", _CURRENT_VALUES),
        ("_ADOPTION_2018", _ADOPTION_2018),
        ("_MEASURE_2018", _MEASURE_2018),
        ("_STATUS_2018", _STATUS_2018),
        ("_COMPLIANCE_2018", _COMPLIANCE_2018),
    ):
        for control_id in sorted(set(notes) - ids_2018):
            raise CatalogueError(
                CSV_2018.name, f"id {control_id!r}", None, f"named in {name} but not in the file"
            )
    for control_id, replacement in _RETIRED_2018.items():
        if replacement is not None and (replacement not in everything or everything[replacement].deprecated):
            raise CatalogueError(
                CSV_CURRENT.name,
                f"id {replacement!r}",
                None,
                f"{control_id} is replaced by it, but it is not listed",
            )
    return tuple(sorted(everything.values(), key=lambda c: (c.id.lower(), c.id)))


CONTROLS: tuple[Control, ...] = _build()
CONTROL_BY_ID = MappingProxyType({c.id: c for c in CONTROLS})


@cache
def applicable_controls(services: frozenset[str]) -> tuple[Control, ...]:
    """Non-deprecated controls whose licence requirements `services` meets, in CONTROLS order."""
    return tuple(c for c in CONTROLS if c.applies_to(services))
