from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.tokens import BearerError, SigningKey, TokenService, bearer_from_header

TENANT = "11111111-2222-4333-8444-555555555555"
AUD = frozenset({"https://graph.microsoft.com"})


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> TokenService:
    return TokenService(SigningKey.load_or_create(tmp_path_factory.mktemp("keys")))


def _claims(**overrides) -> dict:
    return {
        "aud": "https://graph.microsoft.com",
        "iss": f"https://sts.windows.net/{TENANT}/",
        "tid": TENANT,
        "nbf": 1_000,
        "iat": 1_000,
        "exp": 5_000,
        **overrides,
    }


def test_a_minted_token_validates_and_is_verifiable_with_the_jwks(service) -> None:
    token = service.mint(_claims())
    assert service.validate(token, audiences=AUD, now=2_000)["tid"] == TENANT
    key = jwt.PyJWKSet.from_dict(service.jwks()).keys[0]
    assert jwt.get_unverified_header(token)["kid"] == key.key_id
    assert (
        jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience="https://graph.microsoft.com",
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )["exp"]
        == 5_000
    )


@pytest.mark.parametrize(
    ("claims", "now", "reason"),
    [
        (_claims(aud="https://api.partnercenter.microsoft.com"), 2_000, "audience"),
        (_claims(), 5_000 + 301, "expired"),
        (_claims(), 1_000 - 301, "not_yet_valid"),
        (_claims(iss="https://sts.windows.net/other/"), 2_000, "issuer"),
    ],
)
def test_invalid_tokens_are_refused_with_a_reason(service, claims, now, reason) -> None:
    with pytest.raises(BearerError) as err:
        service.validate(service.mint(claims), audiences=AUD, now=now)
    assert err.value.reason == reason


def test_five_minutes_of_skew_are_tolerated(service) -> None:
    assert service.validate(service.mint(_claims()), audiences=AUD, now=5_300)


def test_foreign_signatures_and_garbage_are_refused(service) -> None:
    forged = jwt.encode(
        _claims(), rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256"
    )
    for token, reason in ((forged, "signature"), ("a.b", "malformed"), ("", "empty"), ("x.y.z", "malformed")):
        with pytest.raises(BearerError) as err:
            service.validate(token, audiences=AUD, now=2_000)
        assert err.value.reason == reason
        assert token not in err.value.message or not token


def test_the_key_survives_a_restart(tmp_path) -> None:
    first = TokenService(SigningKey.load_or_create(tmp_path))
    token = first.mint(_claims())
    second = TokenService(SigningKey.load_or_create(tmp_path))
    assert second.validate(token, audiences=AUD, now=2_000)["tid"] == TENANT


def test_validation_is_cached_per_token(service) -> None:
    token = service.mint(_claims())
    assert service.claims(token) is service.claims(token)
    assert service.peek_tenant(token) == TENANT
    assert service.peek_tenant("junk") is None


@pytest.mark.parametrize(
    ("value", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", ""), (None, ""), ("Bearer", "")],
)
def test_bearer_header_parsing(value, token) -> None:
    assert bearer_from_header(value) == token
