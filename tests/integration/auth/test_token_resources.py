"""`smart-office token` against the emulator over HTTPS: aliases and URIs reach Entra as `/.default` scopes,
and a refused resource is one line with Microsoft's reason, not "an unrecognised error"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.partner import seeded_partner_env

CLI = str(Path(sys.executable).parent / "smart-office")


def _token(env: dict[str, str], tenant: str, resource: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "token", "--tenant", tenant, "--resource", resource],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_aliases_and_uris_become_default_scopes(
    emulator: EmulatorHandle, warehouse_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, **seeded_partner_env(emulator, warehouse_url, tmp_path)}
    partner = emulator.partner_tenant_id
    for resource, audience in [
        ("graph", "https://graph.microsoft.com"),
        ("partnercenter", "https://api.partnercenter.microsoft.com"),
    ]:
        result = _token(env, partner, resource)
        assert result.returncode == 0, result.stderr
        assert jwt_claims(result.stdout.strip())["aud"].rstrip("/") == audience

    # The trailing slash no longer hides the /.default: Entra knows the resource (the app has no consent to it).
    management = _token(env, partner, "https://management.azure.com/")
    assert management.returncode == 1
    assert management.stderr.startswith(
        f"error: no token for https://management.azure.com/.default in tenant {partner}: consent_required "
        "(AADSTS65001) — "
    )

    refused = _token(env, partner, "api://no-such-resource-anywhere")
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert line.startswith(
        f"error: no token for api://no-such-resource-anywhere/.default in tenant {partner}: unknown "
        "(AADSTS500011) — The resource principal named api://no-such-resource-anywhere was not found"
    ), line
    assert line.endswith("(https://login.microsoftonline.com/error?code=500011)")
