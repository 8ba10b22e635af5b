"""Secure Score history: record shape, invariants, the 90-day window, stability as the clock moves, trends."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from emulator.data import clear_caches
from emulator.data.catalogue import CONTROL_BY_ID, applicable_controls
from emulator.data.portfolio import Portfolio
from emulator.data.posture import posture_for
from emulator.data.securescore import (
    HISTORY_DAYS,
    record_days,
    secure_score_record,
    secure_scores,
    secure_scores_json,
)
from emulator.data.timestamps import DAY, date_text, day_of, from_us, to_us

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=11, tenants=25, anchor=NOW)


@pytest.fixture(scope="module")
def histories(portfolio):
    return {c.tenant_id: secure_scores(c, NOW) for c in portfolio}


def test_records_are_shaped_like_graph_secure_scores(portfolio, histories):
    customer = portfolio.customer(0)
    record = histories[customer.tenant_id][0]
    assert list(record)[:11] == [
        "id",
        "azureTenantId",
        "activeUserCount",
        "createdDateTime",
        "currentScore",
        "enabledServices",
        "licensedUserCount",
        "maxScore",
        "vendorInformation",
        "averageComparativeScores",
        "controlScores",
    ]
    day = record["createdDateTime"][:10]
    assert record["id"] == f"{customer.tenant_id}_{day}"
    assert record["azureTenantId"] == customer.tenant_id
    assert record["licensedUserCount"] == customer.seats
    assert 0 <= record["activeUserCount"] <= customer.seats
    assert record["vendorInformation"] == {
        "provider": "SecureScore",
        "providerVersion": None,
        "subProvider": None,
        "vendor": "Microsoft",
    }
    assert set(record["enabledServices"]) >= {"HasExchange", "HasSharePoint"}
    entry = record["controlScores"][0]
    assert {
        "controlCategory",
        "controlName",
        "description",
        "score",
        "lastSynced",
        "scoreInPercentage",
    } <= set(entry)


def test_current_score_is_the_sum_and_max_score_the_applicable_maxima(histories):
    checked = 0
    for records in histories.values():
        for record in records:
            scores = record["controlScores"]
            names = [s["controlName"] for s in scores]
            assert len(names) == len(set(names))
            assert record["currentScore"] == pytest.approx(sum(s["score"] for s in scores), abs=1e-6)
            applicable = [s for s in scores if s.get("IsApplicable", "true") != "false"]
            assert record["maxScore"] == pytest.approx(
                sum(CONTROL_BY_ID[s["controlName"]].max_score for s in applicable)
            )
            for entry in scores:
                control = CONTROL_BY_ID[entry["controlName"]]
                assert not control.deprecated
                assert 0 <= entry["score"] <= control.max_score
                assert entry["controlCategory"] == control.category
                assert 0 <= entry["scoreInPercentage"] <= 100
                if entry.get("IsApplicable") == "false":
                    assert entry["score"] == 0
            checked += 1
    assert checked > 2000


def test_partial_controls_report_count_and_total_consistent_with_the_score(histories):
    seen = 0
    for records in histories.values():
        for entry in records[0]["controlScores"]:
            if "total" in entry and entry["total"] != "0" and entry.get("IsApplicable") != "false":
                count, total = int(entry["count"]), int(entry["total"])
                assert 0 <= count <= total
                seen += 1
            if "on" in entry:
                assert entry["on"] in {"true", "false"}
    assert seen > 50


def test_ninety_daily_records_newest_first_up_to_now(histories):
    for records in histories.values():
        created = [datetime.fromisoformat(r["createdDateTime"]) for r in records]
        assert created == sorted(created, reverse=True)
        assert created[0] <= NOW
        assert NOW - created[-1] < timedelta(days=HISTORY_DAYS)
        days = [r["createdDateTime"][:10] for r in records]
        assert len(days) == len(set(days))
        assert HISTORY_DAYS - 4 <= len(records) <= HISTORY_DAYS


def test_about_one_percent_of_days_are_missing():
    portfolio = Portfolio(seed=12, tenants=120, anchor=NOW)
    missing = sum(HISTORY_DAYS - len(record_days(c, NOW)) for c in portfolio)
    share = missing / (120 * HISTORY_DAYS)
    assert 0.003 <= share <= 0.02


def test_todays_record_appears_once_the_snapshot_time_has_passed(portfolio):
    customer = portfolio.customer(3)
    offset = posture_for(customer).snapshot_offset_us
    today = day_of(to_us(NOW))
    before = from_us(today * DAY + offset - 1)
    after = from_us(today * DAY + offset)
    assert date_text(today) not in {date_text(d) for d in record_days(customer, before)}
    if secure_score_record(customer, today) is not None:
        assert record_days(customer, after)[0] == today


def test_a_days_record_does_not_change_as_the_clock_advances(portfolio):
    for customer in list(portfolio)[:8]:
        early = {r["id"]: r for r in secure_scores(customer, NOW)}
        clear_caches()
        late = {r["id"]: r for r in secure_scores(customer, NOW + timedelta(days=30))}
        shared = set(early) & set(late)
        assert len(shared) >= HISTORY_DAYS - 35
        for record_id in shared:
            assert early[record_id] == late[record_id]


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    first = Portfolio(seed=5, tenants=6, anchor=NOW)
    payloads = [secure_scores_json(c, NOW) for c in first]
    clear_caches()
    again = [secure_scores_json(c, NOW) for c in Portfolio(seed=5, tenants=6, anchor=NOW)]
    other = [secure_scores_json(c, NOW) for c in Portfolio(seed=6, tenants=6, anchor=NOW)]
    assert payloads == again
    assert all(a != b for a, b in zip(payloads, other, strict=True))


def test_comparatives_are_percentages_by_basis_with_glitches_as_seen_in_the_wild():
    portfolio = Portfolio(seed=13, tenants=30, anchor=NOW)
    minus_one = missing_basis = 0
    for customer in portfolio:
        for record in secure_scores(customer, NOW):
            entries = record["averageComparativeScores"]
            bases = [e["basis"] for e in entries]
            assert len(bases) == len(set(bases))
            assert set(bases) <= {"AllTenants", "TotalSeats", "IndustryTypes"}
            assert bases[0] == "AllTenants"
            for entry in entries:
                assert entry["averageScore"] == -1 or 0 < entry["averageScore"] < 100
                if entry["basis"] == "TotalSeats":
                    assert (
                        int(entry["SeatSizeRangeLowerValue"])
                        <= customer.seats
                        <= int(entry["SeatSizeRangeUpperValue"])
                    )
            minus_one += any(e["averageScore"] == -1 for e in entries)
            missing_basis += len(entries) < 3
    assert minus_one > 0
    assert missing_basis > 0


def test_third_party_scores_full_points_and_ignored_scores_none():
    portfolio = Portfolio(seed=21, tenants=150, anchor=NOW)
    verified = {"ThirdParty": 0, "Ignored": 0}
    for customer in portfolio:
        posture = posture_for(customer)
        for control_id, track in posture.tracks.items():
            for index, update in enumerate(track.updates):
                if update.state not in verified:
                    continue
                day = day_of(update.at_us) + 1
                snapshot = day * DAY + posture.snapshot_offset_us
                reverted = index + 1 < len(track.updates) and track.updates[index + 1].at_us <= snapshot
                if reverted or control_id not in {c.id for c in _applicable(posture, snapshot)}:
                    continue
                record = secure_score_record(customer, day)
                if record is None:
                    continue
                entry = next(s for s in record["controlScores"] if s["controlName"] == control_id)
                if entry.get("IsApplicable") == "false":
                    continue
                expected = CONTROL_BY_ID[control_id].max_score if update.state == "ThirdParty" else 0.0
                assert entry["score"] == expected
                verified[update.state] += 1
    assert verified["ThirdParty"] > 0
    assert verified["Ignored"] > 0


def _applicable(posture, snapshot_us):
    return [s.control for s in posture.scores_at(snapshot_us)]


def test_a_licence_upgrade_raises_max_score_and_lowers_the_percentage():
    portfolio = Portfolio(seed=31, tenants=400, anchor=NOW)
    upgraded = [
        c
        for c in portfolio
        if c.plan_changed_at is not None
        and NOW - timedelta(days=80) < c.plan_changed_at < NOW - timedelta(days=2)
        # Business Basic -> Standard only adds desktop apps, which no control scores.
        and applicable_controls(frozenset(c.services_at(c.plan_changed_at - timedelta(days=1))))
        != applicable_controls(frozenset(c.services))
    ]
    assert len(upgraded) >= 5
    drops = 0
    for customer in upgraded:
        change_day = day_of(to_us(customer.plan_changed_at))
        before = secure_score_record(customer, change_day - 1) or secure_score_record(
            customer, change_day - 2
        )
        after = secure_score_record(customer, change_day + 1) or secure_score_record(customer, change_day + 2)
        assert after["maxScore"] > before["maxScore"]
        drops += after["currentScore"] / after["maxScore"] < before["currentScore"] / before["maxScore"]
    assert drops >= 0.7 * len(upgraded)


def test_portfolio_median_is_mid_range_and_improves_slowly():
    portfolio = Portfolio(seed=41, tenants=150, anchor=NOW)
    latest, oldest = [], []
    for customer in portfolio:
        days = record_days(customer, NOW)
        newest, first = secure_score_record(customer, days[0]), secure_score_record(customer, days[-1])
        latest.append(newest["currentScore"] / newest["maxScore"])
        oldest.append(first["currentScore"] / first["maxScore"])
    assert 0.40 <= statistics.median(latest) <= 0.62
    assert statistics.median(latest) > statistics.median(oldest)
    assert statistics.median(latest) - statistics.median(oldest) < 0.08


def test_scores_move_over_time_within_a_tenant(histories):
    changing = sum(len({r["currentScore"] for r in records}) > 1 for records in histories.values())
    assert changing >= len(histories) * 0.8


def test_secure_scores_json_is_the_same_list_as_bytes(portfolio):
    customer = portfolio.customer(1)
    assert orjson.loads(secure_scores_json(customer, NOW)) == secure_scores(customer, NOW)
