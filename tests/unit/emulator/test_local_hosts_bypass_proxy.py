"""The demo and the tests reach the local emulator directly even where the environment names a proxy."""

from __future__ import annotations

import os

import pytest
import requests

from emulator.launcher import bypass_proxy_for_local_hosts


def test_local_hosts_join_no_proxy_beside_the_partners_own() -> None:
    environ = {"HTTPS_PROXY": "http://proxy.corp.example:3128", "no_proxy": "corp.example"}
    bypass_proxy_for_local_hosts(environ)
    bypass_proxy_for_local_hosts(environ)  # twice changes nothing
    assert environ["no_proxy"] == "corp.example,127.0.0.1,localhost,::1"
    assert environ["NO_PROXY"] == "127.0.0.1,localhost,::1"


def test_with_it_the_emulator_url_goes_direct_and_others_still_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    emulator_url = "https://127.0.0.1:8443/v1.0/security/alerts_v2"
    assert requests.utils.get_environ_proxies(emulator_url)  # without it: through the proxy
    bypass_proxy_for_local_hosts(os.environ)
    assert not requests.utils.get_environ_proxies(emulator_url)
    assert requests.utils.get_environ_proxies("https://graph.microsoft.com/v1.0/")
