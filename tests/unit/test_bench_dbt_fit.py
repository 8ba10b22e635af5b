"""bench/dbt_build.py's scaling curve: the linear and power-law fits, the extrapolated table, the figures file
and the comma-separated sizes. The benchmark itself (a year of emulated history) never runs here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import dbt_build  # noqa: E402
from scaling_fit import curve, fit_linear, fit_power, render  # noqa: E402


def test_a_straight_line_is_found_exactly() -> None:
    line = fit_linear([100, 200, 500], [4.0 + 0.01 * n for n in (100, 200, 500)])
    assert line.intercept == pytest.approx(4.0)
    assert line.slope == pytest.approx(0.01)
    assert line.at(10_000) == pytest.approx(104.0)


def test_a_power_law_is_found_exactly() -> None:
    power = fit_power([100, 200, 500], [0.5 * n**0.8 for n in (100, 200, 500)])
    assert power.coefficient == pytest.approx(0.5)
    assert power.exponent == pytest.approx(0.8)
    assert power.at(10_000) == pytest.approx(0.5 * 10_000**0.8)


def test_noisy_figures_get_the_least_squares_line() -> None:
    # Residuals +1, -2, +1 around y = x / 10: their sum and their correlation with x are zero.
    line = fit_linear([100, 200, 300], [11.0, 18.0, 31.0])
    assert line.slope == pytest.approx(0.1)
    assert line.intercept == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("xs", "ys"),
    [([100], [1.0]), ([100, 100], [1.0, 2.0]), ([100, 200], [1.0])],
)
def test_a_fit_needs_two_sizes_and_a_time_for_each(xs: list[int], ys: list[float]) -> None:
    with pytest.raises(ValueError, match="size"):
        fit_linear(xs, ys)


def test_a_power_law_needs_positive_times() -> None:
    with pytest.raises(ValueError, match="positive"):
        fit_power([100, 200], [0.0, 1.0])


def test_the_curve_shows_measured_sizes_and_the_extrapolated_ones() -> None:
    measured = {100: 10.0, 200: 20.0}
    _, _, rows = curve(measured, [1_000, 10_000])
    assert [n for n, *_ in rows] == [100, 200, 1_000, 10_000]
    assert rows[0][1] == 10.0
    assert rows[-1][1] is None
    assert rows[-1][2] == pytest.approx(1_000.0)  # linear
    assert rows[-1][3] == pytest.approx(1_000.0)  # power law, exponent 1
    table = render("full", measured, [10_000])
    assert "linear 0.00 s + 100.000 s per 1,000 tenants" in table
    assert "tenants^1.00" in table
    assert "10,000" in table.splitlines()[-1]


def test_figures_are_read_back_and_the_last_line_of_a_size_wins(tmp_path: Path) -> None:
    path = tmp_path / "figures.jsonl"
    lines = [
        {"tenants": 100, "dbt_full_build_s": 9.0, "dbt_incremental_build_s": 5.0},
        {"tenants": 200, "dbt_full_build_s": 14.0, "dbt_incremental_build_s": 6.0},
        {"tenants": 100, "dbt_full_build_s": 10.0, "dbt_incremental_build_s": 5.5},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    assert dbt_build.read_results(path) == {"full": {100: 10.0, 200: 14.0}, "daily": {100: 5.5, 200: 6.0}}


def test_a_fit_refuses_figures_from_different_histories(tmp_path: Path) -> None:
    path = tmp_path / "figures.jsonl"
    lines = [
        {
            "tenants": 1000,
            "dbt_full_build_s": 700.0,
            "dbt_incremental_build_s": 50.0,
        },  # a year, before the keys
        {
            "tenants": 10000,
            "days": 90,
            "alert_days": 7,
            "dbt_full_build_s": 900.0,
            "dbt_incremental_build_s": 99.0,
        },
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with pytest.raises(SystemExit, match="different histories"):
        dbt_build.read_results(path)
    path.write_text(
        json.dumps(lines[0]) + "\n" + json.dumps({**lines[0], "tenants": 2000, "days": 365}) + "\n"
    )
    assert dbt_build.read_results(path)["daily"] == {1000: 50.0, 2000: 50.0}


def test_fit_prints_both_builds_at_ten_thousand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dbt_build.print_fit({"full": {100: 10.0, 200: 20.0}, "daily": {100: 5.0, 200: 6.0}}, 10_000)
    out = capsys.readouterr().out
    assert "dbt build --full-refresh: linear" in out
    assert "dbt build, the next day: linear" in out
    assert out.count("10,000") == 2


def test_sizes_are_a_sorted_comma_separated_list() -> None:
    assert dbt_build._sizes_arg("500,100,200") == [100, 200, 500]
    assert dbt_build._sizes_arg("1000") == [1000]
    with pytest.raises(argparse.ArgumentTypeError):
        dbt_build._sizes_arg("100,many")
    with pytest.raises(argparse.ArgumentTypeError):
        dbt_build._sizes_arg("0")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--daily-only"], "--daily-only needs --resume"),
        (["--resume", "--state-dir", "s", "--daily-only", "--results", "f"], "cannot add to --results"),
    ],
)
def test_daily_only_needs_a_built_warehouse_and_records_no_fit(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["dbt_build.py", *argv])
    with pytest.raises(SystemExit):
        dbt_build.main()
    assert message in capsys.readouterr().err
