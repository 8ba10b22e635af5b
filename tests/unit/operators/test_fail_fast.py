"""Errors only a human can fix fail the task at once; transient ones are left to Airflow's retries."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from smart_office.auth.errors import AuthState, RefreshTokenExpiredError, TransientAuthError
from smart_office.extract.tenant import PartnerAuthFailure
from smart_office.operators.errors import as_airflow_error
from smart_office.settings import SettingsError


def test_an_expired_refresh_token_is_not_retried() -> None:
    error = RefreshTokenExpiredError(AuthState.REFRESH_TOKEN_EXPIRED, tenant_id="partner", code=700082)
    expected = r"refresh_token_expired \(AADSTS700082\).*consent"
    with pytest.raises(AirflowFailException, match=expected), as_airflow_error():
        raise PartnerAuthFailure(error)


def test_a_transient_identity_failure_is_left_to_the_retries() -> None:
    error = TransientAuthError(AuthState.TRANSIENT, tenant_id="partner", detail="HTTP Error: 503")
    with pytest.raises(AirflowException, match="transient") as caught, as_airflow_error():
        raise PartnerAuthFailure(error)
    assert not isinstance(caught.value, AirflowFailException)


def test_a_bad_setting_is_not_retried() -> None:
    expected = "SMART_OFFICE_SHARD_SIZE must be an integer"
    with pytest.raises(AirflowFailException, match=expected), as_airflow_error():
        raise SettingsError("SMART_OFFICE_SHARD_SIZE must be an integer, got 'abc'")


def test_a_missing_refresh_token_is_not_retried() -> None:
    from smart_office.auth.rotation import NoRefreshTokenError

    expected = "configuration error: no partner refresh token"
    with pytest.raises(AirflowFailException, match=expected), as_airflow_error():
        raise NoRefreshTokenError("no partner refresh token in the store; run `smart-office consent`")


def test_other_errors_pass_through() -> None:
    with pytest.raises(RuntimeError, match="boom"), as_airflow_error():
        raise RuntimeError("boom")
