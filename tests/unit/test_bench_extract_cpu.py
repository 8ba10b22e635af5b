"""bench/extract_throughput.py's CPU accounting: per-part deltas, the emulator's share, and a process tree's CPU
including its children (the emulator and PostgreSQL run as trees of processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import extract_throughput  # noqa: E402


def test_cpu_per_part_is_the_difference_of_two_samples_and_none_where_unmeasured() -> None:
    before = {"emulator": 10.0, "postgres": None, "pipeline": 4.0, "wall": 100.0}
    after = {"emulator": 16.0, "postgres": None, "pipeline": 10.0, "wall": 130.0}
    spent = extract_throughput.cpu_delta(before, after)
    assert spent == {"emulator": 6.0, "postgres": None, "pipeline": 6.0, "wall": 30.0}
    report = extract_throughput.cpu_report("daily incremental", spent, peak_rss_mb=120)
    assert report["emulator_cpu_s"] == 6.0
    assert report["postgres_cpu_s"] is None
    assert report["emulator_cpu_share"] == 0.5  # of the CPU measured: 6 of 12
    assert report["emulator_busy"] == 0.2  # 6 s over 30 s of wall: a fifth of one core
    assert report["pipeline_peak_rss_mb"] == 120


def test_no_share_without_an_emulator_measurement() -> None:
    spent = {"emulator": None, "postgres": 1.0, "pipeline": 1.0, "wall": 5.0}
    report = extract_throughput.cpu_report("first run", spent)
    assert report["emulator_cpu_share"] is None
    assert report["emulator_busy"] is None


def test_a_process_trees_cpu_counts_the_children_it_has_reaped() -> None:
    # The child burns CPU and ends, reaped by the shell that stays: its time is the shell's to report.
    burn = "s=0\nfor i in range(3_000_000): s += i"
    shell = subprocess.Popen(
        ["/bin/sh", "-c", f'"{sys.executable}" -c "{burn}"; echo reaped; sleep 30'],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shell.stdout is not None
        assert shell.stdout.readline().strip() == "reaped"
        spent = extract_throughput._tree_cpu_seconds(shell.pid)
        assert spent is not None
        assert spent > 0.05  # the child's ~0.1 s, not the shell's own few ms
    finally:
        shell.kill()
        shell.wait()
    assert extract_throughput._tree_cpu_seconds(shell.pid) is None  # gone: not measured, not zero


def test_an_unknown_process_is_not_measured() -> None:
    assert extract_throughput._tree_cpu_seconds(None) is None
