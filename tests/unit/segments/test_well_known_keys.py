"""The CLI's CSV lists first the attributes the marts give columns of their own: the same keys, in the same order."""

from __future__ import annotations

import yaml

from smart_office.dbt_runner import DBT_PROJECT_DIR
from smart_office.segments.attributes import WELL_KNOWN_KEYS


def test_the_cli_and_dbt_know_the_same_well_known_segments() -> None:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert tuple(project["vars"]["well_known_segment_keys"]) == WELL_KNOWN_KEYS
