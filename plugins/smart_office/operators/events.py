"""Airflow glue for posture events: the rules before dbt, the delivery after the marts are published."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smart_office.operators.extraction import _as_of, _run_id, _SmartOfficeOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class LoadPostureRulesOperator(_SmartOfficeOperator):
    """Writes the rules file (SMART_OFFICE_EVENT_RULES_FILE) to ops.posture_rules for the dbt build.

    An invalid rules file fails the task for good, with one line naming the rule and field (`check-config`
    says the same before a deployment starts). Returns `{"rules": n, "file": path}`.
    """

    def work(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from smart_office.events.pipeline import load_posture_rules
        from smart_office.events.rules import RuleConfigError

        try:
            return load_posture_rules(self.settings(), loaded_at=_as_of(context))
        except RuleConfigError as error:
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
