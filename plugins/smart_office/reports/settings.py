"""The scheduled reports' settings (declared, with the others, in smart_office.settings.ENVIRONMENT)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from smart_office.notifications import _EMAIL
from smart_office.reports.period import KINDS
from smart_office.segments.attributes import InvalidAttributeError, check_key
from smart_office.settings import SettingsError

REPORTS_DIR_ENV = "SMART_OFFICE_REPORTS_DIR"
REPORTS_EMAILS_ENV = "SMART_OFFICE_REPORTS_EMAILS"
REPORTS_PERIOD_ENV = "SMART_OFFICE_REPORTS_PERIOD"
REPORTS_SCHEDULE_ENV = "SMART_OFFICE_REPORTS_SCHEDULE"
REPORT_SEGMENT_BY_ENV = "SMART_OFFICE_REPORT_SEGMENT_BY"
# The customer's size band, derived from its licences when the partner set none: most customers have one, and it
# is the peer group of Microsoft's similar-size comparative.
DEFAULT_SEGMENT_KEY = "seat_band"
NO_SEGMENT = "none"
DEFAULT_SCHEDULE = (
    "0 6 2 * *"  # 06:00 UTC on the 2nd: the month's last Secure Score day has landed and is built
)


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """Where the monthly run writes every customer's report, whom it e-mails them to, and which period."""

    location: str
    emails: tuple[str, ...]
    period: str = "month"
    segment_key: str | None = DEFAULT_SEGMENT_KEY

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReportSettings:
        """Every problem at once, each named by its variable (SettingsError)."""
        env = os.environ if env is None else env
        problems = []
        location = env.get(REPORTS_DIR_ENV, "").strip()
        if not location:
            problems.append(
                f"{REPORTS_DIR_ENV} is not set: give the folder or object-store URL (s3://conn@bucket/path) "
                "the reports are written to"
            )
        emails = tuple(e.strip() for e in env.get(REPORTS_EMAILS_ENV, "").split(",") if e.strip())
        problems += [
            f"{REPORTS_EMAILS_ENV} holds {email!r}, which is not an e-mail address"
            for email in emails
            if not _EMAIL.match(email)
        ]
        period = env.get(REPORTS_PERIOD_ENV, "").strip().lower() or "month"
        if period not in KINDS:
            problems.append(f"{REPORTS_PERIOD_ENV} must be month or quarter, not {period!r}")
        segment_key: str | None = None
        try:
            segment_key = segment_key_from_env(env)
        except SettingsError as exc:
            problems += exc.messages
        if problems:
            raise SettingsError(*problems)
        return cls(location=location, emails=emails, period=period, segment_key=segment_key)


def parse_segment_key(text: str | None, origin: str = REPORT_SEGMENT_BY_ENV) -> str | None:
    """The segment key a report compares the customer within (an attribute name); None for an empty one or
    `none`: no segment comparison (`none` because docker compose turns an empty value into the default).
    SettingsError, named by `origin`, for a name no attribute can have."""
    if text is None or not text.strip() or text.strip().lower() == NO_SEGMENT:
        return None
    try:
        return check_key(text)
    except InvalidAttributeError as exc:
        raise SettingsError(f"{origin} is not a segment key: {exc}") from None


def segment_key_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """SMART_OFFICE_REPORT_SEGMENT_BY: unset is seat_band, set but empty (or `none`) is no segment comparison."""
    env = os.environ if env is None else env
    raw = env.get(REPORT_SEGMENT_BY_ENV)
    return DEFAULT_SEGMENT_KEY if raw is None else parse_segment_key(raw)
