"""What a run writes beside the store, and where: under the output folder, each top-k architecture's final-trained
model (`models/RUN/trial-N.keras`, loaded back with Keras' safe mode on), the run's report (`RUN.html`) and Ray
Tune's experiments (`ray_results/RUN`, and `ray_results/shortlist/RUN` for a weight-sharing search's shortlist: each
trial's last saved epoch, which `--resume` goes on from); and, when asked, its TensorBoard folder (`DIR/RUN`).
`nas.runs.delete` removes all of them.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
from pathlib import Path

from nas.errors import RunError
from results import ResultStore
from results import leaderboard as leaderboard_rows_of

logger = logging.getLogger(__name__)


def model_path(output: Path, run: str, trial: int) -> Path:
    return output / "models" / run / f"trial-{trial}.keras"


def models_folder(output: Path, run: str) -> Path:
    return output / "models" / run


def report_path(output: Path, run: str) -> Path:
    return output / f"{run}.html"


def ray_results(output: Path, shortlist: bool = False) -> Path:
    """Ray Tune's storage path for a run's trials (its experiment is the run's name inside it)."""
    return output / "ray_results" / "shortlist" if shortlist else output / "ray_results"


def ray_experiments(output: Path, run: str) -> list[Path]:
    return [ray_results(output) / run, ray_results(output, shortlist=True) / run]


def remove_checkpoints(output: Path, run: str) -> list[Path]:
    """Remove a completed run's Ray experiments: each trial's last saved epoch (about 12 bytes a parameter), which
    only a resume of trials interrupted in flight needs. Returns the folders removed; one that cannot be removed is
    a warning, as the run is complete and stored."""
    removed = [folder for folder in ray_experiments(output, run) if remove(folder)]
    for parent in (ray_results(output, shortlist=True), ray_results(output)):
        with contextlib.suppress(OSError):  # not empty: other runs' experiments are kept there
            parent.rmdir()
    return removed


def remove(path: Path) -> bool:
    """Remove a file or folder a run wrote; whether it was there and is gone. One that cannot be removed is a
    warning that names it, so the user can remove it by hand."""
    try:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            return False
    except OSError as error:
        logger.warning("Could not remove %s: %s", path, error.strerror or error)
        return False
    return True


def save_model_file(path: Path, content: bytes) -> Path:
    """Write a model's .keras bytes (written whole to a temporary name first, so a kill leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)
    return path


def load_model(path: str | Path | None, what: str, safe_mode: bool = True):
    """The Keras model saved at `path`; safe mode refuses files that would run code (Lambda layers): a model that
    holds one (keras_tuner.applications.HyperResNet's do) loads with safe_mode=False, for files one trusts."""
    if path is None:
        raise RunError(f"{what} has no saved model: only the final training's top-k architectures are saved. "
                       "Expected a trial the final training retrained (see the leaderboard's model_path)")
    if not Path(path).is_file():
        raise RunError(f"The model of {what} is missing: no file at {path}. Expected the output folder the search "
                       "wrote, or retrain it with nas.train(trial=..., retrain=True)")
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=safe_mode)
    except ValueError as error:
        if "safe_mode=False" not in str(error):
            raise
        raise RunError(f"The model of {what} holds a Lambda layer, whose Python code Keras' safe mode will not load "
                       f"from {path}. Expected safe_mode=False where you trust the file (your own run's)") from None


def write_run_report(store: ResultStore, run: str, folder: Path) -> str | None:
    """The run's HTML report, RUN.html in the output folder; a report that cannot be written is a warning, since
    the search itself is done and stored."""
    from results.report import write_report

    path = report_path(folder, run)
    try:
        write_report(store, path, leaderboard_rows_of(store, run=run), title=f"nas run {run}")
    except OSError as error:
        logger.warning("Could not write the report %s: %s", path, error.strerror)
        return None
    return str(path)


def write_run_for_tensorboard(store: ResultStore, run: str, folder: str | Path) -> Path | None:
    """The whole run for TensorBoard under `folder`/RUN (results/tensorboard.py); as for the report, a failure to
    write is a warning."""
    from results.tensorboard import write_run

    try:
        return write_run(Path(folder).expanduser().resolve(), store.get_run(run), store.trials(run))
    except OSError as error:
        logger.warning("Could not write run %s for TensorBoard under %s: %s", run, folder, error.strerror or error)
        return None
