from __future__ import annotations

import pytest

from emulator.identity.errors import AadError
from emulator.identity.issuer import Issuer
from emulator.identity.resources import GRAPH, KEY_VAULT, PARTNER_CENTER
from tests.support.emulator import make_context


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Issuer:
    return Issuer(make_context(tmp_path_factory.mktemp("issuer")))


@pytest.mark.parametrize(
    ("scope", "resource", "identifier", "values", "default"),
    [
        (
            "https://graph.microsoft.com/.default offline_access openid",
            GRAPH,
            "https://graph.microsoft.com",
            (),
            True,
        ),
        ("User.Read profile", GRAPH, "https://graph.microsoft.com", ("User.Read",), False),
        (
            "00000003-0000-0000-c000-000000000000/.default",
            GRAPH,
            "00000003-0000-0000-c000-000000000000",
            (),
            True,
        ),
        (
            "https://api.partnercenter.microsoft.com/user_impersonation https://graph.microsoft.com/User.Read",
            PARTNER_CENTER,
            "https://api.partnercenter.microsoft.com",
            ("user_impersonation",),
            False,
        ),
        (
            "https://graph.microsoft.com/securityalert.read.all",
            GRAPH,
            "https://graph.microsoft.com",
            ("SecurityAlert.Read.All",),
            False,
        ),
        ("openid offline_access", GRAPH, "https://graph.microsoft.com", (), True),
    ],
)
def test_scopes_name_one_resource_and_its_permissions(
    issuer, scope, resource, identifier, values, default
) -> None:
    parsed = issuer.parse_scopes(scope)
    assert (parsed.resource, parsed.identifier, parsed.values, parsed.default) == (
        resource,
        identifier,
        values,
        default,
    )


def test_the_vaults_challenge_resource_is_key_vault(issuer) -> None:
    parsed = issuer.parse_scopes(f"{issuer.ctx.endpoints.key_vault_resource}/.default")
    assert parsed.resource is KEY_VAULT
    assert parsed.identifier == issuer.ctx.endpoints.key_vault_resource


@pytest.mark.parametrize(
    ("scope", "code"),
    [
        ("https://unknown.example.com/.default", 500011),
        ("https://graph.microsoft.com/No.Such.Permission", 70011),
        ("https://graph.microsoft.com/.default https://graph.microsoft.com/User.Read", 70011),
    ],
)
def test_bad_scopes_are_aadsts_errors(issuer, scope, code) -> None:
    with pytest.raises(AadError) as err:
        issuer.parse_scopes(scope)
    assert err.value.code == code
