"""What a search tells whoever follows it (`SearchObserver`, the `progress=` of `nas.search`), and the observers nas
has: `SearchProgress`, the live display on stderr (rich does the drawing: a progress bar on a terminal, one line per
trial in a log file, a pipe or a Jupyter notebook, where rich prints each line as the cell's output), and
`TensorBoardWriter`. The library draws this display too, so it lives here rather than with the commands."""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nas.estimator.objectives import ACCURACY_OBJECTIVES
from results import TrialRecord, TrialStatus

logger = logging.getLogger(__name__)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


class SearchObserver:
    """What a search tells whoever displays it; subclass it for a display of your own (`nas.search(progress=...)`).
    Every method does nothing here."""

    def search_started(self, run: str, objective: str, maximize: bool, total_trials: int | None,
                       trials_done: int, best_score: float | None) -> None:
        """The run is open: `trials_done` of its trials were stored before (a resume), the best of them scoring
        `best_score`, and `total_trials` in all."""

    def trials_interrupted(self, numbers: list[int]) -> None:
        """A resumed run's trials that an earlier session left in flight (its driver was stopped or killed);
        they run again under their numbers."""

    def trial_started(self, record: TrialRecord) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None: ...

    def supernet_started(self, supernet: int, latency_error: float | None) -> None:
        """A supernet of a weight-sharing search reported first; its judged children's latencies are estimated
        within `latency_error` (the median relative error, leave-one-out, over the children it timed)."""

    def children_judged(self, supernet: int, children: list[TrialRecord], judged: int) -> None:
        """A supernet of a weight-sharing search judged `children` (stored as trials), `judged` so far in all."""

    def shortlist_started(self, shortlisted: list[TrialRecord], to_train: int, epochs: int,
                          seconds: float | None) -> None:
        """A weight-sharing search trains its best judged children alone (`to_train` of `shortlisted` are left,
        `epochs` each, within `seconds` when there is a time budget); their trials follow."""

    def final_training_started(self, winners: list[TrialRecord], epochs: int, seconds_left: float | None) -> None:
        ...

    def final_training_finished(self, record: TrialRecord, epochs: int | None) -> None: ...

    def close(self) -> None:
        """The search ended (or failed): let go of the display."""


def search_observer(progress: Any) -> SearchObserver:
    """The display `nas.search(progress=...)` asks for: True draws SearchProgress, False or None nothing, and a
    SearchObserver is the caller's own."""
    if progress is True:
        return SearchProgress()
    if progress in (False, None):
        return SearchObserver()
    if not isinstance(progress, SearchObserver):
        from nas.errors import SettingError

        raise SettingError("progress", f"expected True, False or a nas.SearchObserver, received {progress!r}")
    return progress


class SearchObservers(SearchObserver):
    """Several observers, each told everything in turn (the progress display and the TensorBoard writer)."""

    def __init__(self, observers: list[SearchObserver]):
        self.observers = observers


def _tell_each(hook: str):
    def tell(self, *args, **kwargs) -> None:
        for observer in self.observers:
            getattr(observer, hook)(*args, **kwargs)
    return tell


for _hook in [name for name in vars(SearchObserver) if not name.startswith("_")]:
    setattr(SearchObservers, _hook, _tell_each(_hook))


