"""The HTML report: one self-contained file with the leaderboard, each run's cost, the Pareto plot, each run's
best-so-far curves and layer diagrams of the best architectures.

Nothing in it is loaded from elsewhere: the CSS is inline, the plots are inline SVG drawn by matplotlib
(results/plots.py), the diagrams inline SVG (results/diagrams.py), and there is no script. Every piece of text that
comes from the store (run and dataset names, architectures, error messages) goes through `html.escape`, and the
page's Content-Security-Policy forbids scripts and loads anyway, should something slip through.
"""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from results.diagrams import choices_html, layers_svg, stored_layers, total_params
from results.formats import (PARETO_MARK, PARETO_NOTE, TEXT_COLUMNS, column_names, percent_text, row_cells, row_status,
                             table_layout)
from results.leaderboard import LeaderboardRow, run_costs
from results.lease import shown_status
from results.plots import Point, Progress, minutes_between, pareto_svg, progress_svg, run_colour
from results.records import RunRecord, TrialRecord
from results.store import ResultStore

TOP_BY_ACCURACY = 3  # diagrams: the three most accurate trials, then Pareto members, up to `max_diagrams`
MAX_DIAGRAMS = 6


def write_report(store: ResultStore, path: str | Path, rows: Sequence[LeaderboardRow], *,
                 title: str = "NAS leaderboard", generated_at: datetime | None = None,
                 max_diagrams: int = MAX_DIAGRAMS) -> None:
    """Write `render_report` to `path` (UTF-8). OSError if the path cannot be written."""
    text = render_report(store, rows, title=title, generated_at=generated_at, max_diagrams=max_diagrams)
    Path(path).write_text(text, encoding="utf-8")


def render_report(store: ResultStore, rows: Sequence[LeaderboardRow], *, title: str = "NAS leaderboard",
                  generated_at: datetime | None = None, max_diagrams: int = MAX_DIAGRAMS) -> str:
    """The report of `rows` (a leaderboard, best first) as one HTML document. The store supplies what the rows
    lack: each run's record and all its trials, for the costs and the best-so-far curves."""
    if max_diagrams < 0:
        raise ValueError(f"Expected max_diagrams >= 0. Received: {max_diagrams}")
    generated_at = generated_at or datetime.now(timezone.utc)
    rows = list(rows)
    runs = list(dict.fromkeys(row.run for row in rows))  # in order of their best row
    records = {run: store.get_run(run) for run in runs}
    trials = {run: store.trials(run) for run in runs}
    sections = [_header(title, rows, runs, generated_at)]
    if rows:
        # The leaderboard last: it may run to hundreds of rows.
        sections += [_runs_section(store, runs, records, trials), _pareto_section(rows, runs),
                     _progress_section(runs, records, trials), _diagrams_section(rows, trials, max_diagrams),
                     _table_section(rows, runs)]
    else:
        sections.append('<p class="empty">No stored trials match: nothing to report.</p>')
    return _page(title, "\n".join(sections))


def _header(title: str, rows: list[LeaderboardRow], runs: list[str], generated_at: datetime) -> str:
    statuses = {}
    for row in rows:
        statuses[row_status(row)] = statuses.get(row_status(row), 0) + 1
    counts = ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
    run_names = ", ".join(f'<span class="run">{_text(run)}</span>' for run in runs) or "none"
    members = sum(row.pareto for row in rows)
    return (f"<header><h1>{_text(title)}</h1>"
            f"<p>Generated {generated_at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC. "
            f"{len(rows)} trial(s){f' ({counts})' if counts else ''} from {len(runs)} run(s): {run_names}. "
            f"{members} on the Pareto front.</p></header>")


def _runs_section(store: ResultStore, runs: list[str], records: dict[str, RunRecord | None],
                  trials: dict[str, list[TrialRecord]]) -> str:
    costs = {cost.run: cost for cost in run_costs(store, runs)}
    lines = []
    for index, run in enumerate(runs):
        record, cost = records[run], costs[run]
        details = ([record.space, record.strategy, record.dataset, shown_status(record).value,
                    _when(record.created_at)] if record else ["-"] * 5)
        lines.append(f'<tr><td class="run"><span class="swatch" style="background:{run_colour(index)}"></span>'
                     f'{_text(run)}</td>{"".join(f"<td>{_text(detail)}</td>" for detail in details)}'
                     f'<td class="recipe">{_text(_recipe_text(record, trials[run]))}</td>'
                     f'<td class="number">{len(trials[run])}</td><td class="number">{cost.cpu_hours:.3f}</td>'
                     f'<td class="number">{cost.gpu_hours:.3f}</td></tr>')
    head = "".join(f"<th>{name}</th>" for name in ("run", "space", "strategy", "dataset", "status", "started",
                                                   "trials trained", "trials stored", "CPU-hours", "GPU-hours"))
    return (f'<section><h2>Runs</h2><table class="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}'
            f'</tbody></table><p class="note">A trial\'s validation accuracy is a low-fidelity estimate, made to rank '
            f'architectures cheaply: after a few epochs on a subset it can lie far below what the same architecture '
            f'reaches trained fully, which the final training of the best measures (test accuracy). Validation '
            f'always uses the whole validation split.</p><p class="note">CPU- and GPU-hours: what Ray reserved for '
            f'each trial times how long it held them, retried attempts and the final training of the top '
            f'architectures included.</p></section>')


