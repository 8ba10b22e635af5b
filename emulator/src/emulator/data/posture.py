"""How far each customer has implemented each Secure Score control, at any instant: the model behind
secureScores (daily control scores) and secureScoreControlProfiles (controlStateUpdates).

Everything is a pure function of the customer and the instant asked about. Per tenant, a `Posture` holds the
drawn parameters of every control the tenant is ever licensed for (kept in a small LRU): whether it was
already in place when the partner took the customer on (`Control.baseline`, scaled by the tenant's hygiene),
whether and when the partner implements it afterwards (`Control.ease` times the partner's diligence for this
tenant; the delay follows an exponential with a per-tenant pace), how a partial control (users, admins,
devices, policy coverage) ramps up, short regression episodes (someone switches a policy off, devices drift
out of compliance), and admin decisions recorded as controlStateUpdates (ThirdParty scores full points,
Ignored — risk accepted — scores none). A licence upgrade makes new controls applicable from the upgrade
instant; the partner starts on those then.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from emulator.data.catalogue import CONTROLS, Control, applicable_controls
from emulator.data.determinism import rng_for
from emulator.data.portfolio import Customer
from emulator.data.timestamps import DAY, HOUR, MINUTE, to_us

_NEVER = 2**62
_SINCE_EVER = -(2**62)
_BLOCK = 64 * DAY  # regression episodes are drawn per tenant per 64-day block
STATES = ("Default", "Ignored", "ThirdParty", "Reviewed")

_THIRD_PARTY_LIKELY = frozenset(
    {"AdminMFAV2", "MFARegistrationV2", "scid_2010", "scid_2012", "scid_2016", "scid_91", "scid_6090"}
)
_STATE_COMMENTS = {
    "ThirdParty": (
        "Covered by the customer's third-party EDR.",
        "MFA enforced by the customer's third-party identity provider.",
        "Handled by the managed firewall / email gateway service.",
    ),
    "Ignored": (
        "Risk accepted by the customer (business requirement).",
        "Not feasible for this customer; accepted by their IT lead.",
        "Accepted risk - revisit at next quarterly review.",
    ),
    "Reviewed": ("Reviewed with the customer; planned for next quarter.", "Reviewed, no change required."),
    "Default": ("Reverted: third-party tool decommissioned.", "Risk acceptance expired."),
}
_ADMIN_FIRST_NAMES = ("alex", "sam", "jordan", "taylor", "morgan", "casey", "jamie", "robin")


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """One secureScoreControlStateUpdate."""

    at_us: int
    state: str
    updated_by: str
    assigned_to: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class Track:
    """The drawn implementation history of one control for one tenant."""

    control: Control
    available_us: int  # when the tenant became licensed for it (_SINCE_EVER: always)
    done_us: int  # when it was fully implemented (_SINCE_EVER: before we knew it; _NEVER: not planned)
    ramp_us: int  # partial controls climb from f0 to f1 over this long after done_us
    f0: float
    f1: float
    total: int  # denominator of count/total (users, admins, devices); 0 for binary
    regression_rate: float  # chance per 64-day block of a regression episode
    updates: tuple[StateUpdate, ...]
    binary: bool
    devices: bool


class ControlScore(NamedTuple):
    """A control's measured state at one instant."""

    control: Control
    score: float
    fraction: float  # natural implementation fraction 0..1 (before ThirdParty/Ignored overrides)
    count: int
    total: int
    state: str
    applicable: bool  # False: scored 0 and left out of maxScore (e.g. no Linux devices)


