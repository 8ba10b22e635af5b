"""The discovery cache as MSAL uses it: MSAL's own throttled http client over a fake transport, the file shared
by cache objects (and processes) on the same path, and nothing but public discovery documents on disk."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from msal.individual_cache import _ExpiringMapping
from msal.throttled_http_client import ThrottledHttpClient

from smart_office.auth.discovery_cache import (
    FILE_NAME,
    INDEX_KEY,
    DiscoveryCache,
    default_cache_directory,
    is_public_discovery,
)

AUTHORITY = "https://login.example.test/11111111-1111-4111-8111-111111111111"
DISCOVERY = f"{AUTHORITY}/v2.0/.well-known/openid-configuration"
TOKEN = f"{AUTHORITY}/oauth2/v2.0/token"
DOCUMENT = {"token_endpoint": TOKEN, "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize"}
SECRET = "client-secret-value-7f3a"
REFRESH_TOKEN = "0.refresh-token-value-91bc"


class _Response:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers = headers or {}


class _Transport:
    """Counts what MSAL really sends; discovery answers 200 with a cookie, the token endpoint a 400."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def get(self, url: str, **kwargs: Any) -> _Response:
        self.sent.append(("GET", url))
        return _Response(200, DOCUMENT, {"Set-Cookie": "fpc=session-cookie-value; secure"})

    def post(self, url: str, **kwargs: Any) -> _Response:
        self.sent.append(("POST", url))
        return _Response(400, {"error": "invalid_grant", "error_description": "AADSTS70000: bad grant"})

    def close(self) -> None:
        pass


def _client(cache: DiscoveryCache, transport: _Transport) -> ThrottledHttpClient:
    """What ConfidentialClientApplication builds around its http_client and http_cache."""
    return ThrottledHttpClient(transport, http_cache=cache.for_authority(AUTHORITY), default_throttle_time=5)


def _redeem(client: ThrottledHttpClient) -> Any:
    return client.post(
        TOKEN,
        data={
            "client_id": "app",
            "client_secret": SECRET,
            "grant_type": "refresh_token",
            "refresh_token": REFRESH_TOKEN,
            "scope": "https://graph.microsoft.com/.default offline_access openid profile",
        },
    )


def test_the_index_key_is_msals() -> None:
    # If a new MSAL renames its index, documents would be written but never found again: fail here instead.
    assert _ExpiringMapping._INDEX == INDEX_KEY


def test_a_new_cache_object_on_the_same_file_answers_discovery_without_a_request(tmp_path: Path) -> None:
    first = _Transport()
    answer = _client(DiscoveryCache.in_directory(tmp_path), first).get(DISCOVERY)
    assert json.loads(answer.text) == DOCUMENT
    later = _Transport()  # another process, the next day's run: a new MSAL application, a new cache object
    again = _client(DiscoveryCache.in_directory(tmp_path), later).get(DISCOVERY)
    assert (again.status_code, json.loads(again.text)) == (200, DOCUMENT)
    assert (first.sent, later.sent) == ([("GET", DISCOVERY)], [])


def test_token_replays_stay_in_memory_and_no_secret_reaches_the_file(tmp_path: Path) -> None:
    transport = _Transport()
    client = _client(DiscoveryCache.in_directory(tmp_path), transport)
    client.get(DISCOVERY)
    assert _redeem(client).status_code == 400
    assert _redeem(client).status_code == 400  # MSAL replays the 400 for 60 s from its http cache ...
    assert transport.sent.count(("POST", TOKEN)) == 1
    other = _Transport()
    assert _redeem(_client(DiscoveryCache.in_directory(tmp_path), other)).status_code == 400
    assert other.sent == [("POST", TOKEN)]  # ... in this process only: it never reached the file
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"token_endpoint" in stored
    for secret in (SECRET, REFRESH_TOKEN, "session-cookie-value", "invalid_grant", "AADSTS70000", "POST "):
        assert secret.encode() not in stored