def _recipe_text(record: RunRecord | None, trials: list[TrialRecord]) -> str:
    """How the run's trials were trained and its best retrained, from the settings it stored (SearchConfig)."""
    config = record.config if record else {}
    if "epochs" not in config:  # a run stored without its settings
        return "-"
    subset = config.get("train_subset")
    trained = f"{_epochs(config['epochs'])} on {f'{subset:,} examples' if subset else 'all training data'}"
    if config.get("weight_sharing"):
        # Only the shortlist trains alone, and only when a final training follows (nas/runner/experiment.py).
        shortlist = config.get("shortlist") if config.get("top_k") else 0
        parts = ["judged with the shared weights of a supernet, not trained alone"]
        parts += [f"the best {shortlist} judged then trained {trained}"] if shortlist else []
    else:
        parts = [trained]
    top_k = config.get("top_k")
    if not top_k:
        return "; ".join(parts + ["no final training"])
    # Under a time budget the final training fits its epochs to what is left; the trials record what it ran.
    fitted = [trial.final_epochs for trial in trials if trial.final_epochs]
    final_epochs = max(fitted) if fitted else config.get("final_epochs")
    retrained = (f"{_epochs(final_epochs)} on all training data" if final_epochs
                 else "on all training data for what the time budget left")
    return "; ".join(parts + [f"the best {top_k} retrained {retrained}"])


def _epochs(count: int) -> str:
    return f"{count} epoch{'' if count == 1 else 's'}"


def _table_section(rows: list[LeaderboardRow], runs: list[str]) -> str:
    layout = table_layout(rows)
    columns = [PARETO_MARK] + column_names(layout)
    head = "".join(f'<th class="{_cell_class(column)}">{_text(column)}</th>' for column in columns)
    body = []
    for row in rows:
        cells = [PARETO_MARK if row.pareto else ""] + row_cells(row, layout)
        body.append(f'<tr class="{"front" if row.pareto else ""} {_text(row_status(row))}">' + "".join(
            f'<td class="{_cell_class(column)}">{_breakable(cell) if column == "architecture" else _text(cell)}</td>'
            for column, cell in zip(columns, cells)) + "</tr>")
    return (f'<section><h2>Leaderboard</h2><table class="board"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><p class="note">{_text(PARETO_NOTE)}.</p></section>')


def _cell_class(column: str) -> str:
    return "mark" if column == PARETO_MARK else f"text {column}" if column in TEXT_COLUMNS else "number"


def _pareto_section(rows: list[LeaderboardRow], runs: list[str]) -> str:
    points = [Point(row.run, row.trial, row.validation_accuracy, row.latency_ms, row.params, row.pareto)
              for row in rows if row.validation_accuracy is not None and row.latency_ms is not None]
    body = (pareto_svg(points, runs) if points
            else '<p class="empty">No trial has both a validation accuracy and a latency.</p>')
    return (f'<section class="plot" id="pareto"><h2>Accuracy against latency</h2>{body}<p class="note">Validation '
            f'accuracy after each trial\'s short training (Runs, "trials trained"). Point area grows with the '
            f'parameters. Ringed: the Pareto front over accuracy, latency and parameters ({PARETO_MARK} in the '
            f'tables). The staircase joins those that no trial beats on accuracy and latency alone; the numbers are '
            f'trials, of the front and the most accurate, where they fit.</p></section>')


def _progress_section(runs: list[str], records: dict[str, RunRecord | None],
                      trials: dict[str, list[TrialRecord]]) -> str:
    curves = []
    for run in runs:
        scored = [trial for trial in trials[run] if trial.validation_accuracy is not None]
        record = records[run]
        # The run's clock starts when it was created; a run stored without that starts at its first trial.
        start = (record.created_at if record and record.created_at else
                 min((trial.started_at for trial in trials[run] if trial.started_at), default=None))
        if scored:
            curves.append(Progress(run, tuple((trial.number, minutes_between(start, trial.finished_at),
                                               trial.validation_accuracy) for trial in scored)))
    body = (progress_svg(curves, runs) if curves
            else '<p class="empty">No run has a scored trial yet.</p>')
    return (f'<section class="plot" id="progress"><h2>Best so far</h2>{body}<p class="note">Every scored trial of '
            f'each run, filters aside: the best validation accuracy reached by each trial number (dots: the '
            f'trials) and by each moment since the run started.</p></section>')


