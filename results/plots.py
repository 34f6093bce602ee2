"""The report's plots, drawn by matplotlib as SVG text to inline in one HTML file.

matplotlib is imported inside the functions (a report is the only thing that needs it), and only through
`matplotlib.figure.Figure`: no pyplot, so no global figures and no GUI backend. Text stays text in the SVG
(`svg.fonttype: none`), which matplotlib escapes for XML; labels go through `_plain` so that a run name with
`$` signs is not typeset as mathematics.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

# matplotlib's tab10, so a run keeps its colour across the plots and the tables.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf")
_RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
       "axes.grid": True, "grid.alpha": 0.3}


@dataclass(frozen=True)
class Point:
    """One scored trial on the Pareto plot."""

    run: str
    trial: int
    validation_accuracy: float
    latency_ms: float
    params: int | None
    on_front: bool


@dataclass(frozen=True)
class Progress:
    """One run's scored trials for its best-so-far curves: (trial number, minutes since the run started or None,
    validation accuracy), in trial-number order."""

    run: str
    trials: tuple[tuple[int, float | None, float], ...]


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def pareto_svg(points: Sequence[Point], runs: Sequence[str]) -> str:
    """Validation accuracy against latency, point area by parameters. Ringed: the members of the rows' Pareto
    front over accuracy, latency and parameters. Joined by a staircase and numbered: the members no point beats
    on accuracy and latency alone, the front this plot's two axes show."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    with _style():
        figure = Figure(figsize=(10, 4.6), layout="constrained")
        axes = figure.add_subplot()
        largest = max((point.params or 0 for point in points), default=0) or 1
        shown = [run for run in runs if any(point.run == run for point in points)]
        for run in shown:
            mine = [point for point in points if point.run == run]
            axes.scatter([p.latency_ms for p in mine], [100 * p.validation_accuracy for p in mine],
                         s=[_area(p.params, largest) for p in mine], color=run_colour(runs.index(run)), alpha=0.55,
                         linewidths=0)
        front = [point for point in points if point.on_front]
        if front:
            axes.scatter([p.latency_ms for p in front], [100 * p.validation_accuracy for p in front],
                         s=[_area(p.params, largest) for p in front], facecolors="none", edgecolors="black",
                         linewidths=1.2, zorder=4)
        staircase = front_2d(points)
        axes.plot([p.latency_ms for p in staircase], [100 * p.validation_accuracy for p in staircase], color="black",
                  linewidth=1, drawstyle="steps-post", zorder=3)
        for point in staircase:
            axes.annotate(f"#{point.trial}", (point.latency_ms, 100 * point.validation_accuracy),
                          textcoords="offset points", xytext=(-4, 6), ha="right", fontsize=7)
        axes.set_xlabel("latency (ms, batch of 1)")
        axes.set_ylabel("validation accuracy (%)")
        handles = [Line2D([], [], linestyle="", marker="o", color=run_colour(runs.index(run)), alpha=0.7)
                   for run in shown]
        labels = [_plain(run) for run in shown]
        handles += [Line2D([], [], linestyle="", marker="o", color="black", markerfacecolor="none"),
                    Line2D([], [], color="black", linewidth=1)]
        labels += ["Pareto front (accuracy, latency, parameters)", "front on these two axes (#: trial)"]
        for params in _reference_sizes(largest):
            handles.append(Line2D([], [], linestyle="", marker="o", color="#9ca3af",
                                  markersize=math.sqrt(_area(params, largest))))
            labels.append(f"{_count(params)} parameters")
        # Labels passed explicitly: matplotlib would drop a run whose name starts with an underscore.
        figure.legend(handles, labels, loc="outside right upper", fontsize=7, frameon=False)
        return svg_text(figure, "pareto")


def front_2d(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both accuracy and latency, fastest first (accuracy then rises)."""
    front, best = [], -math.inf
    for point in sorted(points, key=lambda p: (p.latency_ms, -p.validation_accuracy)):
        if point.validation_accuracy > best:
            front.append(point)
            best = point.validation_accuracy
    return front


def progress_svg(progress: Sequence[Progress], runs: Sequence[str]) -> str:
    """Each run's best validation accuracy so far, against trial number and against wall time."""
    from matplotlib.figure import Figure

    with _style():
        figure = Figure(figsize=(9.5, 3.6), layout="constrained")
        by_trial, by_time = figure.subplots(1, 2)
        span = max((minutes for curve in progress for _, minutes, _ in curve.trials if minutes is not None), default=0)
        unit, per_minute = ("hours", 1 / 60) if span > 180 else ("minutes", 1.0)
        timed = False
        for curve in progress:
            colour = run_colour(runs.index(curve.run))
            numbers = [number for number, _, _ in curve.trials]
            by_trial.step(numbers, _best_so_far([accuracy for _, _, accuracy in curve.trials]), where="post",
                          color=colour, label=_plain(curve.run))
            by_trial.scatter(numbers, [100 * accuracy for _, _, accuracy in curve.trials], color=colour, s=8,
                             alpha=0.35, linewidths=0)
            # In wall time, a trial counts once it has finished: the order of finishing, not of numbering.
            finished = sorted((minutes * per_minute, accuracy) for _, minutes, accuracy in curve.trials
                              if minutes is not None)
            if finished:
                timed = True
                by_time.step([moment for moment, _ in finished], _best_so_far([accuracy for _, accuracy in finished]),
                             where="post", color=colour)
        by_trial.set_xlabel("trial number")
        by_trial.set_ylabel("best validation accuracy so far (%)")
        by_time.set_xlabel(f"{unit} since the run started")
        if not timed:
            by_time.text(0.5, 0.5, "no finish times stored", ha="center", va="center", transform=by_time.transAxes)
        handles, labels = by_trial.get_legend_handles_labels()
        by_trial.legend(handles, labels, fontsize=7, loc="lower right")
        return svg_text(figure, "progress")


def _best_so_far(accuracies: Sequence[float]) -> list[float]:
    best, curve = -math.inf, []
    for accuracy in accuracies:
        best = max(best, accuracy)
        curve.append(100 * best)
    return curve


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds() / 60, 0.0)


def svg_text(figure, prefix: str) -> str:
    """The figure as an <svg> element to inline in HTML: no XML prolog, no metadata, ids prefixed so that several
    figures on one page never share one."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)


def _style():
    import matplotlib

    return matplotlib.rc_context(_RC)


def _plain(text: str) -> str:
    """A label matplotlib shows as written: `$` would start mathtext."""
    return text.replace("$", r"\$")  # matplotlib shows \$ as $ and leaves other backslashes alone


def _area(params: int | None, largest: int) -> float:
    """Marker area in points²: from 12 to 320, by the square root of the parameters, so sizes stay readable from
    5k to a few million."""
    if not params:
        return 12.0
    return 12.0 + 308.0 * math.sqrt(params / largest)


def _reference_sizes(largest: int) -> list[int]:
    if largest <= 1:
        return []
    sizes = [10 ** exponent for exponent in range(3, 9) if 10 ** exponent <= largest]
    return sizes[-3:]


def _count(value: int) -> str:
    return f"{value // 1_000_000}M" if value >= 1_000_000 else f"{value // 1000}k" if value >= 1000 else str(value)
