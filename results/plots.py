"""The report's plots, drawn by matplotlib as SVG text to inline in one HTML file.

matplotlib is imported inside the functions (a report is the only thing that needs it), and only through
`matplotlib.figure.Figure`: no pyplot, so no global figures and no GUI backend. Text stays text in the SVG
(`svg.fonttype: none`), which matplotlib escapes for XML; run names go through results/fonts.py, so that a name
with `$` signs is not typeset as mathematics and one in a script the plot's font lacks is never drawn as boxes.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from results.fonts import PlotFonts, fonts_for

# matplotlib's tab10, so a run keeps its colour across the plots and the tables.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
               "#17becf")
_RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
       "axes.grid": True, "grid.alpha": 0.3}
LEGEND_NAME_LENGTH = 32  # a longer run name ends in an ellipsis in the legends (the Runs table has it whole)
BEST_NAMED = 3  # on the Pareto plot the most accurate trials are numbered too, after the fronts' members
# Where a point's number may go, in order of preference: the direction of its label's near corner from the point.
_LABEL_DIRECTIONS = ((-1, 1), (1, 1), (1, -1), (-1, -1), (0, 1), (0, -1), (1, 0), (-1, 0))
_LABEL_GAP = 2.0  # points between a label and its point's marker, and between two labels
_DOT_AREA, _DOT_ALPHA = 14.0, 0.5  # a trial's dot on the best-so-far curves: plain to see, lighter than the line
_KEY_GREY = "#6b7280"  # legend entries that stand for every run


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
    return svg_text(pareto_figure(points, runs), "pareto")


def pareto_figure(points: Sequence[Point], runs: Sequence[str]):
    """Validation accuracy against latency, point area by parameters. Ringed: the members of the rows' Pareto
    front over accuracy, latency and parameters. Joined by a staircase: the members no point beats on accuracy and
    latency alone, the front this plot's two axes show. Numbered: as many of those and of the most accurate trials
    as fit without one label covering another. The legend goes below the axes, so run names never narrow them."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    shown = [run for run in runs if any(point.run == run for point in points)]
    fonts = fonts_for(shown)
    with _style(fonts):
        figure = Figure(figsize=(10, 5.2), layout="constrained")
        axes = figure.add_subplot()
        largest = max((point.params or 0 for point in points), default=0) or 1
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
        axes.set_xlabel("latency (ms, batch of 1)")
        axes.set_ylabel("validation accuracy (%)")
        axes.margins(y=0.08)  # room above the most accurate points for their numbers
        handles = [Line2D([], [], linestyle="", marker="o", color=run_colour(runs.index(run)), alpha=0.7)
                   for run in shown]
        labels = [fonts.label(run, LEGEND_NAME_LENGTH) for run in shown]
        handles += [Line2D([], [], linestyle="", marker="o", color="black", markerfacecolor="none"),
                    Line2D([], [], color="black", linewidth=1)]
        labels += ["Pareto front (accuracy, latency, parameters)", "front on these two axes (#: trial)"]
        for params in _reference_sizes(largest):
            handles.append(Line2D([], [], linestyle="", marker="o", color="#9ca3af",
                                  markersize=math.sqrt(_area(params, largest))))
            labels.append(f"{_count(params)} parameters")
        # Labels passed explicitly: matplotlib would drop a run whose name starts with an underscore.
        figure.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=7, frameon=False)
        _number_points(figure, axes, points, _worth_naming(points, staircase), largest, runs)
    return figure


def _worth_naming(points: Sequence[Point], staircase: list[Point]) -> list[Point]:
    """The points to number, the most telling first: the staircase, the most accurate trials, the rest of the
    front, each most accurate first."""
    by_accuracy = sorted(points, key=lambda point: -point.validation_accuracy)
    return list(dict.fromkeys(sorted(staircase, key=lambda point: -point.validation_accuracy)
                              + by_accuracy[:BEST_NAMED] + [point for point in by_accuracy if point.on_front]))


