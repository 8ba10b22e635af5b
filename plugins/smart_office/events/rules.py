"""Posture alert rules: the rules file (YAML), validated, and the rows dbt reads from `ops.posture_rules`.

The file is configuration (its path: SMART_OFFICE_EVENT_RULES_FILE; default: `default_rules.yaml` beside this
module). Every problem is one line naming the rule and the field. The format: docs/events.md.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RULES_FILE_ENV = "SMART_OFFICE_EVENT_RULES_FILE"
DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yaml")
SEVERITIES = ("info", "warning", "critical")
ALERT_SEVERITIES = ("informational", "low", "medium", "high")
_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# A segment as customer segments name it (docs/segments.md): `attribute=value`, e.g. `service_model=managed`.
_SEGMENT = re.compile(r"^[a-z][a-z0-9_]{0,39}=\S(.{0,98}\S)?$")


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a rule type: its YAML name, the ops.posture_rules column it fills, its bounds."""

    name: str
    column: str
    minimum: float
    maximum: float
    default: float | None = None
    integer: bool = False


# Rule types and their parameters. Their SQL lives in dbt (int_posture_conditions_evaluated); what each means:
# docs/events.md.
RULE_TYPES: dict[str, tuple[Parameter, ...]] = {
    "secure_score_below": (Parameter("below_pct", "threshold", 0, 100),),
    "secure_score_drop": (
        Parameter("points", "threshold", 0.01, 10_000),
        Parameter("days", "window_days", 1, 90, default=1, integer=True),
    ),
    "control_regressed": (Parameter("within_days", "window_days", 1, 90, default=7, integer=True),),
    "new_alert": (Parameter("within_hours", "threshold", 1, 24 * 30, default=24),),
    "new_incident": (Parameter("within_hours", "threshold", 1, 24 * 30, default=24),),
    "alert_backlog": (Parameter("older_than_hours", "threshold", 1, 24 * 365),),
    "access_lost": (),
    "gdap_expiring": (Parameter("within_days", "threshold", 1, 365, default=30),),
    "data_stale": (Parameter("after_hours", "threshold", 1, 24 * 90, default=36),),
}
# Rule types that read Defender severities (`alert_severities`, default high only).
_WITH_ALERT_SEVERITIES = {"new_alert", "new_incident", "alert_backlog"}
_COMMON_FIELDS = {"id", "type", "severity", "enabled", "description", "scope", "alert_severities"}


class RuleConfigError(ValueError):
    """The rules file is wrong; one line naming the file, the rule and the field."""


@dataclass(frozen=True, slots=True)
class PostureRule:
    """One rule, as `ops.posture_rules` holds it."""

    rule_id: str
    rule_type: str
    severity: str
    threshold: float | None
    window_days: int | None
    alert_severities: tuple[str, ...] | None
    tenant_ids: tuple[str, ...] | None
    segments: tuple[str, ...] | None
    excluded_tenant_ids: tuple[str, ...]


