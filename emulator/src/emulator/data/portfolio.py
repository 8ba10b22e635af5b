"""The emulated CSP portfolio: the partner tenant and its customers, generated lazily and deterministically.

Everything about a customer is a function of (seed, customer index, anchor) where `anchor` is the start of
the UTC day of the emulator clock's start (`--now`). Two emulators with the same seed, tenant count and
`--now` therefore serve the same portfolio; 10,000 customers cost a few MB because nothing per-day is kept.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from emulator.data.determinism import rng_for, stable_uuid
from emulator.data.names import company_for, slug

# Entra built-in role template ids (stable across tenants; documented by Microsoft).
ROLE_IDS: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Security Administrator": "194ae4cb-b126-40b2-bd5b-6091b380977d",
    "Security Operator": "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",
    "Security Reader": "5d6b6bb7-de71-4623-b4af-96380a352509",
    "Helpdesk Administrator": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Directory Readers": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
    "Exchange Administrator": "29232cdf-9323-42fd-ade2-1d097af3e4de",
    "License Administrator": "4d6ac14f-3453-41d0-bef9-a3e0c569773a",
    "Intune Administrator": "3a2c62db-5318-420d-8d74-23affee5d9d5",
}
# Share of non-extending GDAP relationships the partner lets lapse instead of renewing.
RENEWAL_LAPSE_SHARE = 0.08
# Roles that let a delegated admin read Secure Score and Defender alerts/incidents.
SECURITY_READ_ROLE_IDS: frozenset[str] = frozenset(
    ROLE_IDS[r]
    for r in (
        "Global Administrator",
        "Global Reader",
        "Security Administrator",
        "Security Operator",
        "Security Reader",
    )
)


@dataclass(frozen=True, slots=True)
class Plan:
    """A licence bundle: what services a tenant has and which Defender products can raise alerts there."""

    name: str
    weight: float
    min_seats: int
    max_seats: int
    services: tuple[str, ...]
    alert_sources: tuple[str, ...]


_BASE = ("HasExchange", "HasSharePoint", "HasOD4B", "HasTeams")
PLANS: tuple[Plan, ...] = (
    Plan(
        "Microsoft 365 Business Basic",
        0.22,
        5,
        300,
        _BASE,
        ("microsoftDefenderForOffice365", "azureAdIdentityProtection"),
    ),
    Plan(
        "Microsoft 365 Business Standard",
        0.25,
        5,
        300,
        (*_BASE, "HasOfficeApps"),
        ("microsoftDefenderForOffice365", "azureAdIdentityProtection"),
    ),
    Plan(
        "Microsoft 365 Business Premium",
        0.28,
        10,
        300,
        (*_BASE, "HasOfficeApps", "HasInTune", "HasAADP1", "HasMDO", "HasMDE"),
        (
            "microsoftDefenderForEndpoint",
            "microsoftDefenderForOffice365",
            "azureAdIdentityProtection",
            "microsoft365Defender",
        ),
    ),
    Plan(
        "Office 365 E3",
        0.08,
        50,
        20_000,
        (*_BASE, "HasOfficeApps", "HasDLP"),
        ("microsoftDefenderForOffice365", "dataLossPrevention", "azureAdIdentityProtection"),
    ),
    Plan(
        "Microsoft 365 E3",
        0.10,
        100,
        50_000,
        (*_BASE, "HasOfficeApps", "HasInTune", "HasAADP1", "HasDLP", "HasMDE"),
        (
            "microsoftDefenderForEndpoint",
            "microsoftDefenderForOffice365",
            "dataLossPrevention",
            "azureAdIdentityProtection",
            "microsoft365Defender",
        ),
    ),
    Plan(
        "Microsoft 365 E5",
        0.07,
        200,
        50_000,
        (
            *_BASE,
            "HasOfficeApps",
            "HasInTune",
            "HasAADP1",
            "HasAADP2",
            "HasDLP",
            "HasMDE",
            "HasMDO",
            "HasMDI",
            "HasMCAS",
        ),
        (
            "microsoftDefenderForEndpoint",
            "microsoftDefenderForOffice365",
            "microsoftDefenderForIdentity",
            "microsoftDefenderForCloudApps",
            "azureAdIdentityProtection",
            "microsoft365Defender",
            "dataLossPrevention",
            "microsoftAppGovernance",
        ),
    ),
)

# Access situations, as of the anchor. Shares are of all customers.
ACCESS_MIX: tuple[tuple[str, float], ...] = (
    ("gdap_security", 0.86),  # active GDAP with a role that reads security data
    ("gdap_no_security", 0.04),  # active GDAP, but only e.g. Helpdesk: tokens work, /security answers 403
    ("dap", 0.03),  # legacy DAP (AdminAgents), no GDAP
    ("gdap_expired", 0.02),  # the only relationship ended, no auto-extend: no access
    ("gdap_pending", 0.02),  # invitation sent, customer has not approved: no access
    ("none", 0.03),  # reseller relationship only: no delegated access at all
)

# Faults a realistic portfolio carries on its own (fault profile "realistic"), as shares of customers with
# access. They are what makes a demo's coverage table honest: real partners always have a few of these.
BAKED_FAULTS: tuple[tuple[str, float], ...] = (
    ("consent_revoked", 0.010),  # AADSTS65001 when redeeming the partner token at this tenant
    ("mfa_required", 0.005),  # AADSTS50076
    ("conditional_access_blocked", 0.005),  # AADSTS53003
    ("no_security_license", 0.010),  # Graph 403 on alerts_v2 / incidents
)
FAULT_PROFILES = ("realistic", "none")

# GDAP access assignments missing or incomplete, as shares of customers with an active security relationship
# (`gdap_security`). A relationship's roles reach nobody until the partner assigns them to one of its security
# groups (Partner Center → Customers → the customer → Admin relationships → Assign): forgetting that is the
# most common cause of 403s after onboarding. Everyone else has every role assigned a few hours after approval.
ASSIGNMENT_GAPS: tuple[tuple[str, float], ...] = (
    ("unassigned", 0.03),  # no access assignment at all
    ("pending", 0.02),  # assignments created, still pending
    ("security_roles_unassigned", 0.03),  # only the helpdesk roles were assigned, to the helpdesk group
)
# The partner's security groups that access assignments give roles to (accessContainer, type securityGroup).
SECURITY_GROUP = "Security Analysts"
HELPDESK_GROUP = "Helpdesk Agents"

# Licence upgrades seen in a partner's book: the plan a customer held before its current one. A share of
# customers on these plans bought the upgrade recently (around the anchor), so Secure Score's maxScore jumps
# and new Defender products start raising alerts on that day.
UPGRADED_FROM: dict[str, str] = {
    "Microsoft 365 Business Standard": "Microsoft 365 Business Basic",
    "Microsoft 365 Business Premium": "Microsoft 365 Business Standard",
    "Microsoft 365 E3": "Office 365 E3",
    "Microsoft 365 E5": "Microsoft 365 E3",
}
UPGRADE_SHARE = 0.15
_ADD_ONS = {"HasDefenderForCloud": "microsoftDefenderForCloud"}


@dataclass(frozen=True, slots=True)
class GdapRelationship:
    """A delegatedAdminRelationship between the partner and one customer."""

    id: str
    display_name: str
    customer_tenant_id: str
    customer_display_name: str
    role_ids: tuple[str, ...]
    created: datetime
    activated: datetime | None
    end: datetime | None
    duration_days: int
    auto_extend: bool
    terminated_at: datetime | None
    reseller_indirect_provider: str | None = None

    def status_at(self, now: datetime) -> str:
        """delegatedAdminRelationshipStatus as of `now`."""
        if self.terminated_at is not None and now >= self.terminated_at:
            return "terminated"
        if self.activated is None or now < self.activated:
            return "approvalPending" if now >= self.created else "created"
        end = self.end_at(now)
        if end is not None and now >= end:
            return "expired"
        if end is not None and end - now <= timedelta(days=30) and not self.auto_extend:
            return "expiring"
        return "active"

    def end_at(self, now: datetime) -> datetime | None:
        """End of the relationship as of `now`, counting the 180-day auto-extensions that have happened."""
        if self.end is None or not self.auto_extend or now < self.end:
            return self.end
        periods = math.floor((now - self.end) / timedelta(days=180)) + 1
        return self.end + periods * timedelta(days=180)

    def grants_security_read(self, now: datetime) -> bool:
        return self.status_at(now) in {"active", "expiring"} and bool(
            SECURITY_READ_ROLE_IDS & set(self.role_ids)
        )

    def is_active(self, now: datetime) -> bool:
        return self.status_at(now) in {"active", "expiring"}


@dataclass(frozen=True, slots=True)
class AccessAssignment:
    """A delegatedAdminAccessAssignment: some of a relationship's roles given to one of the partner's groups."""

    id: str
    relationship_id: str
    group_id: str
    role_ids: tuple[str, ...]
    created: datetime
    pending: bool

    def status_at(self, relationship: GdapRelationship, now: datetime) -> str | None:
        """delegatedAdminAccessAssignmentStatus at `now` (None before it was created); an ended relationship's
        assignments are `deleted`."""
        if now < self.created:
            return None
        if relationship.status_at(now) in {"expired", "terminated"}:
            return "deleted"
        return "pending" if self.pending else "active"

    def modified_at(self, relationship: GdapRelationship, now: datetime) -> datetime:
        if self.status_at(relationship, now) == "deleted":
            ended = relationship.terminated_at or relationship.end_at(now)
            if ended is not None and ended > self.created:
                return ended
        return self.created

    def grants_security_read(self, relationship: GdapRelationship, now: datetime) -> bool:
        return self.status_at(relationship, now) == "active" and bool(
            SECURITY_READ_ROLE_IDS & set(self.role_ids)
        )


@dataclass(frozen=True, slots=True)
class PartnerTenant:
    """The CSP partner's own tenant and the admin user who consents to the Secure Application Model app."""

    tenant_id: str
    display_name: str
    default_domain: str
    user_object_id: str
    user_principal_name: str
    user_display_name: str


