"""What each Defender product raises: alert templates per serviceSource, with the mix we draw from.

The catalogue is data, `alert-catalogue.json` beside this module; this module reads it and checks every record
(required fields, types, odds, vocabularies, and that every source, tactic and recommended-actions text a template
names exists), failing at import with a `CatalogueError` that names the file, the record and the field.

A template fixes what an analyst sees as the alert "type": title, category (MITRE tactic names as Defender
writes them), techniques, severity odds, detection sources, description, recommended actions, the kinds of
evidence it carries and what a true-positive resolution is called. Texts are written for this project in the
style of the products; titles follow the products' own alert names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from emulator.data.rows import CatalogueError, Row, json_document, json_records

JSON_ALERTS = Path(__file__).with_name("alert-catalogue.json")
SEVERITIES = ("informational", "low", "medium", "high")
SCOPES = ("device", "user", "mail", "cloud")  # drives incident names
# Kinds of evidence the generator can build (emulator.data.evidence.BUILDERS; a test keeps the two equal).
EVIDENCE_KINDS = (
    "analyzedMessage",
    "azureResource",
    "cloudApplication",
    "device",
    "file",
    "ip",
    "mailbox",
    "oauthApplication",
    "process",
    "registryKey",
    "registryValue",
    "securityGroup",
    "url",
    "user",
)
# alertDetermination members that resolve a true positive.
TRUE_POSITIVE_DETERMINATIONS = (
    "apt",
    "malware",
    "phishing",
    "compromisedAccount",
    "maliciousUserActivity",
    "multiStagedAttack",
    "unwantedSoftware",
)
_IDENTIFIER = re.compile(r"[a-z][A-Za-z0-9]*")
_TECHNIQUE = re.compile(r"T\d{4}(?:\.\d{3})?")
_TEMPLATE_REQUIRED = (
    "source",
    "title",
    "category",
    "mitre",
    "severity_weights",
    "detection_sources",
    "description",
    "recommended_actions",
    "evidence",
    "tp_determination",
)
_TEMPLATE_OPTIONAL = ("weight", "auto_resolve", "threats", "scope", "policy")


class AlertSource(NamedTuple):
    """A serviceSource: its productName, alert id prefix (Defender XDR's) and relative share of alerts."""

    product_name: str
    id_prefix: str
    share: float


@dataclass(frozen=True, slots=True)
class AlertTemplate:
    """One kind of alert a product raises."""

    source: str
    title: str
    category: str
    mitre: tuple[str, ...]
    severity_weights: tuple[float, float, float, float]  # informational, low, medium, high
    detection_sources: tuple[tuple[str, float], ...]
    description: str
    recommended: str
    evidence: tuple[str, ...]
    tp_determination: str
    weight: float = 1.0
    auto_resolve: float = 0.0  # share closed by automated investigation / the product itself
    threats: tuple[tuple[str, str], ...] = ()  # (threatDisplayName, threatFamilyName) options
    scope: str = "user"  # "device", "user", "mail", "cloud": drives incident names
    policy: bool = False  # carries an alertPolicyId


@dataclass(frozen=True, slots=True)
class AlertCatalogue:
    """Everything `alert-catalogue.json` says, checked."""

    sources: dict[str, AlertSource]
    chains: dict[str, tuple[str, ...]]
    tactics: dict[str, str]
    templates: tuple[AlertTemplate, ...]


def load_alert_catalogue(path: Path = JSON_ALERTS) -> AlertCatalogue:
    """Read and check the alert catalogue; CatalogueError names the first bad record and field."""
    document = json_document(path)
    top = Row(path.name, "document", document, typed=True)
    top.expect_fields(("sources", "tactics", "recommended_actions", "templates"), ("about",))
    sources, chains = _sources(path, top)
    tactics = _texts(top, "tactics")
    actions = _actions(top)
    templates: list[AlertTemplate] = []
    seen: set[str] = set()
    for row in json_records(path, "templates", document["templates"]):
        template = _template(row, sources, tactics, actions)
        if template.title in seen:
            raise row.error("title", f"{template.title!r} is listed twice")
        seen.add(template.title)
        templates.append(template)
    for source in sources:
        if not any(t.source == source for t in templates):
            raise top.error("sources", f"{source!r} has no template")
    return AlertCatalogue(sources, chains, tactics, tuple(templates))


def _sources(path: Path, top: Row) -> tuple[dict[str, AlertSource], dict[str, tuple[str, ...]]]:
    raw = top.mapping("sources")
    sources: dict[str, AlertSource] = {}
    chains: dict[str, tuple[str, ...]] = {}
    prefixes: dict[str, str] = {}
    for name, values in raw.items():
        if not _IDENTIFIER.fullmatch(name):
            raise top.error("sources", f"{name!r} is not a serviceSource name")
        if not isinstance(values, dict):
            raise top.error("sources", f"{name!r}: expected an object")
        row = Row(path.name, f"sources.{name}", values, typed=True)
        row.expect_fields(("product_name", "id_prefix", "share", "chains_with"))
        prefix = row.text("id_prefix")
        if not re.fullmatch(r"[a-z]{2}", prefix):
            raise row.error("id_prefix", f"{prefix!r} is not two lowercase letters")
        if prefix in prefixes:
            raise row.error("id_prefix", f"{prefix!r} is also {prefixes[prefix]}'s")
        prefixes[prefix] = name
        share = row.number("share", low=0.0, high=1.0)
        if share == 0:
            raise row.error("share", "must be above 0")
        sources[name] = AlertSource(row.text("product_name"), prefix, share)
        chains[name] = row.items("chains_with")
    for name, partners in chains.items():
        for partner in partners:
            if partner not in sources or partner == name:
                raise Row(path.name, f"sources.{name}", raw[name], typed=True).error(
                    "chains_with", f"{partner!r} is not another source of this file"
                )
    return sources, chains


def _texts(top: Row, field: str) -> dict[str, str]:
    raw = top.mapping(field)
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            raise top.error(field, f"{key!r}: expected non-blank text")
    return dict(raw)


def _actions(top: Row) -> dict[str, str]:
    """Recommended-actions texts, written as lists of lines."""
    actions: dict[str, str] = {}
    for key, lines in top.mapping("recommended_actions").items():
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise top.error("recommended_actions", f"{key!r}: expected a list of lines")
        text = "\n".join(lines)
        if not text.strip():
            raise top.error("recommended_actions", f"{key!r}: must not be blank")
        actions[key] = text
    return actions


def _template(
    row: Row, sources: dict[str, AlertSource], tactics: dict[str, str], actions: dict[str, str]
) -> AlertTemplate:
    row.expect_fields(_TEMPLATE_REQUIRED, _TEMPLATE_OPTIONAL)
    title = row.text("title")
    row.named(title)
    source = row.choice("source", tuple(sources))
    mitre = row.items("mitre")
    for technique in mitre:
        if not _TECHNIQUE.fullmatch(technique):
            raise row.error("mitre", f"{technique!r} is not a MITRE ATT&CK technique id (T1234 or T1234.001)")
    severity = _odds(row, "severity_weights", fixed_keys=SEVERITIES)
    evidence = row.items("evidence")
    for kind in evidence:
        if kind not in EVIDENCE_KINDS:
            raise row.error("evidence", f"{kind!r} is not one of {sorted(EVIDENCE_KINDS)}")
    action_key = row.choice("recommended_actions", tuple(actions))
    weight = row.number("weight", low=0.0) if row.has("weight") else 1.0
    if weight == 0:
        raise row.error("weight", "must be above 0")
    return AlertTemplate(
        source=source,
        title=title,
        category=row.choice("category", tuple(tactics)),
        mitre=mitre,
        severity_weights=(severity[0][1], severity[1][1], severity[2][1], severity[3][1]),
        detection_sources=_odds(row, "detection_sources"),
        description=row.text("description"),
        recommended=actions[action_key],
        evidence=evidence,
        tp_determination=row.choice("tp_determination", TRUE_POSITIVE_DETERMINATIONS),
        weight=weight,
        auto_resolve=row.number("auto_resolve", low=0.0, high=1.0) if row.has("auto_resolve") else 0.0,
        threats=_threats(row),
        scope=row.choice("scope", SCOPES) if row.has("scope") else "user",
        policy=row.flag("policy") if row.has("policy") else False,
    )


def _odds(row: Row, field: str, fixed_keys: tuple[str, ...] = ()) -> tuple[tuple[str, float], ...]:
    """name → probability, in the order written (draws walk it in that order); the odds sum to 1."""
    raw = row.mapping(field)
    if fixed_keys and tuple(raw) != fixed_keys:
        raise row.error(field, f"expected exactly {list(fixed_keys)} in that order, found {list(raw)}")
    pairs: list[tuple[str, float]] = []
    for name, value in raw.items():
        if not fixed_keys and not _IDENTIFIER.fullmatch(name):
            raise row.error(field, f"{name!r} is not an enum member name")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise row.error(field, f"{name!r}: expected a probability from 0 to 1, found {value!r}")
        pairs.append((name, float(value)))
    if not pairs or not math.isclose(sum(p for _, p in pairs), 1.0, abs_tol=1e-9):
        raise row.error(field, f"the odds sum to {sum(p for _, p in pairs)!r}, not 1")
    return tuple(pairs)


def _threats(row: Row) -> tuple[tuple[str, str], ...]:
    if not row.has("threats"):
        return ()
    raw: Any = row.values["threats"]
    if not isinstance(raw, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p.strip() for p in pair)
        for pair in raw
    ):
        raise row.error("threats", "expected a list of [threatDisplayName, threatFamilyName] pairs")
    return tuple((display, family) for display, family in raw)


CATALOGUE = load_alert_catalogue()
SOURCES: dict[str, AlertSource] = CATALOGUE.sources
TEMPLATES: tuple[AlertTemplate, ...] = CATALOGUE.templates
TEMPLATES_BY_SOURCE: dict[str, tuple[int, ...]] = {
    source: tuple(i for i, t in enumerate(TEMPLATES) if t.source == source) for source in SOURCES
}
# Alerts from these sources often share an incident with alerts from the listed ones (attack chains).
CHAINS: dict[str, tuple[str, ...]] = CATALOGUE.chains
TACTIC_NAMES: dict[str, str] = CATALOGUE.tactics

__all__ = [
    "CHAINS",
    "EVIDENCE_KINDS",
    "JSON_ALERTS",
    "SEVERITIES",
    "SOURCES",
    "TACTIC_NAMES",
    "TEMPLATES",
    "TEMPLATES_BY_SOURCE",
    "AlertCatalogue",
    "AlertSource",
    "AlertTemplate",
    "CatalogueError",
    "load_alert_catalogue",
]
