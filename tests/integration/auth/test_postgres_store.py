"""The encrypted PostgreSQL token store: ciphertext only, compare-and-swap, newest token wins across processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet

from smart_office.auth.rotation import NoRefreshTokenError, RefreshTokenKeeper
from smart_office.auth.stores import PostgresSecretStore, TokenStoreError, VersionConflict
from smart_office.warehouse import connection
from smart_office.warehouse.migrations import migrate

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
FAKE_TOKEN = "fake-refresh-token-0001"


@pytest.fixture
def migrated(warehouse_url: str) -> str:
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    return warehouse_url


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def sessions_opened(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts the sessions opened through the connection translator (every login of the product)."""
    opened = 0
    real = connection.connect

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal opened
        opened += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(connection, "connect", counting)
    return lambda: opened


def test_round_trip_stores_only_ciphertext(migrated: str, key: str) -> None:
    store = PostgresSecretStore(migrated, [key])
    written = store.put("rt", FAKE_TOKEN, issued_at=T0, expected_version=None)
    assert written.version == "1"
    got = store.get("rt")
    assert got is not None
    assert got.value.reveal() == FAKE_TOKEN
    assert got.issued_at == T0
    assert FAKE_TOKEN not in repr(got)
    assert FAKE_TOKEN not in str(got.value)
    with psycopg.connect(migrated) as conn:
        raw = bytes(conn.execute("select ciphertext from ops.token_store where name = 'rt'").fetchone()[0])
    assert FAKE_TOKEN.encode() not in raw


def test_compare_and_swap(migrated: str, key: str) -> None:
    store = PostgresSecretStore(migrated, [key])
    store.put("rt", "fake-a", issued_at=T0, expected_version=None)
    with pytest.raises(VersionConflict):
        store.put("rt", "fake-b", issued_at=T0, expected_version=None)
    store.put("rt", "fake-b", issued_at=T0 + timedelta(hours=1), expected_version="1")
    with pytest.raises(VersionConflict):
        store.put("rt", "fake-c", issued_at=T0 + timedelta(hours=2), expected_version="1")
    assert store.get("rt").value.reveal() == "fake-b"


def test_one_session_for_a_thousand_reads_and_writes_from_four_threads(
    migrated: str, key: str, sessions_opened: Callable[[], int]
) -> None:
    store = PostgresSecretStore(migrated, [key])
    store.put("rt", "fake-0", issued_at=T0, expected_version=None)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(125):
                stored = store.get("rt")
                # A conflict means another thread wrote in between: the compare-and-swap said so.
                with contextlib.suppress(VersionConflict):
                    store.put("rt", f"fake-{n}-{i}", issued_at=T0, expected_version=stored.version)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert int(store.get("rt").version) > 125  # most writes landed, none raised anything but a conflict
    assert sessions_opened() == 1
    store.close()


def test_a_session_killed_while_idle_is_replaced_once(
    migrated: str, key: str, sessions_opened: Callable[[], int]
) -> None:
    store = PostgresSecretStore(migrated, [key])
    store.put("rt", FAKE_TOKEN, issued_at=T0, expected_version=None)
    with psycopg.connect(migrated, autocommit=True) as admin:
        killed = admin.execute(
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity "
            "where application_name = 'smart-office-token-store' and datname = current_database()"
        ).fetchone()[0]
    assert killed == 1
    assert store.get("rt").value.reveal() == FAKE_TOKEN
    assert store.put("rt", "fake-b", issued_at=T0, expected_version="1").version == "2"
    assert sessions_opened() == 2
    store.close()
    assert store.get("rt").value.reveal() == "fake-b"  # a closed store opens a session again when used
    assert sessions_opened() == 3
    store.close()


def test_wrong_key_names_the_setting(migrated: str, key: str) -> None:
    PostgresSecretStore(migrated, [key]).put("rt", FAKE_TOKEN, issued_at=T0, expected_version=None)
    other = PostgresSecretStore(migrated, [Fernet.generate_key().decode()])
    with pytest.raises(TokenStoreError, match="SMART_OFFICE_TOKEN_STORE_KEY"):
        other.get("rt")
    # Key rotation: a new primary key plus the old one still decrypts.
    rotated = PostgresSecretStore(migrated, [Fernet.generate_key().decode(), key])
    assert rotated.get("rt").value.reveal() == FAKE_TOKEN