@dataclass(frozen=True, slots=True)
class Customer:
    """One customer tenant of the partner."""

    index: int
    tenant_id: str
    commerce_id: str
    company_name: str
    industry: str
    default_domain: str
    custom_domain: str
    seats: int
    plan: Plan
    services: tuple[str, ...]
    alert_sources: tuple[str, ...]
    relationship: str
    customer_since: datetime
    departed_at: datetime | None
    access: str
    dap: bool
    gdap: tuple[GdapRelationship, ...]
    baked_fault: str | None
    # Expected alerts per day before bursts; larger and better-instrumented tenants see more.
    alert_rate: float = field(default=0.0)
    # Start of the UTC day of the emulator's `--now`; generators place recent history relative to it.
    anchor: datetime | None = None
    # The plan held before `plan`, and when the upgrade took effect (None: `plan` since onboarding).
    previous_plan: Plan | None = None
    plan_changed_at: datetime | None = None
    # Access assignments of every relationship in `gdap`, and which gap (ASSIGNMENT_GAPS) they have, if any.
    assignments: tuple[AccessAssignment, ...] = ()
    assignment_gap: str | None = None

    def assignments_of(self, relationship: GdapRelationship) -> tuple[AccessAssignment, ...]:
        return tuple(a for a in self.assignments if a.relationship_id == relationship.id)

    def services_at(self, when: datetime) -> tuple[str, ...]:
        """Licence flags (enabledServices vocabulary) the tenant had at `when`."""
        if self.previous_plan is None or self.plan_changed_at is None or when >= self.plan_changed_at:
            return self.services
        extra = tuple(s for s in self.services if s in _ADD_ONS)
        return (*self.previous_plan.services, *extra)

    def alert_sources_at(self, when: datetime) -> tuple[str, ...]:
        """serviceSource values that could raise alerts for the tenant at `when`."""
        if self.previous_plan is None or self.plan_changed_at is None or when >= self.plan_changed_at:
            return self.alert_sources
        extra = tuple(_ADD_ONS[s] for s in self.services if s in _ADD_ONS)
        return (*self.previous_plan.alert_sources, *extra)

    def is_listed(self, now: datetime) -> bool:
        """Whether Partner Center lists this customer at `now` (departed customers drop off the list)."""
        return self.customer_since <= now and (self.departed_at is None or now < self.departed_at)

    def has_delegated_access(self, now: datetime) -> bool:
        """Whether the partner's users can sign in to this tenant at `now` (GDAP active, or DAP)."""
        if not self.is_listed(now):
            return False
        return self.dap or any(r.is_active(now) for r in self.gdap)

    def can_read_security(self, now: datetime) -> bool:
        """Whether a delegated token for this tenant may read /security data at `now`."""
        if not self.has_delegated_access(now):
            return False
        return self.dap or any(
            r.grants_security_read(now)
            and any(a.grants_security_read(r, now) for a in self.assignments_of(r))
            for r in self.gdap
        )