def test_documents_are_kept_a_week_not_msals_day(tmp_path: Path) -> None:
    _client(DiscoveryCache.in_directory(tmp_path), _Transport()).get(DISCOVERY)
    day_later = DiscoveryCache.in_directory(tmp_path, clock=lambda: time.time() + 86_400 + 600)
    (entry,) = day_later.load(AUTHORITY.lower())
    assert json.loads(entry[1].text) == DOCUMENT
    week_later = DiscoveryCache.in_directory(tmp_path, clock=lambda: time.time() + 7 * 86_400 + 1)
    assert week_later.load(AUTHORITY.lower()) == []


def test_the_file_keeps_at_most_max_entries_dropping_the_oldest(tmp_path: Path) -> None:
    cache = DiscoveryCache.in_directory(tmp_path, max_entries=3)
    now = int(time.time())
    response = _Response(200, DOCUMENT)
    for n in range(5):
        cache.put(f"https://login.example.test/t{n}", f"GET {DISCOVERY} hash=x 2xx", response, now - 10 + n)
    assert len(cache) == 3
    assert cache.load("https://login.example.test/t0") == []
    assert len(cache.load("https://login.example.test/t4")) == 1


@pytest.mark.parametrize(
    ("key", "status", "expected"),
    [
        (f"GET {DISCOVERY} hash=abc 2xx", 200, True),
        ("GET https://login.example.test/common/discovery/instance?api-version=1.1 hash=a 2xx", 200, True),
        (f"GET {DISCOVERY} hash=abc 2xx", 404, False),
        ("GET https://login.example.test/t/oauth2/v2.0/devicecode hash=a 2xx", 200, False),
        (f"POST {TOKEN} client_id=app scope=s hash=abc 429/5xx/Retry-After", 200, False),
        (f"POST {TOKEN} hash=abc 400", 400, False),
        ("discovery", 200, False),
    ],
)
def test_only_successful_discovery_gets_may_be_stored(key: str, status: int, expected: bool) -> None:
    assert is_public_discovery(key, _Response(status, DOCUMENT)) is expected


def test_an_unusable_directory_degrades_to_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    cache = DiscoveryCache.in_directory(blocker)
    assert not cache.usable
    transport = _Transport()
    client = _client(cache, transport)
    client.get(DISCOVERY)
    client.get(DISCOVERY)  # still cached for the application's lifetime, as MSAL does by default
    assert transport.sent == [("GET", DISCOVERY)]
    assert "cannot be used" in caplog.text


def test_a_corrupt_file_degrades_to_memory(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database" * 100)
    cache = DiscoveryCache.in_directory(tmp_path)
    assert not cache.usable
    assert _client(cache, _Transport()).get(DISCOVERY).status_code == 200


_WRITER = """
import sys, time
from msal.throttled_http_client import ThrottledHttpClient
from tests.unit.auth.test_discovery_cache import _Transport
from smart_office.auth.discovery_cache import DiscoveryCache

cache = DiscoveryCache.in_directory(sys.argv[1])
for n in range(int(sys.argv[2])):
    authority = f"https://login.example.test/tenant-{n}"
    ThrottledHttpClient(_Transport(), http_cache=cache.for_authority(authority)).get(
        f"{authority}/v2.0/.well-known/openid-configuration"
    )
"""


def test_several_processes_fill_one_file_at_once(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), "60"], cwd=root, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    errors = [w.communicate(timeout=120)[1].decode() for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], errors
    assert not any("cannot be used" in e for e in errors), errors
    cache = DiscoveryCache.in_directory(tmp_path)
    assert len(cache) == 60  # the same 60 documents, written by four processes, stored once each
    transport = _Transport()
    for n in range(60):
        authority = f"https://login.example.test/tenant-{n}"
        ThrottledHttpClient(transport, http_cache=cache.for_authority(authority)).get(
            f"{authority}/v2.0/.well-known/openid-configuration"
        )
    assert transport.sent == []


def test_the_default_directory_follows_xdg(tmp_path: Path) -> None:
    assert default_cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "smart-office"
    assert default_cache_directory({}) == Path.home() / ".cache" / "smart-office"
