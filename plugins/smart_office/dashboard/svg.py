"""Small inline-SVG charts for the static export: no JavaScript, nothing fetched, readable when printed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape

FONT = 'font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="11" fill="#37474f"'


def _nice_range(low: float, high: float) -> tuple[float, float, float]:
    """Axis bounds and a tick step that read well (multiples of 1, 2, 5)."""
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def histogram(
    buckets: Sequence[tuple[float, float, int]], title: str, width: int = 520, height: int = 220
) -> str:
    """Vertical bars for (start, end, count) buckets on a 0-100 axis."""
    left, right, top, bottom = 36, 10, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((c for _, _, c in buckets), default=0) or 1
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#b0bec5"/>'
    ]
    for tick in range(0, 101, 20):
        x = left + plot_w * tick / 100
        body.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" {FONT}>{tick}%</text>')
    for start, end, n in buckets:
        x0, x1 = left + plot_w * start / 100, left + plot_w * end / 100
        h = plot_h * n / peak
        body.append(
            f'<rect x="{x0 + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(x1 - x0 - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="#1565c0"><title>{start:g}-{end:g}%: {n:,} customers</title></rect>'
        )
        if n:
            body.append(
                f'<text x="{(x0 + x1) / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" {FONT}>{n:,}</text>'
            )
    return _svg(width, height, body, title)


def line_chart(
    days: Sequence[date],
    series: dict[str, tuple[Sequence[float | None], str, bool]],
    title: str,
    *,
    band: tuple[Sequence[float], Sequence[float], str] | None = None,
    width: int = 720,
    height: int = 260,
    unit: str = "%",
) -> str:
    """Lines over days: series maps a name to (values, colour, dashed); band is (low, high, colour)."""
    left, right, top, bottom = 44, 12, 10, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for vs, _, _ in series.values() for v in vs if v is not None]
    if band:
        values += [*band[0], *band[1]]
    if not days or not values:
        return _svg(width, 40, [f'<text x="4" y="24" {FONT}>No data in this range.</text>'], title)
    low, high, step = _nice_range(min(values), max(values))
    span = max((days[-1] - days[0]).days, 1)

    def x(day: date) -> float:
        return left + plot_w * (day - days[0]).days / span

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    body = []
    tick = low
    while tick <= high + step / 2:
        body.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#eceff1"/>'
        )
        body.append(
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" {FONT}>{tick:g}{unit}</text>'
        )
        tick += step
    last = len(days) - 1
    for index in sorted({0, len(days) // 2, last}):
        # The end dates sit on the plot's edges: centred there, half of "01 Dec 2026" fell outside the image.
        anchor = "end" if index == last and last else "start" if index == 0 else "middle"
        body.append(
            f'<text x="{x(days[index]):.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}" {FONT}>'
            f"{days[index]:%d %b %Y}</text>"
        )
    if band:
        upper = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in zip(days, band[1], strict=True))
        lower = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in reversed(list(zip(days, band[0], strict=True))))
        body.append(f'<polygon points="{upper} {lower}" fill="{band[2]}" opacity="0.22"/>')
    legend = _legend_positions(list(series), left, width - right)
    extra = 16 * max(row for _, row in legend.values())
    for name, (points, color, dashed) in series.items():
        dash = ' stroke-dasharray="5 3"' if dashed else ""
        segment: list[str] = []
        for day, value in zip(days, points, strict=True):
            if value is None:
                if len(segment) > 1:
                    body.append(_polyline(segment, color, dash))
                segment = []
                continue
            segment.append(f"{x(day):.1f},{y(value):.1f}")
        if len(segment) > 1:
            body.append(_polyline(segment, color, dash))
        legend_x, row = legend[name]
        legend_y = height - 10 + 16 * row
        body.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 18}" y2="{legend_y - 4}" stroke="{color}" '
            f'stroke-width="2.5"{dash}/><text x="{legend_x + 22}" y="{legend_y}" {FONT}>{escape(name)}</text>'
        )
    return _svg(width, height + extra, body, title)


def _legend_positions(names: list[str], left: int, right_edge: int) -> dict[str, tuple[int, int]]:
    """Each legend entry's x and row: entries wrap to a new row (the image grows) rather than run off the edge,
    as a long one such as `Segment median (seat_band=11-50)` did."""
    positions: dict[str, tuple[int, int]] = {}
    x, row = left, 0
    for name in names:
        entry = 22 + 7 * len(name)  # the swatch, then the text at ~7 px a character
        if x > left and x + entry > right_edge:
            x, row = left, row + 1
        positions[name] = (x, row)
        x += entry + 8
    return positions


def _polyline(points: list[str], color: str, dash: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2.2"{dash}/>'


def bar_rows(
    rows: Sequence[tuple[str, float, str]], title: str, *, maximum: float | None = None, width: int = 520
) -> str:
    """Horizontal bars: (label, value, value text), longest label on the left, value text after the bar."""
    label_w, right, row_h = 170, 120, 24
    height = row_h * len(rows) + 8
    peak = maximum or max((v for _, v, _ in rows), default=0) or 1
    plot_w = width - label_w - right
    body = []
    for index, (name, value, text) in enumerate(rows):
        top = 4 + index * row_h
        w = plot_w * max(value, 0) / peak
        shown = name if len(name) <= 28 else name[:27] + "…"
        body.append(
            f'<text x="{label_w - 6}" y="{top + 15}" text-anchor="end" {FONT}>{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{top + 3}" width="{w:.1f}" height="{row_h - 8}" fill="#1565c0"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{top + 15}" {FONT}>{escape(text)}</text>'
        )
    return _svg(width, height, body, title)
