"""How the refresh task fails: one line naming the model; Power BI's own failure is final, the rest retried."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from smart_office.operators.power_bi import PowerBIRefreshOperator, failure_detail, one_line

DATASET = "5e055f91-c6df-43d9-b359-805efcd85f70"
GROUP = "e8340d28-d86c-4928-bf36-1b7c1889c5b4"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4eHh4eHh4eHgifQ.c2lnbmF0dXJlc2lnbmF0dXJl"


def operator(**kwargs: object) -> PowerBIRefreshOperator:
    return PowerBIRefreshOperator(task_id="refresh_power_bi", dataset_id=DATASET, group_id=GROUP, **kwargs)


def test_power_bis_error_code_is_the_detail() -> None:
    error = json.dumps({"errorCode": "ModelRefreshFailed_CredentialsNotSpecified"})
    event = {"status": "error", "message": f"The dataset refresh 42 has Failed. Error: {error}"}
    assert failure_detail(event) == "ModelRefreshFailed_CredentialsNotSpecified"


def test_a_detail_is_one_bounded_line_without_tokens() -> None:
    detail = one_line(
        f"PermissionError: {{'error': 'denied'}}\n  Authorization: Bearer {JWT}\n{JWT}" + "x" * 500
    )
    assert "\n" not in detail
    assert "eyJ" not in detail
    assert len(detail) <= 300


@pytest.mark.parametrize(
    ("event", "raised", "reason"),
    [
        (
            {
                "status": "error",
                "dataset_refresh_status": "Failed",
                "message": 'The dataset refresh r1 has Failed. Error: {"errorCode": "ModelRefreshFailed_X"}',
            },
            AirflowFailException,
            f"Power BI refresh of semantic model {DATASET} (workspace {GROUP}) ended Failed: ModelRefreshFailed_X",
        ),
        (
            {
                "status": "error",
                "dataset_refresh_status": "Disabled",
                "message": "The dataset refresh r1 has Disabled. Error: None",
            },
            AirflowFailException,
            f"Power BI refresh of semantic model {DATASET} (workspace {GROUP}) ended Disabled:",
        ),
        (
            {
                "status": "error",
                "dataset_refresh_status": None,
                "message": "An error occurred: 503 Service Unavailable",
            },
            AirflowException,
            f"Power BI refresh of semantic model {DATASET} (workspace {GROUP}) did not finish: An error occurred",
        ),
    ],
)
def test_how_a_wait_ends_in_failure(event: dict[str, str], raised: type[Exception], reason: str) -> None:
    with pytest.raises(raised) as caught:
        operator().execute_complete({}, event)  # type: ignore[arg-type]
    assert str(caught.value).startswith(reason)
    assert isinstance(caught.value, AirflowFailException) == (raised is AirflowFailException)


def test_a_refresh_that_could_not_start_is_retried_and_names_the_model() -> None:
    event = {
        "status": "error",
        "dataset_refresh_status": None,
        "message": "PermissionError: {'error': {'code': 'TokenExpired'}}",
    }
    with pytest.raises(AirflowException) as caught:
        operator().handle_refresh({}, event)  # type: ignore[arg-type]
    assert not isinstance(caught.value, AirflowFailException)
    assert str(caught.value).startswith(
        f"Power BI refresh of semantic model {DATASET} (workspace {GROUP}) could not start: "
    )


def test_bad_ids_fail_for_good_before_power_bi_is_asked() -> None:
    task = PowerBIRefreshOperator(task_id="refresh_power_bi", dataset_id=DATASET, group_id="")
    with pytest.raises(AirflowFailException, match="SMART_OFFICE_POWERBI_GROUP_ID is not set"):
        task.execute({})  # type: ignore[arg-type]


def test_the_operator_defers_to_the_trigger_that_reports_start_up_errors() -> None:
    from airflow.providers.microsoft.azure.triggers.powerbi import PowerBITrigger
    from airflow.sdk.exceptions import TaskDeferred

    from smart_office.operators.power_bi import RefreshTrigger

    with pytest.raises(TaskDeferred) as deferred:
        operator().defer(
            trigger=PowerBITrigger(conn_id="powerbi_default", dataset_id=DATASET, group_id=GROUP),
            method_name="handle_refresh",
        )
    trigger = deferred.value.trigger
    assert type(trigger) is RefreshTrigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "smart_office.operators.power_bi.RefreshTrigger"
    assert (kwargs["dataset_id"], kwargs["group_id"]) == (DATASET, GROUP)


def test_an_error_starting_the_refresh_becomes_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from airflow.providers.microsoft.azure.triggers.powerbi import PowerBITrigger

    from smart_office.operators.power_bi import RefreshTrigger

    async def refused(self: PowerBITrigger):  # type: ignore[no-untyped-def]
        raise PermissionError({"error": {"code": "TokenExpired"}})
        yield  # an async generator, as the provider's run()

    monkeypatch.setattr(PowerBITrigger, "run", refused)
    trigger = RefreshTrigger(conn_id="powerbi_unit_test", dataset_id=DATASET, group_id=GROUP)

    async def first_event():  # type: ignore[no-untyped-def]
        return await anext(trigger.run())

    event = asyncio.run(first_event())
    assert event.payload["status"] == "error"
    assert event.payload["message"].startswith("PermissionError: ")


def test_a_client_another_event_loop_built_is_dropped_and_one_of_this_loop_kept() -> None:
    import asyncio

    from airflow.providers.microsoft.azure.hooks.msgraph import KiotaRequestAdapterHook

    from smart_office.operators.power_bi import _drop_adapter_of_another_loop

    cache = KiotaRequestAdapterHook.cached_request_adapters
    marker = ("v1.0", object())

    async def in_one_loop() -> bool:
        _drop_adapter_of_another_loop("powerbi_loops")
        cache["powerbi_loops"] = marker  # type: ignore[assignment]
        _drop_adapter_of_another_loop("powerbi_loops")  # the same loop: kept
        return cache.get("powerbi_loops") is marker

    async def in_another_loop() -> bool:
        _drop_adapter_of_another_loop("powerbi_loops")
        return "powerbi_loops" not in cache

    try:
        assert asyncio.run(in_one_loop())
        assert asyncio.run(in_another_loop())  # as `airflow dags test` runs each deferral
    finally:
        cache.pop("powerbi_loops", None)
