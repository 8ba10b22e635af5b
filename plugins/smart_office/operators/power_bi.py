"""The optional `refresh_power_bi` task: the provider's `PowerBIDatasetRefreshOperator`, with one-line failures.

Authentication, the base URL and TLS trust are the provider's own, from the Airflow connection (type `powerbi`):
login = client id, password = client secret (or `certificate_path`/`certificate_data` in the extra), extra
`tenant_id`; for another host the extra's `base_url` (e.g. `https://api.powerbi.com/v1.0`), `authority` (the
identity host), `disable_instance_discovery` and `verify` (a CA bundle path), and `allowed_hosts` (the hosts
the token may be sent to). Nothing here knows which host that is.

What this subclass adds, and why:
- every failure is one line naming the semantic model and workspace — never the token, the secret or a
  traceback of the HTTP client — so the failure notifiers and the task log say what to fix;
- a refresh Power BI reports `Failed` or `Disabled` fails the task for good (AirflowFailException): Airflow's
  retry would only start another refresh that fails the same way; an error reaching Power BI (5xx, network,
  a trigger that could not start the refresh) is an ordinary failure that Airflow retries;
- the provider's trigger lets an error raised while *starting* the refresh (401, 404) escape as a trigger
  failure with a traceback; `RefreshTrigger` turns it into the same error event the provider yields for
  failures while polling, so it reaches `handle_refresh` and becomes one line too;
- the provider caches its HTTP client per connection id for the whole process, bound to the event loop that
  built it. A triggerer keeps one loop, but `airflow dags test` (the demo, the tests) runs each deferral in a
  fresh `asyncio.run`, so the second deferral (the wait) failed with "Event loop is closed". `RefreshTrigger`
  drops a cached client that another loop built before it starts; in a triggerer it is reused as before.

This module imports the provider (msgraph-core, kiota, azure-identity): the DAG file imports it only when the
refresh is configured.
"""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.microsoft.azure.hooks.msgraph import KiotaRequestAdapterHook
from airflow.providers.microsoft.azure.operators.powerbi import PowerBIDatasetRefreshOperator
from airflow.providers.microsoft.azure.triggers.powerbi import PowerBITrigger
from airflow.triggers.base import TriggerEvent

from smart_office.power_bi import PowerBIRefreshConfig
from smart_office.redaction import redact_text

if TYPE_CHECKING:
    from airflow.sdk import Context

TASK_ID = "refresh_power_bi"
_FAILURE_STATUSES = {"Failed", "Disabled", "Cancelled"}
_ERROR_JSON = re.compile(r"Error: (\{.*\})\s*$", re.DOTALL)
_MAX_DETAIL = 300


class PowerBIRefreshError(Exception):
    """A Power BI refresh that did not complete; the message is one line naming the model, never a token."""


# conn_id -> the event loop whose run last used the provider's cached client for it.
_ADAPTER_LOOPS: dict[str, weakref.ref[asyncio.AbstractEventLoop]] = {}


def _drop_adapter_of_another_loop(conn_id: str) -> None:
    """Forget the provider's cached client for `conn_id` when an event loop other than this one built it."""
    loop = asyncio.get_running_loop()
    previous = _ADAPTER_LOOPS.get(conn_id)
    if previous is not None and previous() is not loop:
        KiotaRequestAdapterHook.cached_request_adapters.pop(conn_id, None)
    _ADAPTER_LOOPS[conn_id] = weakref.ref(loop)


