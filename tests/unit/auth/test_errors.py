"""AADSTS classification: codes first, then suberror, then the OAuth error class."""

from __future__ import annotations

import pytest

from smart_office.auth.errors import (
    AuthState,
    ConsentRequiredError,
    GdapMissingError,
    classify,
    error_from_response,
)


def _body(code: int | None, error: str = "invalid_grant", suberror: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "error": error,
        "error_description": f"AADSTS{code}: something.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: x",
        "error_codes": [code] if code else [],
    }
    if suberror:
        body["suberror"] = suberror
    return body


@pytest.mark.parametrize(
    ("code", "error", "suberror", "expected"),
    [
        (700082, "invalid_grant", None, AuthState.REFRESH_TOKEN_EXPIRED),
        (65001, "invalid_grant", "consent_required", AuthState.CONSENT_REQUIRED),
        (50076, "invalid_grant", None, AuthState.MFA_REQUIRED),
        (53003, "invalid_grant", None, AuthState.CONDITIONAL_ACCESS_BLOCKED),
        (530034, "invalid_grant", None, AuthState.PARTNER_BLOCKED),
        (7000215, "invalid_client", None, AuthState.INVALID_CLIENT),
        # Client credentials at a tenant whose admin never consented: invalid_client, yet that tenant's consent.
        (7000229, "invalid_client", None, AuthState.CONSENT_REQUIRED),
        (700016, "unauthorized_client", None, AuthState.APP_NOT_FOUND),
        (90002, "invalid_tenant", None, AuthState.TENANT_NOT_FOUND),
        (50020, "invalid_grant", None, AuthState.GDAP_MISSING),
        # Unknown code: fall back to suberror, then the OAuth error class.
        (99999, "invalid_grant", "consent_required", AuthState.CONSENT_REQUIRED),
        (99999, "invalid_grant", "basic_action", AuthState.MFA_REQUIRED),
        (None, "temporarily_unavailable", None, AuthState.TRANSIENT),
        (99999, "invalid_grant", None, AuthState.UNKNOWN),
    ],
)
def test_classify(code: int | None, error: str, suberror: str | None, expected: AuthState) -> None:
    state, primary = classify(_body(code, error, suberror))
    assert state is expected
    assert primary == code


def test_typed_error_carries_tenant_code_and_remediation_but_no_token() -> None:
    body = _body(65001, suberror="consent_required")
    body["error_description"] = "AADSTS65001: no consent. Bearer abcdefabcdefabcdef0123 leaked"
    err = error_from_response(body, tenant_id="tenant-1")
    assert isinstance(err, ConsentRequiredError)
    assert (err.state, err.tenant_id, err.code) == (AuthState.CONSENT_REQUIRED, "tenant-1", 65001)
    assert "consent" in err.remediation.lower()
    assert "abcdefabcdefabcdef0123" not in err.detail
    assert "AADSTS65001" in str(err)
    assert not err.is_partner_level


def test_partner_level_states() -> None:
    assert error_from_response(_body(700082), tenant_id="p").is_partner_level
    assert error_from_response(_body(7000215, "invalid_client"), tenant_id="p").is_partner_level
    assert isinstance(error_from_response(_body(50020), tenant_id="c"), GdapMissingError)
    assert not error_from_response(_body(50020), tenant_id="c").is_partner_level
