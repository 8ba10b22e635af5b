"""Warehouse errors as Airflow sees them: a configuration error fails the task for good (no retry can fix a
wrong password or a missing certificate), a transient one is an ordinary failure that Airflow retries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def as_airflow_error() -> Iterator[None]:
    """Re-raise warehouse and settings errors as AirflowFailException (configuration) or AirflowException
    (transient), with the one-line message and without the chain (which may carry connection parameters)."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    from smart_office.settings import SettingsError
    from smart_office.warehouse.connection import WarehouseError, is_configuration_error

    try:
        yield
    except WarehouseError as exc:
        if is_configuration_error(exc):
            raise AirflowFailException(str(exc)) from None
        raise AirflowException(str(exc)) from None
    except SettingsError as exc:
        raise AirflowFailException(str(exc)) from None
