"""Reading docker-compose.yaml the way Docker Compose does: YAML with anchors and merge keys, then
`${VAR}` interpolation from an environment (.env). Shared by the compose tests and the distributed run."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error},
# ${NAME:+alt}, ${NAME+alt}, $NAME — the Compose Specification's interpolation forms.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    """A required variable (`${NAME:?message}`) is missing."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments and blank lines skipped)."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: not KEY=VALUE: {line!r}")
        env[key.strip()] = value.strip()
    return env


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Substitute variables in one string as Compose does."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["bare"]:
            return env.get(match["bare"], "")
        name, op, arg = match["braced"], match["op"], match["arg"] or ""
        value = env.get(name)
        unset_or_empty = not value
        if op is None:
            return value or ""
        if op in {":-", "-"}:
            return arg if (unset_or_empty if op == ":-" else value is None) else value  # type: ignore[return-value]
        if op in {":?", "?"}:
            if unset_or_empty if op == ":?" else value is None:
                raise InterpolationError(f"{name}: {arg or 'required'}")
            return value or ""
        # :+ / +: the alternative when set
        return arg if not (unset_or_empty if op == ":+" else value is None) else ""

    return _INTERPOLATION.sub(replace, text)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def load_raw(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file with anchors and merge keys resolved, variables not yet substituted."""
    return yaml.safe_load(path.read_text())


def load(env: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as Compose sees it with this environment."""
    return interpolate_tree(load_raw(path), env)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


def variables_used(path: Path = COMPOSE_FILE) -> set[str]:
    """Every variable the compose file interpolates (in values; comments do not count)."""
    names = set()
    for text in _strings(load_raw(path)):
        for match in _INTERPOLATION.finditer(text):
            name = match["braced"] or match["bare"]
            if name:
                names.add(name)
    return names


def required_variables(path: Path = COMPOSE_FILE) -> set[str]:
    """Variables written `${NAME:?...}`: compose refuses to start without them."""
    return {
        match["braced"]
        for text in _strings(load_raw(path))
        for match in _INTERPOLATION.finditer(text)
        if match["op"] in {":?", "?"}
    }


def airflow_environment(path: Path = COMPOSE_FILE) -> dict[str, str]:
    """The uninterpolated `x-airflow-common-env` block: the settings every Airflow component shares."""
    return dict(load_raw(path)["x-airflow-common-env"])


def merged_anchors(path: Path = COMPOSE_FILE) -> dict[str, set[str]]:
    """For each service, the top-level `x-*` blocks it merges (`<<: *anchor`), followed transitively.

    Read from the YAML node graph, where an alias is the very node its anchor names, so this sees what
    the file says rather than values that merely look alike.
    """
    root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    top = {key.value: value for key, value in root.value}
    extensions = {id(node): name for name, node in top.items() if name.startswith("x-")}

    def merges(node: yaml.Node) -> set[str]:
        found: set[str] = set()
        if not isinstance(node, yaml.MappingNode):
            return found
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                for target in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    if id(target) in extensions:
                        found.add(extensions[id(target)])
                    found |= merges(target)
        return found

    services = {key.value: value for key, value in top["services"].value}
    return {name: merges(node) for name, node in services.items()}