def _diagrams_section(rows: list[LeaderboardRow], trials: dict[str, list[TrialRecord]], max_diagrams: int) -> str:
    chosen = _diagram_rows(rows, max_diagrams)
    if not chosen:
        return ""
    # A row carries its architecture's canonical key; the stored trial has the values and the layers built.
    stored = {(trial.run, trial.number): trial for run_trials in trials.values() for trial in run_trials}
    figures = []
    for row in chosen:
        trial = stored.get((row.run, row.trial))
        layers = stored_layers(trial.layers if trial else None)
        drawing = layers_svg(layers) if layers else choices_html(trial.arch if trial else {})
        check = ""
        if layers and row.params is not None and total_params(layers) not in (None, row.params):
            check = f" (the layers count {total_params(layers):,})"
        facts = [_score_text(row, "validation"),
                 _score_text(row, "test") if row.test_score is not None else "",
                 f"{row.latency_ms:.3f} ms" if row.latency_ms is not None else "",
                 f"{row.params:,} parameters{check}" if row.params is not None else ""]
        figures.append(f'<figure class="architecture"><figcaption><strong>{PARETO_MARK + " " if row.pareto else ""}'
                       f'{_text(row.run)} · trial {row.trial}</strong><br>{_text(", ".join(f for f in facts if f))}'
                       f'<br><code>{_text(row.space)}: {_breakable(row.arch)}</code></figcaption>{drawing}</figure>')
    return (f'<section id="architectures"><h2>Best architectures</h2><p class="note">The {TOP_BY_ACCURACY} most '
            f'accurate trials, then Pareto members ({PARETO_MARK}), at most {max_diagrams}; layers as each trial '
            f'built them, with output shapes and parameters.</p><div class="figures">{"".join(figures)}</div>'
            f'</section>')


def _score_text(row: LeaderboardRow, part: str) -> str:
    accuracy = row.validation_accuracy if part == "validation" else row.test_accuracy
    if accuracy is not None:
        return f"{part} {percent_text(accuracy)}"
    score = row.validation_score if part == "validation" else row.test_score
    metric = row.objective.removeprefix("val_")
    return f"{part} {metric} {score:.4g}" if score is not None else ""


def _diagram_rows(rows: list[LeaderboardRow], cap: int) -> list[LeaderboardRow]:
    scored = sorted((row for row in rows if row.quality is not None),
                    key=lambda row: (-row.quality, row.params or 0, row.run, row.trial))
    chosen = scored[:TOP_BY_ACCURACY] + [row for row in scored[TOP_BY_ACCURACY:] if row.pareto]
    return chosen[:cap]


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


def _breakable(value: object) -> str:
    """`_text`, with a line-break opportunity after each comma and semicolon: a browser sees none in
    `blocks=2,filters_1=20` (Unicode's line breaking keeps a comma with the letters after it)."""
    return "<wbr>".join(_text(part) for part in re.split(r"(?<=[,;])", str(value)))


_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #111827;
       margin: 24px auto; max-width: 1240px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { text-align: left; background: #f9fafb; white-space: nowrap; }
.number { text-align: right; } .text { text-align: left; }
td.number { white-space: nowrap; } .mark { text-align: center; }
td.run { overflow-wrap: break-word; min-width: 10em; } td.recipe { min-width: 16em; }
table.runs td { white-space: nowrap; } table.runs td.run, table.runs td.recipe { white-space: normal; }
table.board td.text:last-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
       overflow-wrap: break-word; }
tr.front td { background: #fffbeb; } tr.failed td { color: #9ca3af; } tr.judged td { color: #1e40af; }
.note { color: #6b7280; font-size: 12px; margin: 4px 0; } .empty { color: #6b7280; font-style: italic; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.plot svg { max-width: 100%; height: auto; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; }
figure.architecture { margin: 0; padding: 10px; border: 1px solid #e5e7eb; border-radius: 6px; width: 346px; }
figcaption { font-size: 12px; margin-bottom: 8px; } figcaption code { overflow-wrap: anywhere; color: #4b5563; }
svg.layers text { font: 12px system-ui, "DejaVu Sans", sans-serif; fill: #111827; }
svg.layers text.shape { fill: #374151; font-size: 11px; } svg.layers text.params { fill: #6b7280; font-size: 11px;
       text-anchor: end; } svg.layers text.total { font-weight: 600; fill: #374151; }
svg.layers .edge { stroke: #6b7280; fill: none; }
table.choices th { background: none; font-weight: 600; }
"""


def _page(title: str, body: str) -> str:
    # No scripts, nothing loaded: the policy makes any that an escaping slip let in inert.
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_text(title)}</title>\n'
            f'<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n')
