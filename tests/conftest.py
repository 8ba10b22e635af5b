"""Shared fixtures: a session-wide emulator (faults removed after every test that used it) and a factory for
tests that need their own (they move the clock, restart it, or compare two of them)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from emulator.launcher import bypass_proxy_for_local_hosts
from tests.support.emulator import EmulatorHandle, running_emulator

# Property tests run the same examples on every CI run, so a red build is reproducible and never a roll of the
# dice; `make test-property` explores new ones (random seeds, many more examples) to find what these miss.
settings.register_profile(
    "ci", max_examples=60, derandomize=True, database=None, deadline=None, print_blob=True
)
settings.register_profile("explore", max_examples=600, database=None, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("SMART_OFFICE_HYPOTHESIS_PROFILE", "ci"))

# A runner whose environment names a proxy must still reach the emulator and the test servers directly.
bypass_proxy_for_local_hosts()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """`python -m emulator serve --port 0 --tenants 25 --seed 7 --now 2026-11-02T09:00:00Z` for the whole session.

    Do not move its clock; use `emulator_factory` for that.
    """
    with running_emulator(tmp_path_factory.mktemp("emulator") / "state") as handle:
        yield handle


@pytest.fixture(autouse=True)
def _emulator_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults injected by one test never leak into the next."""
    handle = request.getfixturevalue("emulator") if "emulator" in request.fixturenames else None
    yield
    if handle is not None:
        handle.reset()


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Callable[..., EmulatorHandle]]:
    """`emulator_factory(**options)` starts a private emulator (stopped after the test); options as `running_emulator`."""
    with ExitStack() as stack:
        counter = iter(range(1_000))

        def start(state_dir: Path | None = None, **options: Any) -> EmulatorHandle:
            folder = state_dir or tmp_path / f"emulator-{next(counter)}"
            return stack.enter_context(running_emulator(folder, **options))

        yield start
