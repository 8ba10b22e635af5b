"""Charts read without turning the head."""

from __future__ import annotations

import pandas as pd

from smart_office.dashboard import charts


def test_backlog_age_bands_are_written_level() -> None:
    frame = pd.DataFrame({"age_band": ["< 1 day", "1-7 days"], "severity": ["high", "low"], "alerts": [3, 4]})
    spec = charts.severity_bars(frame, "age_band", "alerts", "Age").to_dict()
    assert spec["encoding"]["x"]["type"] == "nominal"
    assert spec["encoding"]["x"]["axis"]["labelAngle"] == 0
