"""Airflow glue for posture events: the rules before dbt, the delivery after the marts are published."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smart_office.operators.extraction import _as_of, _run_id, _SmartOfficeOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class LoadPostureRulesOperator(_SmartOfficeOperator):
    """Writes the rules file (SMART_OFFICE_EVENT_RULES_FILE) to ops.posture_rules for the dbt build.

    An invalid rules file does not fail the task, so the marts are still built: the rules in force are kept
    (none if no file was ever valid), the one-line reason (file, rule, field) is logged as an error and
    recorded in the run's summary, and `check_posture_rules` fails the run with it after the marts are
    published (`check-config` says the same before a deployment starts). Returns `{"rules": n, "file": path}`
    and, on a rejection, `"rejected": reason`.
    """

    def work(self, context: Context) -> dict[str, Any]:
        from smart_office.events.pipeline import load_posture_rules

        return load_posture_rules(self.settings(), loaded_at=_as_of(context), run_id=_run_id(context))


class CheckPostureRulesOperator(_SmartOfficeOperator):
    """Fails for good, with the one line `load_posture_rules` recorded, when this run's rules file was rejected.

    Runs after the marts are published (built with the rules in force before), so the rejection fails the run
    and notifies without having cost the marts.
    """

    def work(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from smart_office.events.pipeline import PostureRulesRejectedError, check_posture_rules

        try:
            return check_posture_rules(self.settings(), run_id=_run_id(context))
        except PostureRulesRejectedError as error:
            raise AirflowFailException(str(error)) from None


class DeliverPostureEventsOperator(_SmartOfficeOperator):
    """Sends the posture events' new and cleared notifications to the configured channels (events/delivery.py).

    Idempotent: what the delivery log in ops says was delivered is never sent again, so a retry sends only what
    failed. Returns counts per channel, never an address or URL.
    """

    def work(self, context: Context) -> dict[str, Any]:
        from smart_office.events.delivery import ChannelSettings, deliver_events

        return deliver_events(
            self.settings(), ChannelSettings.from_env(), run_id=_run_id(context), as_of=_as_of(context)
        )
