"""The search's live display on stderr (rich does the drawing): a progress bar on a terminal, lines otherwise."""
from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from results import TrialRecord, TrialStatus


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


class SearchProgress:
    """Observer of a search: trials done and failed, best validation accuracy so far, elapsed time."""

    def __init__(self, total_trials: int | None, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.total = total_trials
        self.done = self.failed = 0
        self.best: float | None = None
        self._start = time.perf_counter()
        self._bar = Progress(TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                             console=self.console, transient=False)
        self._task = self._bar.add_task("search", total=total_trials, status=self._status())

    def __enter__(self) -> SearchProgress:
        if self.console.is_terminal:
            self._bar.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar.live.is_started:
            self._bar.stop()

    def _status(self) -> str:
        return f"failed {self.failed} · best val {percent(self.best)}"

    def _line(self, text: str) -> None:
        elapsed = time.perf_counter() - self._start
        self.console.print(f"[{elapsed:6.0f}s] {text}", highlight=False, markup=False, soft_wrap=True)

    def trial_started(self, record: TrialRecord) -> None:
        if not self.console.is_terminal:
            self._line(f"trial {record.number} started: {record.arch_key}")

    def trial_finished(self, record: TrialRecord) -> None:
        self.done += 1
        self.failed += record.status is TrialStatus.FAILED
        if record.validation_accuracy is not None and record.status is not TrialStatus.FAILED:
            self.best = max(self.best or 0.0, record.validation_accuracy)
        self._bar.update(self._task, completed=self.done, status=self._status())
        if record.status is TrialStatus.FAILED:
            detail = f"failed: {record.error}"
        elif record.validation_accuracy is None:
            detail = f"{record.status.value} before its first epoch ended"
        else:
            detail = (f"{record.status.value}: val {percent(record.validation_accuracy)}, "
                      f"{record.params or 0:,} params, {record.latency_ms or 0:.3f} ms")
        self._line(f"trial {record.number} {detail}  ({self.done}/{self.total or '?'}, {self._status()})")

    def final_training_started(self, winners: list[TrialRecord], epochs: int, seconds_left: float | None) -> None:
        if self._bar.live.is_started:
            self._bar.stop()
        trials = ", ".join(str(winner.number) for winner in winners)
        fitted = "" if seconds_left is None else f" at most, as many as fit in the {seconds_left:.0f}s left"
        self._line(f"final training of trial(s) {trials} on the full training set, {epochs} epoch(s) each{fitted}")

    def final_training_finished(self, record: TrialRecord, epochs: int) -> None:
        self._line(f"trial {record.number}: test accuracy {percent(record.test_accuracy)} after {epochs} epoch(s)")
