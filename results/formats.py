"""Leaderboard rows as text: a terminal table, CSV, JSON and Markdown, and the columns and cells the human-readable
formats (and the HTML report, results/report.py) share.

rich draws the terminal table; the csv and json modules of the standard library write CSV and JSON.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass
from typing import Any

from results.leaderboard import LeaderboardRow

# `html` needs the store as well as the rows (its plots show whole runs): results.report.write_report writes it.
FORMATS = ("table", "csv", "json", "markdown", "html", "tensorboard")


def render(rows: list[LeaderboardRow], output_format: str = "table", width: int | None = None,
           color: bool = False) -> str:
    """The rows as a terminal table (with ANSI colours if `color`), CSV, a JSON array (rows as DESIGN.md lists
    them) or a Markdown table."""
    if output_format == "json":
        return json.dumps([row.to_dict() for row in rows], indent=2)
    if output_format == "csv":
        return _csv(rows)
    if output_format == "table":
        return _table(rows, width, color)
    if output_format == "markdown":
        return _markdown(rows)
    if output_format == "html":
        raise ValueError("The html format is a report drawn from the store as well as the rows. Expected "
                         "results.report.write_report(store, path, rows) or render_report(store, rows)")
    if output_format == "tensorboard":
        raise ValueError("The tensorboard format is a folder of event files drawn from the store. Expected "
                         "results.tensorboard.write_run(folder, run, trials)")
    raise ValueError(f"Unknown format {output_format!r}. Expected one of: {', '.join(FORMATS)}")


def _csv(rows: list[LeaderboardRow]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[field.name for field in dataclasses.fields(LeaderboardRow)],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows({name: _inert_in_a_spreadsheet(value) for name, value in row.to_dict().items()} for row in rows)
    return text.getvalue().rstrip("\n")


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV injection"); a run name, an
# architecture or an error message comes from users and may. Such text gets a leading apostrophe, which spreadsheets
# show as text; numbers, negative ones included, stay numbers.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert_in_a_spreadsheet(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_STARTS) else value


# What the human-readable formats call a completed trial scored with shared weights and not trained (judged), and
# one that was then retrained from scratch as a winner (retrained).
JUDGED, RETRAINED = "judged", "retrained"
# Terminal colours of a row's status; the Pareto front's rows are bold and starred.
_STATUS_STYLES = {"completed": "green", "stopped": "yellow", "failed": "red", "running": "cyan",
                  "interrupted": "magenta", JUDGED: "blue", RETRAINED: "green"}


def _table(rows: list[LeaderboardRow], width: int | None, color: bool = False) -> str:
    from rich.console import Console  # only the table needs rich
    from rich.table import Table
    from rich.text import Text  # cells as Text, never markup: run names and errors may hold "[...]"

    if not rows:
        return "no trials stored yet"
    layout = table_layout(rows)
    marked = any(row.pareto for row in rows)
    table = Table(show_edge=False, header_style="bold", pad_edge=False,
                  caption=PARETO_NOTE if marked else None, caption_justify="left")
    for column in ([PARETO_MARK] if marked else []) + column_names(layout):
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right", overflow="fold")
    for row in rows:
        cells = [Text(cell, style=_STATUS_STYLES.get(cell, "") if cell == row_status(row) else "")
                 for cell in ([PARETO_MARK if row.pareto else ""] if marked else []) + row_cells(row, layout)]
        table.add_row(*cells, style="bold" if row.pareto else None)
    console = Console(file=io.StringIO(), width=width or 240, highlight=False, force_terminal=color,
                      color_system="standard" if color else None)
    console.print(table)
    return console.file.getvalue().rstrip("\n")


# The columns every human-readable format shows; a run column leads when the rows come from several runs.
COLUMNS = ("trial", "status", "val acc", "test acc", "params", "FLOPs (2xMAC)", "latency ms", "train s", "architecture")
SCORE_COLUMNS = ("objective", "val score", "test score")
TEXT_COLUMNS = ("run", "status", "objective", "architecture")  # left-aligned; the others are numbers
PARETO_MARK = "\N{BLACK STAR}"
PARETO_NOTE = (f"{PARETO_MARK} on the Pareto front of the trials that pass the filters: no other is at least as "
               f"good on validation accuracy, latency and parameters and better on one")


@dataclass(frozen=True)
class TableLayout:
    several_runs: bool  # a run column leads
    scores: bool  # some run's objective is not accuracy: its score and test score get columns


def table_layout(rows: list[LeaderboardRow]) -> TableLayout:
    return TableLayout(len({row.run for row in rows}) > 1, any(row.objective != "accuracy" for row in rows))


def column_names(layout: TableLayout) -> list[str]:
    score = list(SCORE_COLUMNS) if layout.scores else []
    return (["run"] if layout.several_runs else []) + list(COLUMNS[:4]) + score + list(COLUMNS[4:])


def row_cells(row: LeaderboardRow, layout: TableLayout) -> list[str]:
    """The row's cells under `column_names`, as plain text (each format escapes them its own way)."""
    score = [row.objective, _score(row.validation_score), _score(row.test_score)] if layout.scores else []
    return ([row.run] if layout.several_runs else []) + [
        str(row.trial), row_status(row), percent_text(row.validation_accuracy), percent_text(row.test_accuracy),
        *score, _count(row.params), _count(row.flops), _number(row.latency_ms, 3), _number(row.train_seconds, 1),
        row.arch if row.status != "failed" else f"{row.arch} ({row.error})"]


def row_status(row: LeaderboardRow) -> str:
    """The status a reader sees: a trial scored with shared weights is `judged`, and `retrained` once a final
    training trained it from scratch and tested it."""
    if row.status != "completed" or row.judged_with != "shared_weights":
        return row.status
    return RETRAINED if row.test_accuracy is not None or row.test_score is not None else JUDGED


def _markdown(rows: list[LeaderboardRow]) -> str:
    """A GitHub-flavoured Markdown table, to paste into a README or an issue; Pareto members carry a star."""
    if not rows:
        return "*No stored trials match.*"
    layout = table_layout(rows)
    columns = [PARETO_MARK] + column_names(layout)
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join(":---" if column in TEXT_COLUMNS else ":---:" if column == PARETO_MARK else "---:"
                            for column in columns) + "|"]
    for row in rows:
        cells = [PARETO_MARK if row.pareto else ""] + [markdown_text(cell) for cell in row_cells(row, layout)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{PARETO_NOTE}."


# Backslash-escaped in Markdown cells: every ASCII punctuation character CommonMark lets a backslash escape
# that could start markup in a table cell: emphasis, code, links, images, raw HTML, entities, strikethrough,
# GitHub's math ($), emoji (:name:) and mentions (@), and | which would end the cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&:@])")


def markdown_text(text: str) -> str:
    """`text` as literal Markdown inline text: metacharacters backslash-escaped, line breaks made spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def percent_text(value: float | None) -> str:
    """An accuracy as the human-readable formats and the report show it: 0.9512 -> 95.12%."""
    return "-" if value is None else f"{100 * value:.2f}%"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
