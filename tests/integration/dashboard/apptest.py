"""Open a dashboard page in Streamlit's AppTest (the real app script, run in-process) against a warehouse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[3] / "plugins" / "smart_office" / "dashboard" / "app.py"


def open_page(monkeypatch: pytest.MonkeyPatch, url: str, page: str, **query: str) -> AppTest:
    """Run the app on `page` with `query` in its URL, reading `url` through the BI reader role."""
    monkeypatch.delenv("SMART_OFFICE_DASHBOARD_URL", raising=False)
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", url)
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params.update(query)
    # The pages' url paths are their file names, so the page can be chosen before the first run, as a
    # browser opening /<page>?... would.
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def texts(app: AppTest) -> str:
    """Every markdown, caption, info, warning, success and error text of the page, joined."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "success", "error")
        for e in getattr(app, kind)
    ]
    return "\n".join(str(p) for p in parts)


def frame(app: AppTest, *columns: str) -> pd.DataFrame:
    """The DataFrame behind the first st.dataframe that has these columns."""
    for element in app.dataframe:
        value = element.value
        if set(columns) <= set(value.columns):
            return value
    raise AssertionError(f"no dataframe with columns {columns}")


def chart_specs(app: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite specs of the page's Altair charts, each with its named datasets as DataFrames under
    `datasets` (Streamlit sends them beside the spec, Arrow-encoded)."""
    specs = []
    for element in app.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        spec["datasets"] = {
            named.name: pa.ipc.open_stream(named.data.data).read_all().to_pandas()
            for named in element.proto.datasets
        }
        specs.append(spec)
    return specs


def dashed_rules(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The dashed rule marks of a (layered) spec."""
    found = []
    for layer in spec.get("layer", [spec]):
        if "layer" in layer:
            found += dashed_rules(layer)
            continue
        mark = layer.get("mark")
        if isinstance(mark, dict) and mark.get("type") == "rule" and mark.get("strokeDash"):
            found.append(layer)
    return found
