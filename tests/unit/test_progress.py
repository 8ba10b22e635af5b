"""Progress bars for long steps (`smart-office run`, the demo, the benchmarks): drawn on a terminal, silent
into a pipe or a log."""

from __future__ import annotations

import io

from rich.console import Console

from smart_office.summary import track


def test_a_terminal_sees_the_bar_and_every_item_passes_through() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    assert list(track(range(3), console, "extracting shard", 3)) == [0, 1, 2]
    assert "extracting shard" in out.getvalue()
    assert "3/3" in out.getvalue()


def test_a_pipe_sees_nothing() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    assert list(track(range(3), console, "extracting shard", 3)) == [0, 1, 2]
    assert out.getvalue() == ""


def test_a_step_of_unknown_length_shows_no_count() -> None:
    from smart_office.summary import progress

    out = io.StringIO()
    with progress(Console(file=out, force_terminal=True, width=80)) as bar:
        bar.add_task("emulator: starting", total=None)
    assert "emulator: starting" in out.getvalue()
    assert "/?" not in out.getvalue()
