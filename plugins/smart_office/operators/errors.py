"""Errors as Airflow sees them: one that only a human can fix fails the task for good (no retry mends a wrong
password, a missing certificate or an expired partner refresh token); a transient one is an ordinary
failure that Airflow retries (the warehouse or the identity service briefly away)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def as_airflow_error() -> Iterator[None]:
    """Re-raise configuration and auth errors as AirflowFailException (a human must act) or AirflowException
    (transient), with the one-line message and without the chain (which may carry connection parameters)."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from smart_office.auth.errors import AuthState
    from smart_office.auth.rotation import NoRefreshTokenError
    from smart_office.auth.stores import TokenStoreError
    from smart_office.extract.tenant import PartnerAuthFailure
    from smart_office.runtime import CredentialMissingError
    from smart_office.settings import SettingsError
    from smart_office.warehouse.connection import WarehouseError, is_configuration_error

    try:
        yield
    except WarehouseError as exc:
        if is_configuration_error(exc):
            raise AirflowFailException(str(exc)) from None
        raise AirflowException(str(exc)) from None
    except PartnerAuthFailure as failure:
        if failure.error.state is AuthState.TRANSIENT:
            raise AirflowException(str(failure)) from None
        raise AirflowFailException(str(failure)) from None
    except SettingsError as exc:
        raise AirflowFailException(str(exc)) from None
    except (CredentialMissingError, NoRefreshTokenError, TokenStoreError) as exc:
        raise AirflowFailException(f"configuration error: {exc}") from None
