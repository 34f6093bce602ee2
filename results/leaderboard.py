"""Leaderboards: the stored trials of one run or of all runs, filtered, ranked best first, and rendered.

rich draws the terminal table; the csv and json modules of the standard library write the other formats.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from results.store import ResultStore

# Metrics a leaderboard can sort by, and whether higher is better.
SORT_KEYS = {
    "validation_accuracy": True,
    "test_accuracy": True,
    "params": False,
    "flops": False,
    "latency_ms": False,
    "train_seconds": False,
}
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class LeaderboardRow:
    """One trial as a leaderboard shows it; `to_dict` is the JSON row of DESIGN.md."""

    run: str
    trial: int
    status: str
    arch: str  # canonical key
    space: str
    strategy: str
    dataset: str
    validation_accuracy: float | None
    test_accuracy: float | None
    params: int | None
    flops: int | None
    latency_ms: float | None
    train_seconds: float | None
    epochs: int | None
    node: str | None
    host: str | None
    error: str | None
    attempts: int | None
    cpu_seconds: float | None  # what the trial cost, its final training included (RunCost explains)
    gpu_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def leaderboard(store: ResultStore, *, run: str | None = None, dataset: str | None = None,
                space: str | None = None, strategy: str | None = None, sort: str = "validation_accuracy",
                top: int | None = None) -> list[LeaderboardRow]:
    """The matching trials, best first by `sort`; trials without that metric (failed, running) come last."""
    if sort not in SORT_KEYS:
        raise ValueError(f"Unknown sort key {sort!r}. Expected one of: {', '.join(SORT_KEYS)}")
    if top is not None and top < 1:
        raise ValueError(f"Expected top >= 1. Received: {top}")
    runs = {stored.name: stored for stored in store.list_runs()
            if (run is None or stored.name == run) and (dataset is None or stored.dataset == dataset)
            and (space is None or stored.space == space) and (strategy is None or stored.strategy == strategy)}
    rows = []
    for trial in store.trials(run):
        stored = runs.get(trial.run)
        if stored is None:
            continue
        rows.append(LeaderboardRow(
            run=trial.run, trial=trial.number, status=trial.status.value, arch=trial.arch_key, space=stored.space,
            strategy=stored.strategy, dataset=stored.dataset, validation_accuracy=trial.validation_accuracy,
            test_accuracy=trial.test_accuracy, params=trial.params, flops=trial.flops, latency_ms=trial.latency_ms,
            train_seconds=trial.train_seconds, epochs=trial.epochs, node=trial.node, host=trial.host,
            error=trial.error, attempts=trial.attempts, cpu_seconds=_total(trial.cpu_seconds, trial.final_cpu_seconds),
            gpu_seconds=_total(trial.gpu_seconds, trial.final_gpu_seconds)))
    rows.sort(key=lambda row: _rank_key(row, sort))
    return rows[:top] if top else rows


@dataclass(frozen=True)
class RunCost:
    """What a run used, to price it: for each trial, the CPUs and GPUs Ray reserved for it times the wall time it
    held them (failed and retried attempts included), plus the same for the final training of its top-k."""

    run: str
    search_cpu_seconds: float
    search_gpu_seconds: float
    final_cpu_seconds: float
    final_gpu_seconds: float

    @property
    def cpu_hours(self) -> float:
        return (self.search_cpu_seconds + self.final_cpu_seconds) / 3600

    @property
    def gpu_hours(self) -> float:
        return (self.search_gpu_seconds + self.final_gpu_seconds) / 3600

    def describe(self) -> str:
        return (f"{self.cpu_hours:.3f} CPU-hours and {self.gpu_hours:.3f} GPU-hours (search "
                f"{self.search_cpu_seconds / 3600:.3f} / {self.search_gpu_seconds / 3600:.3f}, final training "
                f"{self.final_cpu_seconds / 3600:.3f} / {self.final_gpu_seconds / 3600:.3f})")


def run_costs(store: ResultStore, runs: list[str]) -> list[RunCost]:
    """The cost of each named run, from its stored trials (trials stored before nas recorded costs count 0)."""
    costs = []
    for run in runs:
        trials = store.trials(run)
        costs.append(RunCost(run, *(sum(getattr(trial, field) or 0.0 for trial in trials) for field in (
            "cpu_seconds", "gpu_seconds", "final_cpu_seconds", "final_gpu_seconds"))))
    return costs


def _total(*parts: float | None) -> float | None:
    known = [part for part in parts if part is not None]
    return sum(known) if known else None


def _rank_key(row: LeaderboardRow, sort: str) -> tuple:
    """Best first: the sort metric, then validation accuracy, then fewer parameters; missing values last."""
    def ascending(value: float | None, higher_is_better: bool) -> tuple[bool, float]:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return True, 0.0
        return False, -value if higher_is_better else value

    return (ascending(getattr(row, sort), SORT_KEYS[sort]), ascending(row.validation_accuracy, True),
            ascending(row.params, False), row.run, row.trial)


def render(rows: list[LeaderboardRow], output_format: str = "table", width: int | None = None) -> str:
    """The rows as a terminal table, CSV or a JSON array (rows as DESIGN.md lists them)."""
    if output_format == "json":
        return json.dumps([row.to_dict() for row in rows], indent=2)
    if output_format == "csv":
        return _csv(rows)
    if output_format == "table":
        return _table(rows, width)
    raise ValueError(f"Unknown format {output_format!r}. Expected one of: {', '.join(FORMATS)}")


def _csv(rows: list[LeaderboardRow]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[field.name for field in dataclasses.fields(LeaderboardRow)],
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.to_dict() for row in rows)
    return text.getvalue().rstrip("\n")


def _table(rows: list[LeaderboardRow], width: int | None) -> str:
    from rich.console import Console  # only the table needs rich
    from rich.table import Table

    if not rows:
        return "no trials stored yet"
    several_runs = len({row.run for row in rows}) > 1
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    columns = (["run"] if several_runs else []) + ["trial", "status", "val acc", "test acc", "params", "FLOPs",
                                                   "latency ms", "train s", "architecture"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "status", "architecture") else "right",
                         overflow="fold")
    for row in rows:
        cells = ([row.run] if several_runs else []) + [
            str(row.trial), row.status, _percent(row.validation_accuracy), _percent(row.test_accuracy),
            _count(row.params), _count(row.flops), _number(row.latency_ms, 3), _number(row.train_seconds, 1),
            row.arch if row.status != "failed" else f"{row.arch} ({row.error})"]
        table.add_row(*cells)
    console = Console(file=io.StringIO(), width=width or 240, color_system=None, highlight=False)
    console.print(table)
    return console.file.getvalue().rstrip("\n")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
