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
