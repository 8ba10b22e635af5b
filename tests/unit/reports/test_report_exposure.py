"""The reports' dbt exposure names exactly the marts the report's queries read (read from the code)."""

from __future__ import annotations

from smart_office.dashboard.queries import portfolio as portfolio_queries
from smart_office.dashboard.queries.marts import marts_named_in
from smart_office.reports import queries
from tests.unit.test_dbt_project_rules import Project, _marts_read_by, project  # noqa: F401 - fixture


def test_the_exposure_names_every_mart_the_report_reads(project: Project) -> None:  # noqa: F811
    reads = marts_named_in([queries]) | _marts_read_by([portfolio_queries.portfolio_trend])
    exposure = project.exposures["customer_reports"]
    named = {project.name(node) for node in exposure["depends_on"]["nodes"]}
    assert named == reads
