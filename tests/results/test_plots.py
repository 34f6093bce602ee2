"""The report's plots as a reader sees them: numbers that never cover one another, run names that never narrow the
plot, labelled axes on every panel, trial dots one can see, and any script's run names drawn without warnings."""
from __future__ import annotations

import itertools
import logging
import warnings

import pytest

from results import fonts
from results.plots import (LEGEND_NAME_LENGTH, Point, Progress, pareto_figure, pareto_svg, progress_figure,
                           progress_svg)

LONG_NAME = "a-search-of-the-cnn-space-on-mnist-with-a-name-that-says-everything-about-it-" * 2  # 156 characters


def crowded(run: str = "crowded") -> list[Point]:
    """60 trials: 29 on both fronts, close together (a staircase of small steps), the fastest alone in the corner
    with the largest marker, and 30 behind them."""
    front = [Point(run, number, 0.90 + 0.0025 * number, 0.30 + 0.004 * number, 20_000 + 40_000 * number, True)
             for number in range(29)]
    fastest = Point(run, 29, 0.60, 0.10, 5_000_000, True)
    behind = [Point(run, 30 + number, 0.80 + 0.002 * number, 0.35 + 0.01 * number, 50_000 * (1 + number % 7), False)
              for number in range(30)]
    return front + [fastest] + behind


def curves(run: str) -> list[Progress]:
    return [Progress(run, tuple((number, 2.0 * number, 0.5 + 0.01 * number) for number in range(20)))]


def label_boxes(figure, dpi: float):
    """The window extents of the plot's labels and of its axes at `dpi`: the SVG's 72, or the figure's own 100."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure.set_dpi(dpi)
    renderer = FigureCanvasAgg(figure).get_renderer()
    axes = figure.axes[0]
    return [label.get_window_extent(renderer) for label in axes.texts], axes.get_window_extent(renderer)


@pytest.mark.parametrize("dpi", [72, 100])
def test_point_numbers_on_a_crowded_front_never_overlap_and_stay_inside_the_axes(dpi):
    points = crowded()
    figure = pareto_figure(points, ["crowded"])
    boxes, frame = label_boxes(figure, dpi)
    texts = [label.get_text() for label in figure.axes[0].texts]
    assert {"#28", "#29"} <= set(texts) and len(texts) >= 8  # the most accurate, the fastest, and several others
    assert len(texts) < 29  # not all of the staircase fits: the rest go unnumbered rather than covered
    for first, second in itertools.combinations(boxes, 2):
        assert not first.overlaps(second), f"{first} overlaps {second}"
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def test_a_number_too_wide_for_the_margin_beside_it_goes_to_the_other_side():
    # the fastest trial sits at the axes' left edge: a label to its left would cross the y axis
    points = [Point("run", 123_456, 0.50, 0.10, 1000, True), Point("run", 7, 0.90, 0.50, 1000, True)]
    figure = pareto_figure(points, ["run"])
    boxes, frame = label_boxes(figure, 72)
    assert sorted(label.get_text() for label in figure.axes[0].texts) == ["#123456", "#7"]
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


def plot_widths(figure) -> list[float]:
    figure.draw_without_rendering()  # lays the figure out, as saving it does
    return [axes.get_position().width for axes in figure.axes]


def test_a_long_run_name_leaves_the_plots_as_wide_and_is_shortened_in_their_legends():
    short_pareto, long_pareto = pareto_figure(crowded("cnn"), ["cnn"]), pareto_figure(crowded(LONG_NAME), [LONG_NAME])
    assert plot_widths(long_pareto) == pytest.approx(plot_widths(short_pareto), abs=1e-3)
    short_progress, long_progress = progress_figure(curves("cnn"), ["cnn"]), progress_figure(curves(LONG_NAME),
                                                                                            [LONG_NAME])
    assert plot_widths(long_progress) == pytest.approx(plot_widths(short_progress), abs=1e-3)
    for figure in (long_pareto, long_progress):
        names = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
        assert LONG_NAME[:LEGEND_NAME_LENGTH - 1] + "\N{HORIZONTAL ELLIPSIS}" in names
        assert max(map(len, names)) <= 45  # the longest: "Pareto front (accuracy, latency, parameters)"


def test_every_panel_labels_both_its_axes():
    for figure in (pareto_figure(crowded(), ["crowded"]), progress_figure(curves("cnn"), ["cnn"])):
        for axes in figure.axes:
            assert axes.get_xlabel() and axes.get_ylabel()


def test_trial_dots_are_plain_to_see_and_lighter_than_the_best_so_far_line():
    figure = progress_figure(curves("cnn"), ["cnn"])
    for axes in figure.axes:
        [dots], [line] = axes.collections, axes.lines
        assert 0.5 <= dots.get_alpha() < (line.get_alpha() or 1.0)
        assert min(dots.get_sizes()) >= 12  # points², as big as the Pareto plot's smallest marker


def drawn_without_warnings(run: str, caplog) -> str:
    """Both plots of one run named `run`, as SVG, checking that matplotlib warned of nothing (missing glyphs,
    fonts not found)."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("always")
        svg = pareto_svg(crowded(run)[:5], [run]) + progress_svg(curves(run), [run])
    assert [str(warning.message) for warning in caught] == []
    assert caplog.records == []
    return svg


def test_a_run_name_no_installed_font_draws_is_escaped_not_drawn_as_boxes(monkeypatch, caplog):
    monkeypatch.setattr(fonts, "_installed_families", lambda: ["DejaVu Sans"])  # no CJK font, as on a bare server
    svg = drawn_without_warnings("探索-実験", caplog)
    assert "探" not in svg and svg.count(r"\u63a2\u7d22-\u5b9f\u9a13") == 2  # each plot's legend


def test_a_run_name_the_plot_font_lacks_falls_back_to_an_installed_font_that_has_it(caplog):
    name = "circled-\N{CIRCLED LATIN CAPITAL LETTER A}"  # not in DejaVu Sans; in STIX, which matplotlib ships
    svg = drawn_without_warnings(name, caplog)
    assert svg.count(name) == 2 and "'STIXGeneral'" in svg
