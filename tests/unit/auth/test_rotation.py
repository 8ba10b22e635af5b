"""RefreshTokenKeeper: when a rotated token is written back, newest wins, and the expiry it reports."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from smart_office.auth.rotation import NoRefreshTokenError, RefreshTokenKeeper
from smart_office.auth.stores import StoredSecret, VersionConflict
from smart_office.redaction import Secret

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
NAME = "smart-office-refresh-token"


class MemoryStore:
    """A SecretStore in a dict, with the stores' compare-and-swap contract, counting calls."""

    def __init__(self) -> None:
        self.secrets: dict[str, StoredSecret] = {}
        self.gets = 0
        self.puts = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "memory"

    def get(self, name: str) -> StoredSecret | None:
        self.gets += 1
        return self.secrets.get(name)

    def put(
        self, name: str, value: str, *, issued_at: datetime, expected_version: str | None
    ) -> StoredSecret:
        with self._lock:
            self.puts += 1
            current = self.secrets.get(name)
            if (current.version if current else None) != expected_version:
                raise VersionConflict(name)
            version = str(int(current.version) + 1 if current else 1)
            self.secrets[name] = StoredSecret(Secret(value), version, issued_at)
            return self.secrets[name]

    def held(self) -> tuple[str, datetime]:
        stored = self.secrets[NAME]
        return stored.value.reveal(), stored.issued_at


def consented(issued_at: datetime = T0) -> MemoryStore:
    store = MemoryStore()
    store.put(NAME, "fake-consented", issued_at=issued_at, expected_version=None)
    store.puts = 0
    return store


def test_a_run_writes_once_then_again_only_when_the_stored_token_is_older_than_the_age() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    start = T0 + timedelta(days=1)  # the next daily run: the stored token is a day old
    written = [keeper.offer(f"fake-{i}", start + timedelta(seconds=10 * i)) for i in range(1_000)]
    assert written == [True] + [False] * 999
    assert store.puts == 1
    assert store.held() == ("fake-0", start)
    # The newest token is the one exchanges use, stored or not.
    assert keeper.current().value.reveal() == "fake-999"
    # Six hours after what the store holds, the next rotation is written.
    assert keeper.offer("fake-later", start + timedelta(hours=6)) is True
    assert store.held() == ("fake-later", start + timedelta(hours=6))
    assert store.puts == 2


def test_a_rotation_soon_after_consent_is_not_written() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    assert keeper.offer("fake-rotated", T0 + timedelta(minutes=3)) is False
    assert store.puts == 0
    assert keeper.current().value.reveal() == "fake-rotated"
    assert keeper.current().version == ""  # only in memory


def test_age_zero_writes_every_rotation() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(0))
    assert all(keeper.offer(f"fake-{i}", T0 + timedelta(seconds=i)) for i in range(1, 11))
    assert store.puts == 10
    assert store.held() == ("fake-10", T0 + timedelta(seconds=10))


def test_an_older_rotation_is_ignored() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(0))
    assert keeper.offer("fake-newer", T0 + timedelta(minutes=5)) is True
    assert keeper.offer("fake-older", T0 + timedelta(minutes=1)) is False
    assert keeper.current().value.reveal() == "fake-newer"
    assert store.held() == ("fake-newer", T0 + timedelta(minutes=5))


def test_a_newer_token_another_process_stored_is_never_replaced_and_is_adopted() -> None:
    store = consented()
    mine = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    mine.current()  # read the consented token
    other = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    assert other.offer("fake-other-newest", T0 + timedelta(days=1, hours=1)) is True
    assert mine.offer("fake-mine-older", T0 + timedelta(days=1)) is False  # due by what it read: CAS lost
    assert store.held() == ("fake-other-newest", T0 + timedelta(days=1, hours=1))
    assert mine.current().value.reveal() == "fake-other-newest"


def test_an_older_but_recent_token_another_process_stored_ends_the_write() -> None:
    store = consented()
    mine = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    mine.current()
    other = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    assert other.offer("fake-other", T0 + timedelta(days=1)) is True
    puts = store.puts
    # Newer than the other's, but only a minute: not worth a write once the store is seen to be recent.
    assert mine.offer("fake-mine", T0 + timedelta(days=1, minutes=1)) is False
    assert store.puts == puts + 1  # the one compare-and-swap that found the store had moved
    assert store.held() == ("fake-other", T0 + timedelta(days=1))
    assert mine.current().value.reveal() == "fake-mine"  # still the newest for exchanges


def test_no_token_anywhere_says_run_consent() -> None:
    keeper = RefreshTokenKeeper(MemoryStore())
    with pytest.raises(NoRefreshTokenError, match="smart-office consent"):
        keeper.current()
    with pytest.raises(NoRefreshTokenError, match="smart-office consent"):
        keeper.expiry_status(T0)


def test_expiry_is_the_stored_tokens_while_the_newest_waits_in_memory() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    keeper.offer("fake-rotated", T0 + timedelta(hours=5))  # not written: within the age
    status = keeper.expiry_status(T0 + timedelta(days=10))
    assert status.issued_at == T0  # what survives this process
    assert status.expires_at == T0 + timedelta(days=90)
    assert not status.needs_attention
    assert store.puts == 0


def test_a_stored_token_inside_the_warning_window_is_replaced_by_the_newer_one_before_reporting() -> None:
    store = consented()
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    keeper.offer("fake-rotated", T0 + timedelta(hours=5))  # not written: within the age
    # Reported from the stored token, the warning would say 10 days left where 10.2 are: write back first.
    status = keeper.expiry_status(T0 + timedelta(days=80))
    assert store.held() == ("fake-rotated", T0 + timedelta(hours=5))
    assert status.issued_at == T0 + timedelta(hours=5)
    assert status.needs_attention  # rightly: 80 days without a run leave about 10
    assert 10.1 < status.days_left < 10.3


def test_expiry_warning_when_the_stored_token_is_the_newest() -> None:
    keeper = RefreshTokenKeeper(consented())
    assert not keeper.expiry_status(T0 + timedelta(days=75)).needs_attention
    status = keeper.expiry_status(T0 + timedelta(days=77))
    assert status.needs_attention
    assert 12.9 < status.days_left < 13.1


class BlockingStore(MemoryStore):
    """A store whose writes wait until released, as a slow vault or database would."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()

    def put(
        self, name: str, value: str, *, issued_at: datetime, expected_version: str | None
    ) -> StoredSecret:
        if self.secrets:  # the consent write goes through
            self.writing.set()
            assert self.release.wait(10)
        return super().put(name, value, issued_at=issued_at, expected_version=expected_version)


def test_exchanges_do_not_wait_for_a_write_in_progress() -> None:
    store = BlockingStore()
    store.put(NAME, "fake-consented", issued_at=T0, expected_version=None)
    keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
    keeper.current()
    writer = threading.Thread(target=keeper.offer, args=("fake-0", T0 + timedelta(days=1)))
    writer.start()
    assert store.writing.wait(10)
    # While that write hangs: other rotations are adopted at once and exchanges use the newest.
    done = threading.Event()

    def other_exchanges() -> None:
        for i in range(1, 100):
            keeper.offer(f"fake-{i}", T0 + timedelta(days=1, seconds=i))
        done.set()

    threading.Thread(target=other_exchanges).start()
    assert done.wait(5)
    assert keeper.current().value.reveal() == "fake-99"
    store.release.set()
    writer.join(10)
    assert store.held() == ("fake-0", T0 + timedelta(days=1))
    assert keeper.current().value.reveal() == "fake-99"
