"""Errors only a human can fix fail the task at once; transient ones are left to Airflow's retries."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from smart_office.auth.errors import AuthState, RefreshTokenExpiredError, TransientAuthError
from smart_office.extract.tenant import PartnerAuthFailure
from smart_office.operators.extraction import fail_fast_on_human_errors
from smart_office.settings import SettingsError


def test_an_expired_refresh_token_is_not_retried() -> None:
    error = RefreshTokenExpiredError(AuthState.REFRESH_TOKEN_EXPIRED, tenant_id="partner", code=700082)
    expected = r"refresh_token_expired \(AADSTS700082\).*consent"
    with pytest.raises(AirflowFailException, match=expected), fail_fast_on_human_errors():
        raise PartnerAuthFailure(error)


def test_a_transient_identity_failure_is_left_to_the_retries() -> None:
    error = TransientAuthError(AuthState.TRANSIENT, tenant_id="partner", detail="HTTP Error: 503")
    with pytest.raises(PartnerAuthFailure) as caught, fail_fast_on_human_errors():
        raise PartnerAuthFailure(error)
    assert not isinstance(caught.value, AirflowFailException)


def test_a_bad_setting_is_not_retried() -> None:
    expected = "configuration error: SMART_OFFICE_SHARD_SIZE"
    with pytest.raises(AirflowFailException, match=expected), fail_fast_on_human_errors():
        raise SettingsError("SMART_OFFICE_SHARD_SIZE must be an integer, got 'abc'")


def test_other_errors_pass_through() -> None:
    with pytest.raises(RuntimeError, match="boom"), fail_fast_on_human_errors():
        raise RuntimeError("boom")
