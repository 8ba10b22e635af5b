"""The directory's route table (emulator/graph/directory/routes.json): what it routes, and how a bad record fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emulator.data.rows import CatalogueError
from emulator.graph.directory import ROUTE_TABLE, load_route_table

APP_READ = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
)
APP_WRITE = ("Application.ReadWrite.All", "Directory.AccessAsUser.All")


def test_every_address_is_routed_once_with_its_name():
    routed = [(r.method, p, r.name) for r in load_route_table() for p in r.paths]
    assert sorted(routed) == sorted(
        [
            ("GET", "/applications", "applications"),
            ("POST", "/applications", "applications.create"),
            ("GET", "/applications(appId='{app_id}')", "applications.get"),
            ("GET", "/applications/{id}", "applications.get"),
            ("PATCH", "/applications(appId='{app_id}')", "applications.update"),
            ("PATCH", "/applications/{id}", "applications.update"),
            ("DELETE", "/applications(appId='{app_id}')", "applications.delete"),
            ("DELETE", "/applications/{id}", "applications.delete"),
            ("POST", "/applications/{id}/addPassword", "applications.addPassword"),
            ("POST", "/applications/{id}/removePassword", "applications.removePassword"),
            ("GET", "/servicePrincipals", "servicePrincipals"),
            ("POST", "/servicePrincipals", "servicePrincipals.create"),
            ("GET", "/servicePrincipals(appId='{app_id}')", "servicePrincipals.get"),
            ("GET", "/servicePrincipals/{id}", "servicePrincipals.get"),
            ("GET", "/groups", "groups"),
            ("GET", "/groups/{id}", "groups.get"),
            ("GET", "/groups/{id}/members", "groups.members"),
            ("POST", "/groups/{id}/members/$ref", "groups.members.add"),
            ("DELETE", "/groups/{id}/members/{member_id}/$ref", "groups.members.remove"),
            ("GET", "/directoryObjects/{id}", "directoryObjects.get"),
            ("GET", "/organization", "organization"),
            ("GET", "/me", "me"),
        ]
    )


def test_permissions_follow_graphs_reference():
    by_name = {r.name: r for r in load_route_table()}
    assert by_name["applications"].permissions == APP_READ
    assert by_name["applications"].app_permissions is None  # the same set for application tokens
    assert by_name["applications.update"].permissions == APP_WRITE
    assert by_name["applications.update"].app_permissions == ("Application.ReadWrite.All",)
    assert by_name["organization"].app_permissions == ("Organization.Read.All", "Directory.Read.All")
    assert by_name["me"].delegated_only
    assert by_name["me"].permissions == ()


def _table(tmp_path: Path, edit) -> Path:
    document: dict[str, Any] = json.loads(ROUTE_TABLE.read_text(encoding="utf-8"))
    edit(document)
    target = tmp_path / ROUTE_TABLE.name
    target.write_text(json.dumps(document), encoding="utf-8")
    return target


def _route(index: int, **changes: Any):
    def edit(document):
        document["routes"][index].update(changes)

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_route(0, handler="applications.list_apps"), r"routes\[0\], id 'applications', field 'handler': 'applications.list_apps' is not an async function of emulator.graph.directory.applications"),
        (_route(0, handler="applications.new_secret"), r"field 'handler': 'applications.new_secret' is not an async function"),
        (_route(0, handler="users_and_groups.me"), r"field 'handler': no module 'users_and_groups' in emulator.graph.directory"),
        (_route(0, permissions="application_admin"), r"field 'permissions': 'application_admin' is not one of"),
        (_route(0, method="FETCH"), r"field 'method': 'FETCH' is not one of"),
        (_route(1, method="GET"), r"routes\[1\], id 'applications.create', field 'paths': GET /applications is already routed"),
        (_route(0, paths=[]), r"field 'paths': a route needs at least one path"),
        (_route(0, paths=["applications"]), r"field 'paths': 'applications' is not a Graph path"),
        (_route(0, verb="GET"), r"routes\[0\], field 'verb': not a field of this catalogue"),
        (_route(17, app_permissions="application_read"), r"id 'me', field 'app_permissions': application roles need delegated permissions too"),
        (lambda d: d["permissions"].update(application_read=["Application Read"]), r"document, field 'permissions': 'application_read': 'Application Read' is not a permission name"),
    ],
)  # fmt: skip
def test_a_bad_record_is_refused_naming_it_and_its_field(tmp_path, edit, message):
    with pytest.raises(CatalogueError, match=rf"^routes\.json, .*{message}"):
        load_route_table(_table(tmp_path, edit))
