"""The emulator's Power BI refresh API (FACTS.md §9), over HTTPS with tokens from its identity service."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.emulator.conftest import GRAPH_DEFAULT, confidential_app
from tests.support.emulator import EmulatorHandle, jwt_claims, running_emulator

pytestmark = pytest.mark.integration
POWER_BI_DEFAULT = ["https://analysis.windows.net/powerbi/api/.default"]
REFRESH_SECONDS = 1.0


@pytest.fixture(scope="module")
def power_bi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A private emulator (refreshes here must not meet another test's), refreshes lasting one second."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMART_OFFICE_EMULATOR_POWERBI_REFRESH_SECONDS", str(REFRESH_SECONDS))
        with running_emulator(tmp_path_factory.mktemp("power-bi") / "state", tenants=2) as handle:
            yield handle


def _token(handle: EmulatorHandle, scopes: list[str] = POWER_BI_DEFAULT) -> str:
    creds = handle.partner_credentials()
    app = confidential_app(handle, handle.partner_tenant_id, creds["client_id"], creds["client_secret"])
    result = app.acquire_token_for_client(scopes)
    assert "access_token" in result, result
    return result["access_token"]


@pytest.fixture(scope="module")
def api(power_bi: EmulatorHandle) -> requests.Session:
    session = power_bi.http_session()
    session.headers["Authorization"] = f"Bearer {_token(power_bi)}"
    return session


@pytest.fixture(scope="module")
def refreshes(power_bi: EmulatorHandle, api: requests.Session) -> str:
    """The refreshes collection URL of the emulated partner's one semantic model, found by listing."""
    groups = api.get(f"{power_bi.power_bi}/v1.0/myorg/groups").json()["value"]
    assert [g["name"] for g in groups] == ["Partner Smart Office"]
    datasets = api.get(f"{power_bi.power_bi}/v1.0/myorg/groups/{groups[0]['id']}/datasets").json()["value"]
    assert datasets[0]["isRefreshable"] is True
    return f"{power_bi.power_bi}/v1.0/myorg/groups/{groups[0]['id']}/datasets/{datasets[0]['id']}/refreshes"


def _wait_until_done(api: requests.Session, refreshes: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        latest = api.get(refreshes, params={"$top": "1"}).json()["value"][0]
        if latest["status"] != "Unknown":
            return latest
        time.sleep(0.2)
    raise AssertionError("the refresh never finished")


def test_the_identity_service_issues_power_bi_tokens_by_client_credentials(power_bi: EmulatorHandle) -> None:
    claims = jwt_claims(_token(power_bi))
    assert claims["aud"] in {
        "https://analysis.windows.net/powerbi/api",
        "00000009-0000-0000-c000-000000000000",
    }
    assert claims["tid"] == power_bi.partner_tenant_id


def test_a_refresh_is_accepted_runs_and_completes(api: requests.Session, refreshes: str) -> None:
    started = api.post(refreshes, json={"notifyOption": "NoNotification"})
    assert started.status_code == 202
    assert started.content == b""
    request_id = started.headers["RequestId"]
    assert started.headers["Location"] == f"{refreshes}/{request_id}"
    running = api.get(refreshes, params={"$top": "1"}).json()["value"][0]
    assert running["requestId"] == request_id
    assert (running["status"], running["refreshType"]) == ("Unknown", "ViaApi")
    assert "endTime" not in running
    details = api.get(f"{refreshes}/{request_id}")
    assert (details.status_code, details.json()["status"]) == (202, "InProgress")
    # One refresh at a time per model.
    assert api.post(refreshes).status_code == 400
    done = _wait_until_done(api, refreshes)
    assert (done["requestId"], done["status"]) == (request_id, "Completed")
    assert done["endTime"] > done["startTime"]
    assert "serviceExceptionJson" not in done
    details = api.get(f"{refreshes}/{request_id}")
    assert (details.status_code, details.json()["status"]) == (200, "Completed")


def test_a_fault_makes_the_next_refresh_fail(
    power_bi: EmulatorHandle, api: requests.Session, refreshes: str
) -> None:
    power_bi.add_fault(
        kind="refresh_failed", error_code="ModelRefreshFailed_CredentialsNotSpecified", count=1
    )
    request_id = api.post(refreshes).headers["RequestId"]
    failed = _wait_until_done(api, refreshes)
    assert (failed["requestId"], failed["status"]) == (request_id, "Failed")
    assert failed["serviceExceptionJson"] == '{"errorCode":"ModelRefreshFailed_CredentialsNotSpecified"}'
    # The fault was used up: the next refresh completes.
    api.post(refreshes)
    assert _wait_until_done(api, refreshes)["status"] == "Completed"
    history = api.get(refreshes).json()["value"]
    assert [e["status"] for e in history[:2]] == ["Completed", "Failed"]
    assert len(api.get(refreshes, params={"$top": "1"}).json()["value"]) == 1


def test_without_a_power_bi_token_the_answer_is_401(
    power_bi: EmulatorHandle, api: requests.Session, refreshes: str
) -> None:
    session = power_bi.http_session()
    assert session.get(refreshes).status_code == 401
    session.headers["Authorization"] = f"Bearer {_token(power_bi, GRAPH_DEFAULT)}"
    assert session.post(refreshes).status_code == 401


def test_an_unknown_semantic_model_is_404(api: requests.Session, refreshes: str) -> None:
    workspace = refreshes.split("/datasets/")[0]
    answer = api.post(f"{workspace}/datasets/00000000-0000-4000-8000-000000000000/refreshes")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "ItemNotFound"


def test_the_refresh_completes_when_the_emulator_clock_moves_past_it(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMART_OFFICE_EMULATOR_POWERBI_REFRESH_SECONDS", "3600")
        with running_emulator(tmp_path / "state", tenants=1) as handle:
            session = handle.http_session()
            session.headers["Authorization"] = f"Bearer {_token(handle)}"
            group = session.get(f"{handle.power_bi}/v1.0/myorg/groups").json()["value"][0]["id"]
            dataset = session.get(f"{handle.power_bi}/v1.0/myorg/groups/{group}/datasets").json()["value"][0][
                "id"
            ]
            url = f"{handle.power_bi}/v1.0/myorg/groups/{group}/datasets/{dataset}/refreshes"
            session.post(url)
            assert session.get(url).json()["value"][0]["status"] == "Unknown"
            handle.admin_post("/clock/advance", {"hours": 1})
            session.headers["Authorization"] = f"Bearer {_token(handle)}"  # the old one may have expired
            assert session.get(url).json()["value"][0]["status"] == "Completed"
