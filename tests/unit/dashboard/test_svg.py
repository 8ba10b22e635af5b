"""The export's inline SVG charts are well-formed and draw what they are given."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # our own generated markup, not untrusted input
from datetime import date, timedelta

from smart_office.dashboard import svg

NS = {"s": "http://www.w3.org/2000/svg"}


def test_histogram_draws_one_bar_per_bucket_with_its_count() -> None:
    root = ET.fromstring(  # noqa: S314
        svg.histogram([(40, 45, 3), (45, 50, 0), (70, 75, 1_200)], "Customers")
    )
    bars = root.findall("s:rect", NS)
    assert len(bars) == 3
    assert [bar.find("s:title", NS).text for bar in bars][2] == "70-75%: 1,200 customers"
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == 0
    assert heights[2] > heights[0] > 0


def test_line_chart_breaks_lines_at_missing_days_and_draws_the_band() -> None:
    days = [date(2026, 11, 1) + timedelta(days=i) for i in range(5)]
    chart = svg.line_chart(
        days,
        {"This customer": ([40.0, 41.0, None, 43.0, 44.0], "#1565c0", False)},
        "Trend",
        band=([30.0] * 5, [60.0] * 5, "#1565c0"),
    )
    root = ET.fromstring(  # noqa: S314
        chart
    )
    assert len(root.findall("s:polyline", NS)) == 2
    assert len(root.findall("s:polygon", NS)) == 1
    assert "This customer" in chart
    assert "<script" not in chart


def test_line_chart_date_labels_stay_inside_the_image() -> None:
    days = [date(2026, 9, 2) + timedelta(days=i) for i in range(91)]
    chart = svg.line_chart(days, {"Median": ([50.0] * 91, "#0d47a1", False)}, "Trend", width=720)
    root = ET.fromstring(chart)  # noqa: S314
    width = float(root.get("width"))
    labels = {t.text: t for t in root.findall("s:text", NS) if t.text and t.text.endswith("2026")}
    assert set(labels) == {"02 Sep 2026", "17 Oct 2026", "01 Dec 2026"}
    # About 6 px a character at 11 px: where each label starts and ends, by its anchor.
    for text, node in labels.items():
        x, extent = float(node.get("x")), 6 * len(text)
        start = {"start": x, "middle": x - extent / 2, "end": x - extent}[node.get("text-anchor")]
        assert start >= 0, (text, start)
        assert start + extent <= width, (text, start, extent, width)


def test_line_chart_without_data_says_so() -> None:
    assert "No data in this range." in svg.line_chart([], {}, "Trend")


def test_bar_rows_escape_labels() -> None:
    chart = svg.bar_rows([("<Apps & more>", 50.0, "50%")], "Categories", maximum=100)
    root = ET.fromstring(  # noqa: S314
        chart
    )
    assert root.findall("s:text", NS)[0].text == "<Apps & more>"


def test_line_chart_legend_wraps_inside_the_image() -> None:
    # The customer report's five lines, with a segment's long label: one row ran off the image's right edge.
    names = [
        "This customer",
        "Portfolio median",
        "Segment median (seat_band=11-50)",
        "Microsoft: all tenants",
        "Microsoft: similar size",
    ]
    days = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]
    series = {name: ([40.0 + i] * 31, "#1565c0", i > 0) for i, name in enumerate(names)}
    root = ET.fromstring(svg.line_chart(days, series, "Trend", width=720, height=260))  # noqa: S314
    width, height = float(root.get("width")), float(root.get("height"))
    legend = {t.text: t for t in root.findall("s:text", NS) if t.text in names}
    assert set(legend) == set(names)
    for text, node in legend.items():
        # Legend text is start-anchored, at most ~7 px a character.
        assert float(node.get("x")) + 7 * len(text) <= width, text
        assert float(node.get("y")) <= height, text
    rows = {float(node.get("y")) for node in legend.values()}
    assert len(rows) == 2
    assert height == 260 + 16  # one more row of legend, below the first
    assert root.get("viewBox") == f"0 0 720 {int(height)}"