class TensorBoardWriter(SearchObserver):
    """Writes each trial for TensorBoard as it finishes, and again once the final training tested it
    (results/tensorboard.py); the search writes the whole run, its HParams experiment included, when it ends."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser().resolve()
        self.run_folder: Path | None = None

    def search_started(self, run: str, objective: str, maximize: bool, total_trials: int | None,
                       trials_done: int, best_score: float | None) -> None:
        self.run_folder = self.folder / run

    def trial_finished(self, record: TrialRecord) -> None:
        self._write(record)

    def children_judged(self, supernet: int, children: list[TrialRecord], judged: int) -> None:
        for child in children:
            self._write(child)

    def final_training_finished(self, record: TrialRecord, epochs: int | None) -> None:
        self._write(record)

    def _write(self, record: TrialRecord) -> None:
        from results.tensorboard import write_trial

        try:
            write_trial(self.run_folder, record)
        except Exception as error:  # the search goes on (this runs in Tune's callbacks); the store keeps the trial
            logger.warning("Could not write trial %s for TensorBoard under %s: %s", record.number, self.run_folder,
                           error)


class SearchProgress(SearchObserver):
    """Trials done and failed, the best score so far, elapsed time."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.total: int | None = None
        self.run: str | None = None  # known once the run is stored
        self.objective, self.maximize = "accuracy", True
        self.done = self.failed = 0
        self.best: float | None = None
        self._start = time.perf_counter()
        self._bar = Progress(TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                             console=self.console, transient=False)
        self._task = self._bar.add_task("search", total=None, status=self._status())

    def search_started(self, run: str, objective: str, maximize: bool, total_trials: int | None,
                       trials_done: int, best_score: float | None) -> None:
        self.run, self.objective, self.maximize = run, objective, maximize
        self.total, self.done, self.best = total_trials, trials_done, best_score
        self._bar.update(self._task, total=total_trials, completed=trials_done, status=self._status())
        if self.console.is_terminal and not self.console.is_jupyter:
            self._bar.start()
        else:
            self._line(f"run {run}: searching for the best {objective} ({'max' if maximize else 'min'}), "
                       f"{total_trials or 'as many as the time budget allows'} trial(s)"
                       + (f", {trials_done} done before" if trials_done else ""))

    def close(self) -> None:
        if self._bar.live.is_started:
            self._bar.stop()

    def _score(self, value: float | None) -> str:
        return percent(value) if self.objective in ACCURACY_OBJECTIVES else \
            ("-" if value is None else f"{value:.4g}")

    def _status(self) -> str:
        return f"failed {self.failed} · best {self.objective.removeprefix('val_')} {self._score(self.best)}"

    def _line(self, text: str) -> None:
        elapsed = time.perf_counter() - self._start
        self.console.print(f"[{elapsed:6.0f}s] {text}", highlight=False, markup=False, soft_wrap=True)

    def trials_interrupted(self, numbers: list[int]) -> None:
        self._line(f"trial(s) {', '.join(map(str, numbers))} of the run were interrupted in flight; they run again")

    def trial_started(self, record: TrialRecord) -> None:
        if not self._bar.live.is_started:
            self._line(f"trial {record.number} started: {record.arch_key}")

    def _count(self, record: TrialRecord, *, failures_count: bool = True) -> None:
        """One more trial; a failed one counts towards the total unless `failures_count` is False (a weight-sharing
        search's --trials counts the children judged, not those over a limit)."""
        failed = record.status is TrialStatus.FAILED
        self.done += failures_count or not failed
        self.failed += failed
        if record.score is not None and record.status is not TrialStatus.FAILED:
            better = self.best is None or (record.score > self.best if self.maximize else record.score < self.best)
            self.best = record.score if better else self.best

    def trial_finished(self, record: TrialRecord) -> None:
        self._count(record)
        self._bar.update(self._task, completed=self.done, status=self._status())
        if record.status is TrialStatus.FAILED:
            detail = f"failed: {record.error}"
        elif record.score is None:
            detail = f"{record.status.value} before its first epoch ended"
        else:
            shown = percent(record.validation_accuracy) if record.validation_accuracy is not None \
                else self._score(record.score)
            detail = (f"{record.status.value}: val {shown}, {record.params or 0:,} params, "
                      f"{record.latency_ms or 0:.3f} ms")
        self._line(f"trial {record.number} {detail}  ({self.done}/{self.total or '?'}, {self._status()})")

    def supernet_started(self, supernet: int, latency_error: float | None) -> None:
        if latency_error is not None:
            self._line(f"supernet {supernet}: judged children's latencies are estimated from FLOPs and layers, fitted "
                       f"to children it built and timed: within {100 * latency_error:.0f}% (median, leave-one-out)")

    def children_judged(self, supernet: int, children: list[TrialRecord], judged: int) -> None:
        for child in children:
            self._count(child, failures_count=False)
        self._bar.update(self._task, completed=self.done, status=self._status())
        if not self._bar.live.is_started:
            over = sum(child.status is TrialStatus.FAILED for child in children)
            self._line(f"supernet {supernet}: {judged} architectures judged with shared weights, {len(children) - over} "
                       f"more and {over} over a limit or failed  ({self.done}/{self.total or '?'}, {self._status()})")

    def shortlist_started(self, shortlisted: list[TrialRecord], to_train: int, epochs: int,
                          seconds: float | None) -> None:
        self.close()
        judged = ", ".join(f"{child.number} ({percent(child.validation_accuracy)})" for child in shortlisted)
        within = "" if seconds is None else f", within {seconds:.0f}s"
        self._line(f"shortlist, the best judged with shared weights of each depth in turn, trial (accuracy): "
                   f"{judged}; {to_train} to train alone, {epochs} epoch(s) each as the trials of a search without "
                   f"weight sharing{within}. The final training picks among them")
        self.total, self.done, self.failed, self.best = to_train, 0, 0, None

    def final_training_started(self, winners: list[TrialRecord], epochs: int, seconds_left: float | None) -> None:
        self.close()
        trials = ", ".join(str(winner.number) for winner in winners)
        fitted = "" if seconds_left is None else f" at most, as many as fit in the {seconds_left:.0f}s left"
        self._line(f"final training of trial(s) {trials} on the training and validation data, {epochs} epoch(s) "
                   f"each{fitted}")

    def final_training_finished(self, record: TrialRecord, epochs: int | None) -> None:
        if record.test_accuracy is not None:
            tested = f"test accuracy {percent(record.test_accuracy)}"
        elif record.test_score is not None:
            tested = f"test {self.objective.removeprefix('val_')} {record.test_score:.4g}"
        else:
            tested = "no test data"
        trained = f" after {epochs} epoch(s)" if epochs else ""
        self._line(f"trial {record.number}: {tested}{trained}; model saved to {record.model_path}")
