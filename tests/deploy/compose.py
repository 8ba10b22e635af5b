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
# ${NAME:+alt}, ${NAME+alt}, $NAME — the Compose Specification's interpolation forms; a default, error or
# alternative may itself interpolate (`${A:-${B}}`), and is only evaluated when it is used.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?", re.DOTALL)


def _closing_brace(text: str, start: int) -> int:
    """The index of the `}` that closes the `${` whose body starts at `start`."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unclosed ${{ in {text!r}")


def _references(text: str) -> Iterator[tuple[str, str | None]]:
    """(name, operator) of every variable `text` refers to, nested ones included."""
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            match = _BRACED.fullmatch(text[i + 2 : end])
            if match:
                yield match["name"], match["op"]
                yield from _references(match["arg"] or "")
            i = end + 1
        elif text[i] == "$" and (bare := _NAME.match(text, i + 1)):
            yield bare.group(), None
            i = bare.end()
        else:
            i += 1


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
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            out.append(_substitute(text[i + 2 : end], env))
            i = end + 1
        elif text[i] == "$" and (bare := _NAME.match(text, i + 1)):
            out.append(env.get(bare.group(), ""))
            i = bare.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _substitute(body: str, env: Mapping[str, str]) -> str:
    match = _BRACED.fullmatch(body)
    if match is None:
        raise ValueError(f"not an interpolation: ${{{body}}}")
    name, op, arg = match["name"], match["op"], match["arg"] or ""
    value = env.get(name)
    unset_or_empty = not value
    if op is None:
        return value or ""
    missing = unset_or_empty if op.startswith(":") else value is None
    if op in {":-", "-"}:
        return interpolate(arg, env) if missing else value  # type: ignore[return-value]
    if op in {":?", "?"}:
        if missing:
            raise InterpolationError(f"{name}: {interpolate(arg, env) or 'required'}")
        return value or ""
    # :+ / +: the alternative when set
    return "" if missing else interpolate(arg, env)


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
    return {name for text in _strings(load_raw(path)) for name, _ in _references(text)}


def required_variables(path: Path = COMPOSE_FILE) -> set[str]:
    """Variables written `${NAME:?...}`: compose refuses to start without them."""
    return {name for text in _strings(load_raw(path)) for name, op in _references(text) if op in {":?", "?"}}


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
