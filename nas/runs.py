"""`nas.runs()`: the stored runs, one row each; `nas.runs.delete(RUN)`: a run forgotten, with everything it wrote.

A run's trials live in the store; its files beside it, under the output folder (nas/runner/run_files.py says
where): the final-trained models, the report, Ray's experiments and, when asked, a TensorBoard folder. Deleting a
run removes all of them, and refuses a run that a live search holds (its lease, results/lease.py): that search
would go on writing what is being deleted. The leaderboard stays read-only; `python -m nas.runs`
(nas/commands/runs.py) is this module's command line.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from nas import _call_module_as
from nas.errors import RunError
from nas.runner.experiment import latest_runs
from nas.runner.run_files import models_folder, ray_experiments, remove, report_path
from nas.settings.search_config import DEFAULT_OUTPUT, storage_url
from results import ResultStore, RunNotFoundError, sqlite_file
from results.lease import shown_status

COLUMNS = ["run", "status", "space", "strategy", "dataset", "trials", "created_at", "finished_at"]


@dataclass(frozen=True)
class DeletedRun:
    run: str
    trials: int  # the trials deleted from the store
    removed: tuple[str, ...]  # the files and folders removed from disk


def runs(*, output: str = DEFAULT_OUTPUT, storage: str | None = None):
    """The runs of the store under `output` (or at `storage`), oldest first, as a pandas DataFrame."""
    import pandas

    store = _open(output, storage)
    if store is None:
        return pandas.DataFrame(columns=COLUMNS)
    with store:
        counts = Counter(figures[0] for figures in store.trial_figures())
        rows = [[run.name, shown_status(run).value, run.space, run.strategy, run.dataset, counts[run.name],
                 run.created_at, run.finished_at] for run in store.list_runs()]
    return pandas.DataFrame(rows, columns=COLUMNS)


def delete(run: str, *, output: str = DEFAULT_OUTPUT, storage: str | None = None) -> DeletedRun:
    """Delete the run `run`: its trials from the store, then its models, report, Ray experiments and TensorBoard
    folder from disk. A run that another live search holds is refused (results.LeaseError) and left whole; one that
    is not stored is a RunError."""
    reader = _open(output, storage)  # read-only first: a run that is not there changes nothing
    if reader is None:
        raise RunError(f"No run named {run!r}: there is no result store under {output} yet. Expected the --output "
                       "folder of the search that made it")
    with reader:
        stored = reader.get_run(run)
        if stored is None:
            raise _unknown(reader, run)
        model_files = [Path(trial.model_path) for trial in reader.trials(run, without=("layers", "history"))
                       if trial.model_path]
    with ResultStore(storage_url(storage, output)) as store:
        try:
            deleted = store.delete_run(run)  # refuses a run that a live search holds, before anything is removed
        except RunNotFoundError:  # deleted by another process since it was read
            raise _unknown(store, run) from None
    folder = Path(output).expanduser().resolve()
    models = models_folder(folder, run)
    elsewhere = [path for path in model_files if models not in path.resolve().parents]  # saved under another output
    files = [models, *elsewhere, report_path(folder, run), *ray_experiments(folder, run)]
    tensorboard = stored.config.get("tensorboard")
    if tensorboard:  # as the search wrote it: DIR/RUN, DIR as given (relative to where the search ran, as here)
        files.append(Path(tensorboard).expanduser().resolve() / run)
    return DeletedRun(run, deleted.trials, tuple(str(path) for path in files if remove(path)))


def _open(output: str, storage: str | None) -> ResultStore | None:
    """The store, read-only, or None where the default SQLite file under `output` does not exist (reading creates
    none)."""
    url = storage_url(storage, output)
    file = sqlite_file(url)
    if file is not None and not file.exists():
        if storage:
            raise RunError(f"No result store at {file}. Expected the URL of an existing store")
        return None
    return ResultStore(url, read_only=True)


def _unknown(store: ResultStore, run: str) -> RunError:
    return RunError(f"No run named {run!r} in the store at {store.url}. Expected one of: {latest_runs(store)}")


_call_module_as(__name__, runs)

if __name__ == "__main__":  # `python -m nas.runs`: the command line (nas/commands/runs.py)
    from nas.commands.runs import main

    raise SystemExit(main())