def rules_file(env: Mapping[str, str] | None = None) -> Path:
    """The rules file in use: SMART_OFFICE_EVENT_RULES_FILE, else the documented default."""
    env = os.environ if env is None else env
    configured = env.get(RULES_FILE_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_RULES_FILE


def load_rules(path: Path) -> list[PostureRule]:
    """Read and validate a rules file; raises RuleConfigError (one line) on the first problem."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleConfigError(
            f"rules file {path}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RuleConfigError(f"rules file {path}: not valid YAML{where}") from None
    return parse_rules(document, source=f"rules file {path}")


def parse_rules(document: Any, *, source: str = "rules file") -> list[PostureRule]:
    """Validate a parsed rules document (`{"rules": [...]}`); disabled rules are left out."""
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise RuleConfigError(f"{source}: must be a mapping with a `rules` list")
    unknown = set(document) - {"version", "rules"}
    if unknown:
        raise RuleConfigError(f"{source}: unknown top-level field {sorted(unknown)[0]!r}")
    rules: list[PostureRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(document["rules"]):
        rule = _parse_rule(entry, index, source)
        if rule is None:
            continue
        if rule.rule_id in seen:
            raise RuleConfigError(f"{source}: rule {rule.rule_id!r}: id: used by another rule")
        seen.add(rule.rule_id)
        rules.append(rule)
    return rules


def _parse_rule(entry: Any, index: int, source: str) -> PostureRule | None:
    if not isinstance(entry, Mapping):
        raise RuleConfigError(f"{source}: rule #{index + 1}: must be a mapping")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise RuleConfigError(
            f"{source}: rule #{index + 1}: id: must be lowercase letters, digits, '-' or '_' (at most 63)"
        )

    def fail(field: str, problem: str) -> RuleConfigError:
        return RuleConfigError(f"{source}: rule {rule_id!r}: {field}: {problem}")

    rule_type = entry.get("type")
    if rule_type not in RULE_TYPES:
        raise fail("type", f"must be one of {', '.join(RULE_TYPES)}")
    parameters = RULE_TYPES[rule_type]
    allowed = _COMMON_FIELDS | {p.name for p in parameters}
    for field in entry:
        if field not in allowed:
            raise fail(str(field), f"not a field of a {rule_type} rule")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "must be true or false")
    severity = entry.get("severity", "warning")
    if severity not in SEVERITIES:
        raise fail("severity", f"must be one of {', '.join(SEVERITIES)}")
    if "description" in entry and not isinstance(entry["description"], str):
        raise fail("description", "must be text")

    columns: dict[str, float | int | None] = {"threshold": None, "window_days": None}
    for parameter in parameters:
        value = entry.get(parameter.name, parameter.default)
        if value is None:
            raise fail(parameter.name, "is required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(parameter.name, "must be a number")
        if parameter.integer and value != int(value):
            raise fail(parameter.name, "must be a whole number")
        if not parameter.minimum <= value <= parameter.maximum:
            raise fail(parameter.name, f"must be between {parameter.minimum:g} and {parameter.maximum:g}")
        columns[parameter.column] = int(value) if parameter.integer else float(value)

    alert_severities: tuple[str, ...] | None = None
    if rule_type in _WITH_ALERT_SEVERITIES:
        raw = entry.get("alert_severities", ["high"])
        if not isinstance(raw, list) or not raw or any(s not in ALERT_SEVERITIES for s in raw):
            raise fail("alert_severities", f"must be a non-empty list of {', '.join(ALERT_SEVERITIES)}")
        alert_severities = tuple(dict.fromkeys(raw))
    elif "alert_severities" in entry:
        raise fail("alert_severities", f"not a field of a {rule_type} rule")

    tenants, segments, excluded = _parse_scope(entry.get("scope"), fail)
    if not enabled:
        return None
    return PostureRule(
        rule_id=rule_id,
        rule_type=rule_type,
        severity=severity,
        threshold=columns["threshold"],
        window_days=columns["window_days"],  # type: ignore[arg-type]
        alert_severities=alert_severities,
        tenant_ids=tenants,
        segments=segments,
        excluded_tenant_ids=excluded,
    )


def _parse_scope(
    scope: Any, fail: Any
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None, tuple[str, ...]]:
    """(tenants, segments, excluded): None for tenants and segments means every customer."""
    if scope is None:
        return None, None, ()
    if not isinstance(scope, Mapping):
        raise fail("scope", "must be a mapping of tenants, segments, exclude_tenants")
    for field in scope:
        if field not in {"tenants", "segments", "exclude_tenants"}:
            raise fail(f"scope.{field}", "not a scope field (tenants, segments, exclude_tenants)")

    def tenant_list(field: str) -> tuple[str, ...] | None:
        values = scope.get(field)
        if values is None:
            return None
        if not isinstance(values, list):
            raise fail(f"scope.{field}", "must be a list of tenant ids")
        out = []
        for value in values:
            try:
                out.append(str(uuid.UUID(str(value))))
            except ValueError:
                raise fail(f"scope.{field}", f"{str(value)[:60]!r} is not a tenant id (a GUID)") from None
        return tuple(out)

    segments = scope.get("segments")
    if segments is not None and (
        not isinstance(segments, list)
        or any(not isinstance(s, str) or not _SEGMENT.match(s.strip()) for s in segments)
    ):
        raise fail(
            "scope.segments", "must be a list of segments as attribute=value (e.g. service_model=managed)"
        )
    # Both given: a customer matches either (listed, or in a segment).
    tenants = tenant_list("tenants")
    return (
        tenants,
        tuple(s.strip() for s in segments) if segments is not None else None,
        tenant_list("exclude_tenants") or (),
    )


def rule_rows(rules: Sequence[PostureRule]) -> list[tuple[Any, ...]]:
    """The rows of ops.posture_rules, in its column order (without loaded_at)."""
    return [
        (
            r.rule_id,
            r.rule_type,
            r.severity,
            r.threshold,
            r.window_days,
            list(r.alert_severities) if r.alert_severities is not None else None,
            list(r.tenant_ids) if r.tenant_ids is not None else None,
            list(r.segments) if r.segments is not None else None,
            list(r.excluded_tenant_ids),
        )
        for r in rules
    ]
