"""Current-era Secure Score controls (2020s), read from `secure-score-controls-current.csv`.

One row per control; sources and estimates are described in README.md (and per row in `notes`). Lists
(`requires`, `threats`) are comma-separated. `status` is a binary control's implementationStatus when it is in
place and `status_not_in_place` the other one; a measured control (users, admins, devices, policy) has one
template in `status` with `{count}`, `{total}`, `{missing}`, `{pct}` placeholders and no `status_not_in_place`.
`%tenantid%`, `%tenantdomain%` and `%initialdomainshort%` in action URLs are filled in per tenant.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from pathlib import Path

from emulator.data.catalogue.model import (
    ACTION_TYPES,
    CATEGORIES,
    LEVELS,
    MEASURES,
    SERVICES,
    STATUS_PLACEHOLDERS,
    TIERS,
    URL_PLACEHOLDERS,
    Control,
)
from emulator.data.rows import Row, csv_rows

CSV_CURRENT = Path(__file__).with_name("secure-score-controls-current.csv")
COLUMNS = (
    "id",
    "title",
    "category",
    "service",
    "max_score",
    "rank",
    "tier",
    "action_type",
    "user_impact",
    "implementation_cost",
    "requires",
    "measure",
    "threats",
    "action_url",
    "description",
    "remediation",
    "remediation_impact",
    "baseline",
    "ease",
    "status",
    "status_not_in_place",
    "notes",
)


def load_current_controls(path: Path, licence_flags: Collection[str]) -> tuple[Control, ...]:
    """Every row of `path` as a Control, in file order; CatalogueError names the first bad row and field."""
    controls: list[Control] = []
    seen: set[str] = set()
    for row in csv_rows(path, COLUMNS):
        control = _control(row, licence_flags)
        if control.id in seen:
            raise row.error("id", f"{control.id!r} is listed twice")
        seen.add(control.id)
        controls.append(control)
    return tuple(controls)


def _control(row: Row, licence_flags: Collection[str]) -> Control:
    control_id = row.text("id")
    if not re.fullmatch(r"[A-Za-z0-9_]+", control_id):
        raise row.error("id", f"{control_id!r} is not an identifier (letters, digits, underscores)")
    row.named(control_id)
    measure = row.choice("measure", MEASURES)
    requires = row.items("requires")
    for flag in requires:
        if flag not in licence_flags:
            raise row.error(
                "requires", f"{flag!r} is not a licence flag of any plan ({sorted(licence_flags)})"
            )
    return Control(
        id=control_id,
        title=row.text("title"),
        category=row.choice("category", CATEGORIES),
        service=row.choice("service", SERVICES),
        max_score=_positive(row, "max_score"),
        rank=row.integer("rank", low=1),
        tier=row.choice("tier", TIERS, casefold=True),
        action_type=row.choice("action_type", ACTION_TYPES),
        user_impact=row.choice("user_impact", LEVELS, casefold=True) if row.has("user_impact") else None,
        implementation_cost=(
            row.choice("implementation_cost", LEVELS, casefold=True)
            if row.has("implementation_cost")
            else None
        ),
        threats=row.items("threats"),
        action_url=_action_url(row),
        description=row.text("description"),
        remediation=row.text("remediation"),
        remediation_impact=row.text("remediation_impact"),
        requires=frozenset(requires),
        measure=measure,
        deprecated=False,
        era="current",
        baseline=row.number("baseline", low=0.0, high=1.0),
        ease=row.number("ease", low=0.0, high=1.0),
        status=_status(row, measure),
    )


def _positive(row: Row, field: str) -> float:
    value = row.number(field, low=0.0)
    if value == 0:
        raise row.error(field, "must be above 0")
    return value


def _action_url(row: Row) -> str:
    url = row.text("action_url")
    if not url.startswith("https://") or any(c.isspace() for c in url):
        raise row.error("action_url", f"{url!r} is not an https URL")
    for name in re.findall(r"%(\w+)%", url):
        if name not in URL_PLACEHOLDERS:
            raise row.error("action_url", f"unknown placeholder %{name}% (known: {list(URL_PLACEHOLDERS)})")
    return url


def _status(row: Row, measure: str) -> tuple[str, ...]:
    """(in place, not in place) for a binary control; (template,) for a measured one."""
    first = row.text("status")
    second = row.optional_text("status_not_in_place")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(first) if name is not None}
    except ValueError as error:
        raise row.error("status", f"not a valid template: {error}") from None
    if measure == "binary":
        if second is None:
            raise row.error("status_not_in_place", "a binary control needs the text for 'not in place'")
        if fields:
            raise row.error("status", "a binary control's status has no placeholders")
        return (first, second)
    if second is not None:
        raise row.error("status_not_in_place", f"a {measure} control has one status template, not two")
    unknown = fields - set(STATUS_PLACEHOLDERS)
    if unknown:
        raise row.error(
            "status", f"unknown placeholder {{{sorted(unknown)[0]}}} (known: {list(STATUS_PLACEHOLDERS)})"
        )
    return (first,)
