"""Fit measured build times against portfolio size and extrapolate: a straight line and a power law.

Both are least-squares fits, the power law in log-log space. The exponent says how the cost grows: ~1 is
proportional to the portfolio, well under 1 means fixed costs (dbt's start-up, parsing) still dominate at the
measured sizes, over 1 means something grows faster than the data (a model that re-reads history).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Linear:
    intercept: float
    slope: float

    def at(self, n: float) -> float:
        return self.intercept + self.slope * n

    def describe(self) -> str:
        return f"{self.intercept:.2f} s + {self.slope * 1000:.3f} s per 1,000 tenants"


@dataclass(frozen=True, slots=True)
class PowerLaw:
    coefficient: float
    exponent: float

    def at(self, n: float) -> float:
        return self.coefficient * n**self.exponent

    def describe(self) -> str:
        return f"{self.coefficient:.4g} s x tenants^{self.exponent:.2f}"


def _check(xs: Sequence[float], ys: Sequence[float]) -> None:
    if len(xs) != len(ys):
        raise ValueError("as many sizes as times, please")
    if len(set(xs)) < 2:
        raise ValueError("a fit needs at least two different sizes")


def fit_linear(xs: Sequence[float], ys: Sequence[float]) -> Linear:
    _check(xs, ys)
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    return Linear(mean_y - slope * mean_x, slope)


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> PowerLaw:
    _check(xs, ys)
    if min(xs) <= 0 or min(ys) <= 0:
        raise ValueError("a power law needs positive sizes and times")
    line = fit_linear([math.log(x) for x in xs], [math.log(y) for y in ys])
    return PowerLaw(math.exp(line.intercept), line.slope)


def curve(
    measured: dict[int, float], points: Sequence[int]
) -> tuple[Linear, PowerLaw, list[tuple[int, float | None, float, float]]]:
    """Both fits of `measured` (tenants → seconds) and, for every size in `points` and every measured one,
    (tenants, measured or None, linear, power law)."""
    sizes = sorted(measured)
    linear = fit_linear(sizes, [measured[n] for n in sizes])
    power = fit_power(sizes, [measured[n] for n in sizes])
    rows = [(n, measured.get(n), linear.at(n), power.at(n)) for n in sorted(set(sizes) | set(points))]
    return linear, power, rows


def render(name: str, measured: dict[int, float], points: Sequence[int]) -> str:
    """A plain-text table of the measured figures and both curves at `points`."""
    linear, power, rows = curve(measured, points)
    lines = [
        f"{name}: linear {linear.describe()}; power law {power.describe()}",
        f"  {'tenants':>8}  {'measured s':>10}  {'linear s':>9}  {'power s':>9}",
    ]
    for n, seen, lin, pow_ in rows:
        shown = f"{seen:10.1f}" if seen is not None else f"{'':>10}"
        lines.append(f"  {n:>8,}  {shown}  {lin:9.1f}  {pow_:9.1f}")
    return "\n".join(lines)