def _number_points(figure, axes, points: Sequence[Point], named: list[Point], largest: int,
                   runs: Sequence[str]) -> None:
    """Each of `named` gets its trial number at the first place around it where the label stays inside the axes,
    clear of the labels placed before it and of the named points' markers, and if it can of every other marker
    too; one that fits nowhere goes unnumbered. A greedy placement, measured by matplotlib's renderer
    (Text.get_window_extent)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw_without_rendering()  # the constrained layout places the axes...
    figure.set_layout_engine("none")  # ...and they stay there, where the labels are measured against them
    frame = axes.get_window_extent(renderer)
    taken = [_marker_box(axes, renderer, point, largest) for point in named]
    others = [_marker_box(axes, renderer, point, largest) for point in points if point not in named]
    for point in named:
        distance = _marker_radius(point, largest) + _LABEL_GAP
        candidates = [axes.annotate(f"#{point.trial}", (point.latency_ms, 100 * point.validation_accuracy),
                                    textcoords="offset points", xytext=(x * distance, y * distance), fontsize=7,
                                    ha=("right", "center", "left")[x + 1], va=("top", "center", "bottom")[y + 1],
                                    color=run_colour(runs.index(point.run)), zorder=5)
                      for x, y in _LABEL_DIRECTIONS]
        boxes = [label.get_window_extent(renderer).padded(renderer.points_to_pixels(_LABEL_GAP) / 2)
                 for label in candidates]
        fitting = [index for index, box in enumerate(boxes) if _inside(box, frame) and not _overlaps(box, taken)]
        chosen = next((index for index in fitting if not _overlaps(boxes[index], others)),
                      fitting[0] if fitting else None)
        for index, label in enumerate(candidates):
            if index != chosen:
                label.remove()
        if chosen is not None:
            taken.append(boxes[chosen])


def _marker_box(axes, renderer, point: Point, largest: int):
    from matplotlib.transforms import Bbox

    x, y = axes.transData.transform((point.latency_ms, 100 * point.validation_accuracy))
    radius = renderer.points_to_pixels(_marker_radius(point, largest))
    return Bbox.from_extents(x - radius, y - radius, x + radius, y + radius)


def _marker_radius(point: Point, largest: int) -> float:
    return math.sqrt(_area(point.params, largest)) / 2  # a scatter marker's size is its area in points²


def _inside(box, frame) -> bool:
    return frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def _overlaps(box, boxes) -> bool:
    return any(box.overlaps(other) for other in boxes)


def front_2d(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both accuracy and latency, fastest first (accuracy then rises)."""
    front, best = [], -math.inf
    for point in sorted(points, key=lambda p: (p.latency_ms, -p.validation_accuracy)):
        if point.validation_accuracy > best:
            front.append(point)
            best = point.validation_accuracy
    return front


def progress_svg(progress: Sequence[Progress], runs: Sequence[str]) -> str:
    return svg_text(progress_figure(progress, runs), "progress")


def progress_figure(progress: Sequence[Progress], runs: Sequence[str]):
    """Each run's best validation accuracy so far, against trial number and against wall time, over a dot for
    each trial."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fonts = fonts_for(curve.run for curve in progress)
    with _style(fonts):
        figure = Figure(figsize=(10, 4), layout="constrained")
        by_trial, by_time = figure.subplots(1, 2)
        span = max((minutes for curve in progress for _, minutes, _ in curve.trials if minutes is not None), default=0)
        unit, per_minute = ("hours", 1 / 60) if span > 180 else ("minutes", 1.0)
        timed = False
        for curve in progress:
            colour = run_colour(runs.index(curve.run))
            numbers = [number for number, _, _ in curve.trials]
            accuracies = [accuracy for _, _, accuracy in curve.trials]
            by_trial.step(numbers, _best_so_far(accuracies), where="post", color=colour, linewidth=1.5,
                          label=fonts.label(curve.run, LEGEND_NAME_LENGTH))
            _trial_dots(by_trial, numbers, accuracies, colour)
            # In wall time, a trial counts once it has finished: the order of finishing, not of numbering.
            finished = sorted((minutes * per_minute, accuracy) for _, minutes, accuracy in curve.trials
                              if minutes is not None)
            if finished:
                timed = True
                moments = [moment for moment, _ in finished]
                by_time.step(moments, _best_so_far([accuracy for _, accuracy in finished]), where="post",
                             color=colour, linewidth=1.5)
                _trial_dots(by_time, moments, [accuracy for _, accuracy in finished], colour)
        for axes, across in ((by_trial, "trial number"), (by_time, f"{unit} since the run started")):
            axes.set_xlabel(across)
            axes.set_ylabel("validation accuracy (%)")
        if not timed:
            by_time.text(0.5, 0.5, "no finish times stored", ha="center", va="center", transform=by_time.transAxes)
        handles, labels = by_trial.get_legend_handles_labels()
        handles += [Line2D([], [], color=_KEY_GREY, linewidth=1.5),
                    Line2D([], [], linestyle="", marker="o", color=_KEY_GREY, alpha=_DOT_ALPHA,
                           markersize=math.sqrt(_DOT_AREA))]
        labels += ["best so far", "a trial"]
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=7,
                      frameon=False)
    return figure


def _trial_dots(axes, moments: Sequence[float], accuracies: Sequence[float], colour: str) -> None:
    """One dot per trial: its own accuracy, half-transparent so the best-so-far line stays the stronger mark."""
    axes.scatter(moments, [100 * accuracy for accuracy in accuracies], color=colour, s=_DOT_AREA, alpha=_DOT_ALPHA,
                 linewidths=0, zorder=1)


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
    with _style():
        figure.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)


def _style(fonts: PlotFonts | None = None):
    import matplotlib

    return matplotlib.rc_context(_RC if fonts is None else {**_RC, "font.family": list(fonts.families)})


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
