"""The rules file: the shipped default is valid and covers every rule type; each mistake is one line naming the
rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from smart_office.events.rules import (
    DEFAULT_RULES_FILE,
    RULE_TYPES,
    RuleConfigError,
    load_rules,
    parse_rules,
    rule_rows,
    rules_file,
)

TENANT = "00000000-0000-4000-8000-000000000001"


def test_the_default_rules_file_is_valid_and_uses_every_rule_type() -> None:
    rules = load_rules(DEFAULT_RULES_FILE)
    assert {r.rule_type for r in rules} == set(RULE_TYPES)
    drop_week = next(r for r in rules if r.rule_id == "score-drop-week")
    assert (drop_week.threshold, drop_week.window_days, drop_week.severity) == (20.0, 7, "critical")
    backlog = next(r for r in rules if r.rule_id == "alert-backlog")
    assert backlog.alert_severities == ("high", "medium")


def test_rules_file_comes_from_the_setting() -> None:
    assert rules_file({}) == DEFAULT_RULES_FILE
    assert rules_file({"SMART_OFFICE_EVENT_RULES_FILE": "/etc/so/rules.yaml"}) == Path("/etc/so/rules.yaml")


def test_defaults_scope_and_disabled_rules() -> None:
    rules = parse_rules(
        {
            "rules": [
                {
                    "id": "a",
                    "type": "gdap_expiring",
                    "scope": {"tenants": [TENANT.upper()], "segments": ["contract_tier=gold"]},
                },
                {"id": "b", "type": "access_lost", "enabled": False},
            ]
        }
    )
    assert len(rules) == 1
    (rule,) = rules
    assert (rule.threshold, rule.severity, rule.tenant_ids, rule.segments) == (
        30.0,
        "warning",
        (TENANT,),
        ("contract_tier=gold",),
    )
    assert rule_rows(rules) == [
        ("a", "gdap_expiring", "warning", 30.0, None, None, [TENANT], ["contract_tier=gold"], [])
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"type": "access_lost"}, "rule #1: id: must be lowercase"),
        ({"id": "x", "type": "score"}, "rule 'x': type: must be one of secure_score_below"),
        ({"id": "x", "type": "secure_score_below"}, "rule 'x': below_pct: is required"),
        (
            {"id": "x", "type": "secure_score_below", "below_pct": 140},
            "rule 'x': below_pct: must be between 0 and 100",
        ),
        (
            {"id": "x", "type": "secure_score_below", "below_pct": "40"},
            "rule 'x': below_pct: must be a number",
        ),
        (
            {"id": "x", "type": "secure_score_drop", "points": 5, "days": 1.5},
            "rule 'x': days: must be a whole number",
        ),
        ({"id": "x", "type": "access_lost", "severity": "high"}, "rule 'x': severity: must be one of info"),
        (
            {"id": "x", "type": "access_lost", "below_pct": 3},
            "rule 'x': below_pct: not a field of a access_lost rule",
        ),
        (
            {"id": "x", "type": "new_alert", "alert_severities": ["urgent"]},
            "rule 'x': alert_severities: must be",
        ),
        (
            {"id": "x", "type": "access_lost", "scope": {"tenants": ["contoso"]}},
            "rule 'x': scope.tenants: 'contoso'",
        ),
        (
            {"id": "x", "type": "access_lost", "scope": {"tags": []}},
            "rule 'x': scope.tags: not a scope field",
        ),
        (
            {"id": "x", "type": "access_lost", "scope": {"segments": [""]}},
            "rule 'x': scope.segments: must be",
        ),
    ],
)
def test_each_mistake_is_one_line_naming_rule_and_field(rule: dict, message: str) -> None:
    with pytest.raises(RuleConfigError) as raised:
        parse_rules({"rules": [rule]}, source="rules.yaml")
    assert str(raised.value).startswith("rules.yaml: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_duplicate_ids_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RuleConfigError, match="rule 'a': id: used by another rule"):
        parse_rules({"rules": [{"id": "a", "type": "access_lost"}, {"id": "a", "type": "data_stale"}]})
    broken = tmp_path / "rules.yaml"
    broken.write_text("rules:\n  - id: a\n   type: [\n")
    with pytest.raises(RuleConfigError, match=r"rules.yaml: not valid YAML at line \d"):
        load_rules(broken)
    with pytest.raises(RuleConfigError, match="cannot be read"):
        load_rules(tmp_path / "missing.yaml")
    broken.write_text("- a\n")
    with pytest.raises(RuleConfigError, match="must be a mapping with a `rules` list"):
        load_rules(broken)