class RefreshTrigger(PowerBITrigger):
    """`PowerBITrigger` whose start-up errors become error events instead of trigger failures, and which
    never uses an HTTP client built on another event loop (see the module docstring)."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        _drop_adapter_of_another_loop(self.conn_id)
        try:
            async for event in super().run():
                yield event
        except Exception as error:
            yield TriggerEvent(
                {
                    "status": "error",
                    "dataset_refresh_status": None,
                    "message": f"{type(error).__name__}: {error}",
                    "dataset_refresh_id": self.dataset_refresh_id,
                }
            )


def one_line(text: object) -> str:
    """Collapse whitespace, drop anything shaped like a token, and bound the length."""
    flat = " ".join(redact_text(str(text)).split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 1] + "…"


def failure_detail(event: dict[str, Any]) -> str:
    """What went wrong, from a trigger event: Power BI's error code when it gave one, else the message."""
    message = str(event.get("message") or "")
    found = _ERROR_JSON.search(message)
    if found:
        try:
            error = json.loads(found.group(1))
        except ValueError:
            error = None
        if isinstance(error, dict) and error.get("errorCode"):
            return one_line(error["errorCode"])
    return one_line(message or "no detail")


class PowerBIRefreshOperator(PowerBIDatasetRefreshOperator):
    """Refresh a Power BI semantic model and wait for it (the provider's operator; see the module docstring).

    :param dataset_id: the semantic model (dataset) id.
    :param group_id: the workspace id.
    :param conn_id: the Airflow connection of type `powerbi`.
    :param timeout: seconds to wait for the refresh (also each HTTP request's limit, as in the provider).
    :param check_interval: seconds between polls of the refresh history.
    """

    def defer(self, *, trigger: Any, method_name: str, **kwargs: Any) -> Any:
        # The provider builds its own PowerBITrigger; serve it through the subclass (same state and
        # serialisation, a classpath in this module) so start-up errors come back as events.
        if type(trigger) is PowerBITrigger:
            trigger.__class__ = RefreshTrigger
        return super().defer(trigger=trigger, method_name=method_name, **kwargs)

    def execute(self, context: Context) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        config = PowerBIRefreshConfig(
            dataset_id=self.dataset_id,
            group_id=self.group_id,
            conn_id=self.conn_id,
            check_interval_seconds=self.check_interval,
            timeout_minutes=max(1, int(self.timeout // 60)),
        )
        problems = config.problems()
        if problems:
            # A setting only a human can correct: say which, before asking Power BI anything.
            raise AirflowFailException("; ".join(f"{name} {message}" for name, message in problems))
        self.log.info("Starting the %s", self._what())
        super().execute(context)

    def _what(self) -> str:
        return f"Power BI refresh of semantic model {self.dataset_id} (workspace {self.group_id})"

    def handle_refresh(self, context: Context, event: dict[str, str] | None) -> None:
        if event and event.get("status") == "error":
            self._fail(event, started=False)
        return super().handle_refresh(context, event)

    def execute_complete(self, context: Context, event: dict[str, str]) -> None:
        if event and event.get("status") == "error":
            self._fail(event, started=True)
        super().execute_complete(context, event)
        self.log.info("%s completed", self._what())

    def _fail(self, event: dict[str, Any], *, started: bool) -> None:
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        status = event.get("dataset_refresh_status")
        if status in _FAILURE_STATUSES:
            # Power BI ran the refresh and it failed: retrying starts another refresh that fails alike.
            raise AirflowFailException(f"{self._what()} ended {status}: {failure_detail(event)}") from None
        verb = "did not finish" if started else "could not start"
        raise AirflowException(f"{self._what()} {verb}: {failure_detail(event)}") from None


def power_bi_refresh_task(config: PowerBIRefreshConfig, **kwargs: Any) -> PowerBIRefreshOperator:
    """The DAG's `refresh_power_bi` task for `config` (downstream of the published marts)."""
    return PowerBIRefreshOperator(
        task_id=kwargs.pop("task_id", TASK_ID),
        dataset_id=config.dataset_id,
        group_id=config.group_id,
        conn_id=config.conn_id,
        timeout=config.timeout_minutes * 60,
        check_interval=config.check_interval_seconds,
        # A refresh that Power BI failed is not retried (see _fail); one retry for a service that was away.
        retries=1,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=config.timeout_minutes + 15),
        **kwargs,
    )