class Portfolio:
    """The partner and `tenants` customers; customers are generated on first use and kept (a few hundred bytes each)."""

    def __init__(self, seed: int, tenants: int, anchor: datetime, fault_profile: str = "realistic") -> None:
        if tenants < 0:
            raise ValueError("tenants must be >= 0")
        if fault_profile not in FAULT_PROFILES:
            raise ValueError(f"fault_profile must be one of {FAULT_PROFILES}")
        if anchor.tzinfo is None:
            raise ValueError("anchor must be timezone-aware")
        self.seed = seed
        self.tenants = tenants
        self.anchor = anchor.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.fault_profile = fault_profile
        self._customers: dict[int, Customer] = {}
        self._index_by_tenant: dict[str, int] | None = None

    @cached_property
    def partner(self) -> PartnerTenant:
        rng = rng_for(self.seed, "partner")
        name = rng.choice(
            (
                "Contoso Cloud Partners",
                "Fabrikam Managed Services",
                "Tailspin IT Solutions",
                "Northwind Secure Cloud",
                "Woodgrove Technology Partners",
            )
        )
        prefix = slug(name)[:22]
        first, last = rng.choice(
            (
                ("Avery", "Lindqvist"),
                ("Jordan", "Okafor"),
                ("Sam", "Moreau"),
                ("Riley", "Tanaka"),
                ("Morgan", "Schmidt"),
            )
        )
        return PartnerTenant(
            tenant_id=stable_uuid(self.seed, "partner", "tenant"),
            display_name=name,
            default_domain=f"{prefix}.onmicrosoft.com",
            user_object_id=stable_uuid(self.seed, "partner", "admin-user"),
            user_principal_name=f"{first.lower()}.{last.lower()}@{prefix}.onmicrosoft.com",
            user_display_name=f"{first} {last}",
        )

    def __len__(self) -> int:
        return self.tenants

    def __iter__(self) -> Iterator[Customer]:
        return (self.customer(i) for i in range(self.tenants))

    def customer(self, index: int) -> Customer:
        if not 0 <= index < self.tenants:
            raise IndexError(index)
        found = self._customers.get(index)
        if found is None:
            found = self._customers[index] = self._generate(index)
        return found

    def customer_by_tenant_id(self, tenant_id: str) -> Customer | None:
        if self._index_by_tenant is None:
            self._index_by_tenant = {self._tenant_id(i): i for i in range(self.tenants)}
        index = self._index_by_tenant.get(tenant_id.lower())
        return None if index is None else self.customer(index)

    def listed_customers(self, now: datetime) -> Iterator[Customer]:
        """Customers Partner Center lists at `now`, in a stable order."""
        return (c for c in self if c.is_listed(now))

    def _tenant_id(self, index: int) -> str:
        return stable_uuid(self.seed, "customer", index, "tenant")

    def _generate(self, index: int) -> Customer:
        rng = rng_for(self.seed, "customer", index)
        tenant_id = self._tenant_id(index)
        name, industry, prefix = company_for(index, self.seed)
        plan = rng.choices(PLANS, weights=[p.weight for p in PLANS])[0]
        # Log-uniform seats inside the plan's range: most customers are small, a few are very large.
        seats = round(math.exp(rng.uniform(math.log(plan.min_seats), math.log(plan.max_seats))))
        services = list(plan.services)
        sources = list(plan.alert_sources)
        if "HasInTune" in plan.services and rng.random() < 0.15:
            services.append("HasDefenderForCloud")
            sources.append("microsoftDefenderForCloud")  # evolvable serviceSource member
        customer_since = self.anchor - timedelta(days=rng.randint(30, 5 * 365), minutes=rng.randint(0, 1439))
        departed_at = None
        if rng.random() < 0.02:
            departed_at = self.anchor + timedelta(days=rng.randint(-60, 365), minutes=rng.randint(0, 1439))
            departed_at = max(departed_at, customer_since + timedelta(days=7))
        access = rng.choices([a for a, _ in ACCESS_MIX], weights=[w for _, w in ACCESS_MIX])[0]
        gdap = self._gdap_for(rng, index, tenant_id, name, access, customer_since, departed_at)
        baked_fault = None
        if self.fault_profile == "realistic" and access in {"gdap_security", "dap"}:
            draw = rng.random()
            for fault, share in BAKED_FAULTS:
                if draw < share:
                    baked_fault = fault
                    break
                draw -= share
        instrumented = len(sources) / 4
        alert_rate = 0.02 + instrumented * seats**0.55 / 30 * rng.lognormvariate(0, 0.6)
        custom_tld = rng.choice((".com", ".co.uk", ".de", ".com.au", ".nl", ".org", ".ca"))
        previous_plan, plan_changed_at = self._upgrade_for(index, plan, customer_since)
        assignment_gap, assignments = self._assignments_for(index, access, gdap)
        return Customer(
            index=index,
            tenant_id=tenant_id,
            commerce_id=stable_uuid(self.seed, "customer", index, "commerce"),
            company_name=name,
            industry=industry,
            default_domain=f"{prefix}.onmicrosoft.com",
            custom_domain=prefix.rstrip("0123456789") + custom_tld,
            seats=seats,
            plan=plan,
            services=tuple(services),
            alert_sources=tuple(sources),
            relationship="advisor" if rng.random() < 0.12 else "reseller",
            customer_since=customer_since,
            departed_at=departed_at,
            access=access,
            dap=access == "dap",
            gdap=gdap,
            baked_fault=baked_fault,
            alert_rate=alert_rate,
            anchor=self.anchor,
            previous_plan=previous_plan,
            plan_changed_at=plan_changed_at,
            assignments=assignments,
            assignment_gap=assignment_gap,
        )

    def _assignments_for(
        self, index: int, access: str, gdap: tuple[GdapRelationship, ...]
    ) -> tuple[str | None, tuple[AccessAssignment, ...]]:
        """Each approved relationship's access assignments: its security roles to the security group, its other
        roles to the helpdesk group, a few hours after approval — unless the customer has an assignment gap."""
        # A stream of its own, so adding assignments left every other generated value unchanged.
        rng = rng_for(self.seed, "customer", index, "assignments")
        gap = None
        if access == "gdap_security":
            draw = rng.random()
            for name, share in ASSIGNMENT_GAPS:
                if draw < share:
                    gap = name
                    break
                draw -= share
        if gap == "unassigned":
            return gap, ()
        groups = {
            name: stable_uuid(self.seed, "partner", "group", name)
            for name in (SECURITY_GROUP, HELPDESK_GROUP)
        }
        found: list[AccessAssignment] = []
        for relationship in gdap:
            if relationship.activated is None:
                continue  # roles can be assigned once the customer has approved the relationship
            security = tuple(r for r in relationship.role_ids if r in SECURITY_READ_ROLE_IDS)
            other = tuple(r for r in relationship.role_ids if r not in SECURITY_READ_ROLE_IDS)
            created = relationship.activated + timedelta(minutes=rng.randint(5, 600))
            for group, roles in ((SECURITY_GROUP, security), (HELPDESK_GROUP, other)):
                if not roles or (group == SECURITY_GROUP and gap == "security_roles_unassigned"):
                    continue
                found.append(
                    AccessAssignment(
                        id=stable_uuid(self.seed, "assignment", relationship.id, group),
                        relationship_id=relationship.id,
                        group_id=groups[group],
                        role_ids=roles,
                        created=created,
                        pending=gap == "pending",
                    )
                )
        return gap, tuple(found)

    def _upgrade_for(self, index: int, plan: Plan, since: datetime) -> tuple[Plan | None, datetime | None]:
        # A stream of its own, so adding licence history left every other generated value unchanged.
        rng = rng_for(self.seed, "customer", index, "licence")
        previous = UPGRADED_FROM.get(plan.name)
        if previous is None or rng.random() >= UPGRADE_SHARE:
            return None, None
        changed_at = self.anchor + timedelta(days=rng.randint(-150, 60), minutes=rng.randint(0, 1439))
        if changed_at <= since:
            return None, None
        return next(p for p in PLANS if p.name == previous), changed_at

    def _gdap_for(
        self,
        rng: random.Random,
        index: int,
        tenant_id: str,
        name: str,
        access: str,
        since: datetime,
        departed_at: datetime | None,
    ) -> tuple[GdapRelationship, ...]:
        if access in {"none", "dap"}:
            return ()
        security_roles = [ROLE_IDS["Security Reader"], ROLE_IDS["Global Reader"]]
        if rng.random() < 0.3:
            security_roles.append(ROLE_IDS["Security Administrator"])
        other_roles = [ROLE_IDS["Helpdesk Administrator"], ROLE_IDS["User Administrator"]]
        if rng.random() < 0.4:
            other_roles.append(ROLE_IDS["License Administrator"])
        roles = other_roles if access == "gdap_no_security" else security_roles + other_roles
        partner_id = self.partner.tenant_id
        created = max(since, self.anchor - timedelta(days=rng.randint(20, 700)))
        duration = rng.choice((730, 730, 730, 365, 180))
        auto_extend = access != "gdap_expired" and duration == 730 and rng.random() < 0.8
        activated: datetime | None = created + timedelta(hours=rng.randint(1, 96))
        end: datetime | None = activated + timedelta(days=duration)
        if access == "gdap_expired":
            # Ended a few weeks before the anchor.
            end = self.anchor - timedelta(days=rng.randint(1, 60))
            activated = end - timedelta(days=duration)
            created = activated - timedelta(hours=rng.randint(1, 96))
        elif access == "gdap_pending":
            created = self.anchor - timedelta(days=rng.randint(0, 10))
            activated = None
            end = None
        elif not auto_extend and end <= self.anchor:
            # Keep "active" customers active at the anchor: renewals happened, some expire later.
            end = self.anchor + timedelta(days=rng.randint(5, 200))
        relationship = GdapRelationship(
            id=f"{stable_uuid(self.seed, 'gdap', index)}-{partner_id}",
            display_name=f"{slug(name)[:20]}-security-{created:%Y%m}",
            customer_tenant_id=tenant_id,
            customer_display_name=name,
            role_ids=tuple(roles),
            created=created,
            activated=activated,
            end=end,
            duration_days=duration,
            auto_extend=auto_extend,
            terminated_at=departed_at,
            reseller_indirect_provider=(
                stable_uuid(self.seed, "indirect-provider", index % 3) if rng.random() < 0.1 else None
            ),
        )
        history: list[GdapRelationship] = []
        if rng.random() < 0.25 and created - since > timedelta(days=200):
            # An earlier, narrower relationship that was replaced: lists show history too.
            old_created = created - timedelta(days=rng.randint(120, 400))
            history.append(
                GdapRelationship(
                    id=f"{stable_uuid(self.seed, 'gdap-old', index)}-{partner_id}",
                    display_name=f"{slug(name)[:20]}-default-{old_created:%Y%m}",
                    customer_tenant_id=tenant_id,
                    customer_display_name=name,
                    role_ids=(ROLE_IDS["Directory Readers"],),
                    created=old_created,
                    activated=old_created + timedelta(hours=2),
                    end=created,
                    duration_days=(created - old_created).days,
                    auto_extend=False,
                    terminated_at=created,
                )
            )
        return (*history, relationship, *self._renewals_of(index, relationship, access))

    def _renewals_of(self, index: int, relationship: GdapRelationship, access: str) -> list[GdapRelationship]:
        """Relationships that replace `relationship` when it ends without auto-extension.

        GDAP relationships end; partners who keep a customer create a new one shortly before (Microsoft sends
        expiry notices 30, 7 and 1 days ahead). Without renewals an emulator clock moved a year forward would
        lose half the portfolio's access. Renewals are created after the anchor, so at `--now` nothing changes;
        a few lapse, which is how customers fall to "no delegated access" over time.
        """
        if access in {"gdap_expired", "gdap_pending"} or relationship.auto_extend or relationship.end is None:
            return []
        # A stream of its own, so renewals left every other generated value unchanged.
        rng = rng_for(self.seed, "customer", index, "renewal")
        partner_id = self.partner.tenant_id
        renewals: list[GdapRelationship] = []
        previous = relationship
        horizon = self.anchor + timedelta(days=3 * 365)
        while previous.end is not None and not previous.auto_extend and previous.end < horizon:
            if rng.random() < RENEWAL_LAPSE_SHARE:
                break
            # A customer who has left is not renewed.
            if relationship.terminated_at is not None and previous.end >= relationship.terminated_at:
                break
            created = max(
                previous.end - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 23)), previous.created
            )
            activated = created + timedelta(hours=rng.randint(1, 72))
            duration = rng.choice((730, 730, 730, 365))
            auto_extend = duration == 730 and rng.random() < 0.8
            previous = GdapRelationship(
                id=f"{stable_uuid(self.seed, 'gdap-renewal', index, len(renewals))}-{partner_id}",
                display_name=f"{slug(relationship.customer_display_name)[:20]}-security-{created:%Y%m}",
                customer_tenant_id=relationship.customer_tenant_id,
                customer_display_name=relationship.customer_display_name,
                role_ids=relationship.role_ids,
                created=created,
                activated=activated,
                end=activated + timedelta(days=duration),
                duration_days=duration,
                auto_extend=auto_extend,
                terminated_at=relationship.terminated_at,
                reseller_indirect_provider=relationship.reseller_indirect_provider,
            )
            renewals.append(previous)
        return renewals
