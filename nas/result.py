"""`SearchResult`: what `nas.search` returns, like Keras Tuner's tuner after `search` or Ray Tune's `ResultGrid`.

It reads the store when asked, so it always shows what the store holds (a later resume included) and keeps no
connection open.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nas.runner.run_files import load_model
from nas.runner.summary import SearchSummary, ranked_trials
from results import ResultStore, TrialRecord, leaderboard, leaderboard_frame
from results.report import write_report


class SearchResult:
    def __init__(self, summary: SearchSummary, store_url: str, report_path: str | None = None,
                 tensorboard_path: str | None = None):
        self._summary = summary
        self.store_url = store_url
        self.report_path = report_path  # the run's HTML report, written when the search ended
        self.tensorboard_path = tensorboard_path  # the run's folder for TensorBoard, with tensorboard=DIR

    @property
    def run(self) -> str:
        return self._summary.run

    @property
    def best(self) -> dict[str, Any] | None:
        """The best trial by the objective (selected on validation), with its test figures once final-trained."""
        return trial_summary(self._summary.best) if self._summary.best else None

    @property
    def pareto_front(self) -> list[dict[str, Any]]:
        """With objective pareto: the trials no other beats on accuracy, latency and params together."""
        return [trial_summary(trial) for trial in self._summary.pareto_front]

    def summary(self) -> dict[str, Any]:
        """What `python -m nas.search --json` prints."""
        summary = self._summary
        return {
            "run": summary.run, "trials_completed": summary.trials_completed, "trials_failed": summary.trials_failed,
            "trials_stopped": summary.trials_stopped,
            # scored, by training or with shared weights (a trial over a hard limit is not)
            "architectures_evaluated": summary.trials_completed + summary.trials_stopped,
            # of them, with shared weights; the others were trained (a weight-sharing search's shortlist)
            "architectures_judged": summary.architectures_judged,
            "wall_seconds": round(summary.wall_seconds, 3),
            "cpu_hours": round(summary.cost.cpu_hours, 6), "gpu_hours": round(summary.cost.gpu_hours, 6),
            "objective": summary.objective.name, "direction": summary.objective.direction.value,
            "best": self.best, "pareto_front": self.pareto_front,
            "final_training": [{"trial": final.trial, "epochs": final.epochs, "test_accuracy": final.test_accuracy,
                                "test_score": final.test_score, "train_seconds": round(final.train_seconds, 3),
                                "model_path": final.model_path} for final in summary.final_trainings],
            "report": self.report_path, "tensorboard": self.tensorboard_path,
        }

    def leaderboard(self, **filters: Any):
        """The run's trials as a pandas DataFrame, best first, with the leaderboard's columns (`filters` are
        nas.leaderboard's: sort, top, max_params, max_latency, pareto)."""
        with ResultStore(self.store_url, read_only=True) as store:
            return leaderboard_frame(leaderboard(store, run=self.run, **filters))

    def best_model(self, safe_mode: bool = True):
        """The best architecture's final-trained Keras model, as saved under the output folder (safe_mode=False
        loads one holding a Lambda layer: nas/runner/run_files.py)."""
        models = self.best_models(1, safe_mode)
        if not models:
            raise _no_models(self.run)
        return models[0]

    def best_models(self, k: int | None = None, safe_mode: bool = True) -> list:
        """The final-trained models of the best `k` architectures (all that were saved when k is None), best first."""
        with ResultStore(self.store_url, read_only=True) as store:
            ranked = ranked_trials(store.trials(self.run), self._summary.objective)
        saved = [trial for trial in ranked if trial.model_path]
        return [load_model(trial.model_path, f"trial {self.run}:{trial.number}", safe_mode) for trial in saved[:k]]

    def report(self, path: str | Path) -> Path:
        """Write the run's self-contained HTML report to `path`."""
        with ResultStore(self.store_url, read_only=True) as store:
            write_report(store, path, leaderboard(store, run=self.run), title=f"nas run {self.run}")
        return Path(path)

    def __repr__(self) -> str:
        best = self._summary.best
        shown = "none" if best is None else f"trial {best.number} ({self._summary.objective.name} {best.score})"
        return (f"SearchResult(run={self.run!r}, completed={self._summary.trials_completed}, "
                f"failed={self._summary.trials_failed}, best={shown})")


def trial_summary(trial: TrialRecord) -> dict[str, Any]:
    """A trial as the `--json` summary's `best` shows it."""
    return {"trial": trial.number, "arch": trial.arch_key, "values": trial.arch,
            "validation_accuracy": trial.validation_accuracy, "test_accuracy": trial.test_accuracy,
            "validation_score": trial.score, "test_score": trial.test_score, "metrics": trial.metrics,
            "test_metrics": trial.test_metrics, "params": trial.params, "flops": trial.flops,
            "latency_ms": trial.latency_ms, "latency_batch_ms": trial.latency_batch_ms,
            "latency_batch_size": trial.latency_batch_size, "latency_device": trial.latency_device,
            "latency_threads": trial.latency_threads, "judged_with": trial.judged_with.value,
            "model_path": trial.model_path, "final_seed": trial.final_seed}


def _no_models(run: str) -> Exception:
    from nas.errors import RunError

    return RunError(f"Run {run!r} kept no trained model: its final training did not run (top_k=0, or no trial "
                    "was scored). Expected top_k >= 1")