def test_keeper_never_goes_back_to_an_older_token(migrated: str, key: str) -> None:
    store = PostgresSecretStore(migrated, [key])
    every_rotation = timedelta(0)
    keeper = RefreshTokenKeeper(store, write_back_age=every_rotation)
    with pytest.raises(NoRefreshTokenError, match="smart-office consent"):
        keeper.current()
    keeper.initialise("fake-consented", T0)
    assert keeper.offer("fake-newer", T0 + timedelta(minutes=5)) is True
    assert keeper.offer("fake-older", T0 + timedelta(minutes=1)) is False
    keeper_name = "smart-office-refresh-token"
    assert store.get(keeper_name).value.reveal() == "fake-newer"
    # A second worker that read before the rotation loses the CAS and must not overwrite the newer token.
    stale = RefreshTokenKeeper(store, write_back_age=every_rotation)
    stale.current()  # reads fake-newer
    keeper.offer("fake-newest", T0 + timedelta(minutes=9))
    assert stale.offer("fake-stale-rotation", T0 + timedelta(minutes=7)) is False
    assert store.get(keeper_name).value.reveal() == "fake-newest"
    assert stale.current().value.reveal() == "fake-newest"


def test_a_thousand_rotations_open_one_session_and_write_once(
    migrated: str, key: str, sessions_opened: Callable[[], int]
) -> None:
    """What each tenant's exchange does with the rotated token, 1,000 times: one login, one write."""
    RefreshTokenKeeper(PostgresSecretStore(migrated, [key])).initialise("fake-consented", T0)
    opened_before = sessions_opened()
    with psycopg.connect(migrated) as conn:
        version_before = conn.execute("select version from ops.token_store").fetchone()[0]
    store = PostgresSecretStore(migrated, [key])
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    keeper.current()
    run = T0 + timedelta(days=1)
    for i in range(1_000):
        keeper.offer(f"fake-rotated-{i}", run + timedelta(seconds=i))
    assert sessions_opened() - opened_before == 1  # was 1,001: one per read and per write
    with psycopg.connect(migrated) as conn:
        version, issued_at = conn.execute("select version, issued_at from ops.token_store").fetchone()
    assert version == version_before + 1
    assert issued_at == run
    assert keeper.current().value.reveal() == "fake-rotated-999"
    store.close()


def test_expiry_warning_14_days_ahead(migrated: str, key: str) -> None:
    keeper = RefreshTokenKeeper(PostgresSecretStore(migrated, [key]))
    keeper.initialise("fake-consented", T0)
    assert not keeper.expiry_status(T0 + timedelta(days=75)).needs_attention
    status = keeper.expiry_status(T0 + timedelta(days=77))
    assert status.needs_attention
    assert 12.9 < status.days_left < 13.1
    assert "smart-office consent" in status.message()


def _race_worker(url: str, key: str, token: str, minutes: int, barrier: multiprocessing.Barrier) -> None:
    # Every rotation written (age 0), so that each of the 40 offers is a compare-and-swap in the race.
    keeper = RefreshTokenKeeper(PostgresSecretStore(url, [key]), write_back_age=timedelta(0))
    keeper.current()  # both read version 1 before either writes
    barrier.wait()
    for i in range(20):
        keeper.offer(f"{token}-{i}", T0 + timedelta(minutes=minutes, seconds=i))


def test_two_processes_racing_keep_the_newest_token(migrated: str, key: str) -> None:
    RefreshTokenKeeper(PostgresSecretStore(migrated, [key])).initialise("fake-consented", T0)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_race_worker, args=(migrated, key, "fake-early", 1, barrier)),
        ctx.Process(target=_race_worker, args=(migrated, key, "fake-late", 2, barrier)),
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    final = PostgresSecretStore(migrated, [key]).get("smart-office-refresh-token")
    assert final.value.reveal() == "fake-late-19"
    assert final.issued_at == T0 + timedelta(minutes=2, seconds=19)