class Posture:
    """Everything drawn once per tenant; `scores_at(us)` is then cheap."""

    def __init__(self, customer: Customer) -> None:
        self.customer = customer
        self.key = customer.tenant_id
        rng = rng_for(0, self.key, "posture")
        self.snapshot_offset_us = rng.randrange(0, 86_400) * 1_000_000
        self.onboarded_us = to_us(customer.customer_since)
        self.changed_us = to_us(customer.plan_changed_at) if customer.plan_changed_at else None
        changed_at = customer.plan_changed_at
        before = customer.services_at(changed_at - timedelta(minutes=1)) if changed_at else None
        self.services_before = frozenset(before) if before is not None else None
        self.services_after = frozenset(customer.services)
        hygiene = rng.lognormvariate(-0.2, 0.4)
        diligence = rng.betavariate(2.5, 2.5)
        pace_days = rng.lognormvariate(math.log(75.0), 0.6)
        seats = customer.seats
        self.admin_total = max(1, min(25, round(1.5 + seats**0.3 + rng.uniform(-1, 2))))
        self.device_total = max(1, round(seats * rng.uniform(0.8, 1.6)))
        self.linux_total = round(seats * rng.uniform(0.01, 0.08)) if rng.random() < 0.3 else 0
        self.active_ratio = rng.uniform(0.55, 0.95)
        self.no_industry = rng.random() < 0.08  # Microsoft has no industry for the tenant: basis missing
        self._blocks: OrderedDict[int, dict[str, tuple[int, int, float]]] = OrderedDict()
        self._period_tracks: dict[frozenset[str], list[tuple[Control, Track]]] = {}
        available = {
            c.id: _SINCE_EVER for c in applicable_controls(self.services_before or self.services_after)
        }
        if self.changed_us is not None:
            for control in applicable_controls(self.services_after):
                available.setdefault(control.id, self.changed_us)
        self.tracks: dict[str, Track] = {}
        for control in CONTROLS:
            if control.id in available:
                self.tracks[control.id] = self._track(
                    control, available[control.id], hygiene, diligence, pace_days
                )

    def _track(
        self, control: Control, available_us: int, hygiene: float, diligence: float, pace_days: float
    ) -> Track:
        rng = rng_for(0, self.key, "posture", control.id)
        start_us = max(self.onboarded_us, available_us)
        baseline = min(0.97, control.baseline * hygiene)
        target = baseline + (1.0 - baseline) * control.ease * diligence
        draw = rng.random()
        if draw < baseline:
            done_us = _SINCE_EVER
        elif draw < target:
            delay = rng.expovariate(1.0 / pace_days) * DAY
            done_us = start_us + int(delay) + rng.randrange(8, 18) * HOUR
        else:
            done_us = _NEVER
        partial = control.measure != "binary"
        f1 = rng.uniform(0.88, 1.0) if partial else 1.0
        f0 = f1 if done_us == _SINCE_EVER else (rng.uniform(0.0, 0.4) if partial else 0.0)
        total = {
            "users": self.customer.seats,
            "policy": self.customer.seats,
            "admins": self.admin_total,
            "devices": self.linux_total if control.id == "scid_6090" else self.device_total,
        }.get(control.measure, 0)
        regression_rate = {"binary": 0.03, "devices": 0.08}.get(control.measure, 0.05)
        return Track(
            control=control,
            available_us=available_us,
            done_us=done_us,
            ramp_us=rng.randrange(5, 60) * DAY if partial else 0,
            f0=f0,
            f1=f1,
            total=total,
            regression_rate=regression_rate,
            updates=self._updates(rng, control, start_us),
            binary=not partial,
            devices=control.measure == "devices",
        )

    def _updates(self, rng: random.Random, control: Control, start_us: int) -> tuple[StateUpdate, ...]:
        third_party = 0.05 if control.id in _THIRD_PARTY_LIKELY else 0.012
        ignored = 0.05 if control.user_impact in {"High", "Moderate", "high", "moderate"} else 0.025
        draw = rng.random()
        if draw < third_party:
            state = "ThirdParty"
        elif draw < third_party + ignored:
            state = "Ignored"
        elif draw < third_party + ignored + 0.02:
            state = "Reviewed"
        else:
            return ()
        domain = self.customer.default_domain
        who = f"{rng.choice(_ADMIN_FIRST_NAMES)}.admin@{domain}"
        at_us = start_us + rng.randrange(0, 400) * DAY + rng.randrange(8 * 60, 19 * 60) * MINUTE
        first = StateUpdate(
            at_us=at_us,
            state=state,
            updated_by=who,
            assigned_to=who if rng.random() < 0.5 else None,
            comment=rng.choice(_STATE_COMMENTS[state]),
        )
        if state == "Reviewed" or rng.random() >= 0.2:
            return (first,)
        revert = StateUpdate(
            at_us=at_us + rng.randrange(10, 120) * DAY + rng.randrange(0, 8) * HOUR,
            state="Default",
            updated_by=who,
            assigned_to=None,
            comment=rng.choice(_STATE_COMMENTS["Default"]),
        )
        return (first, revert)

    def services_at(self, us: int) -> frozenset[str]:
        """Licence flags in force at `us`."""
        if self.changed_us is not None and us < self.changed_us and self.services_before is not None:
            return self.services_before
        return self.services_after

    def _episodes(self, block: int) -> dict[str, tuple[int, int, float]]:
        found = self._blocks.get(block)
        if found is not None:
            return found
        rng = rng_for(0, self.key, "regressions", block)
        episodes: dict[str, tuple[int, int, float]] = {}
        for control_id, track in self.tracks.items():
            if rng.random() < track.regression_rate:
                start = block * _BLOCK + rng.randrange(0, 64 * 24) * HOUR
                episodes[control_id] = (start, start + rng.randrange(1, 21) * DAY, rng.uniform(0.3, 0.85))
        self._blocks[block] = episodes
        if len(self._blocks) > 8:
            self._blocks.popitem(last=False)
        return episodes

    def _tracks_for(self, services: frozenset[str]) -> list[tuple[Control, Track]]:
        found = self._period_tracks.get(services)
        if found is None:
            found = self._period_tracks[services] = [
                (c, self.tracks[c.id]) for c in applicable_controls(services)
            ]
        return found

    def scores_at(self, us: int) -> list[ControlScore]:
        """Measured state of every control applicable at `us`, in catalogue order."""
        block = us // _BLOCK
        current, previous = self._episodes(block), self._episodes(block - 1)
        episodes = {**previous, **current} if (current or previous) else None
        wobble = None
        results: list[ControlScore] = []
        append = results.append
        for control, track in self._tracks_for(self.services_at(us)):
            done = track.done_us
            total = track.total
            if track.binary:
                fraction = 1.0 if us >= done else 0.0
                if fraction and episodes is not None:
                    episode = episodes.get(control.id)
                    if episode is not None and episode[0] <= us < episode[1]:
                        fraction = 0.0
                count = 0
                natural = control.max_score * fraction
            else:
                if us < done:
                    fraction = track.f0
                elif done == _SINCE_EVER or us >= done + track.ramp_us:
                    fraction = track.f1
                else:
                    fraction = track.f0 + (track.f1 - track.f0) * (us - done) / track.ramp_us
                if episodes is not None and fraction > 0:
                    episode = episodes.get(control.id)
                    if episode is not None and episode[0] <= us < episode[1]:
                        fraction *= episode[2]
                if track.devices:
                    if wobble is None:
                        # One stream per tenant and instant: device fleets move daily (machines join,
                        # go stale, miss an update).
                        wobble = rng_for(0, self.key, "fleet", us).random
                    fraction = min(1.0, max(0.0, fraction + (wobble() - 0.5) * 0.06))
                if total:
                    count = round(fraction * total)
                    natural = round(control.max_score * count / total, 2)
                else:
                    count = 0
                    natural = 0.0
            if track.updates:
                state = state_at(track, us)
                score = control.max_score if state == "ThirdParty" else 0.0 if state == "Ignored" else natural
            else:
                state = "Default"
                score = natural
            applicable = total > 0 or not track.devices
            append(
                ControlScore(control, score if applicable else 0.0, fraction, count, total, state, applicable)
            )
        return results


def state_at(track: Track, us: int) -> str:
    """controlStateUpdates state in force at `us` ("Default" before any update)."""
    state = "Default"
    for update in track.updates:
        if update.at_us <= us:
            state = update.state
    return state


_POSTURES: OrderedDict[str, Posture] = OrderedDict()
_POSTURE_CACHE_SIZE = 1024


def posture_for(customer: Customer) -> Posture:
    """The tenant's Posture, from a bounded LRU (a Posture is a few tens of KB)."""
    found = _POSTURES.get(customer.tenant_id)
    if found is not None and found.customer is customer:
        _POSTURES.move_to_end(customer.tenant_id)
        return found
    found = _POSTURES[customer.tenant_id] = Posture(customer)
    if len(_POSTURES) > _POSTURE_CACHE_SIZE:
        _POSTURES.popitem(last=False)
    return found
