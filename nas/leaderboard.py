"""`nas.leaderboard(...)`: the stored trials of every run (or of one) as a pandas DataFrame, best first; written to
a file as a table, CSV, JSON, Markdown or an HTML report when asked. `python -m nas.leaderboard`
(nas/commands/leaderboard.py) prints the same rows. Reading imports neither TensorFlow nor Ray.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nas import _call_module_as
from nas.errors import SettingError
from nas.settings.search_config import DEFAULT_OUTPUT, storage_url
from results import ResultStore, leaderboard_frame, render, run_costs, sqlite_file
from results import leaderboard as leaderboard_rows_of

logger = logging.getLogger(__name__)


def leaderboard_rows(run: str | None = None, *, output: str = DEFAULT_OUTPUT, storage: str | None = None,
                     **filters: Any) -> tuple[list, list] | None:
    """The matching leaderboard rows, best first, and the cost of each of their runs; None when there is no store
    under `output` yet (reading must not create one). A `storage` SQLite file that does not exist is a SettingError."""
    url = storage_url(storage, output)
    file = sqlite_file(url)
    if file is not None and not file.exists():
        if storage:  # a store named explicitly that is not there is a mistake, not an empty leaderboard
            raise SettingError("storage", f"no result store at {file}; expected the URL of an existing store, "
                                          "e.g. sqlite:///nas-runs/nas.db")
        return None
    with ResultStore(url, read_only=True) as store:
        try:
            rows = leaderboard_rows_of(store, run=run, **filters)
        except ValueError as error:
            raise SettingError(None, str(error)) from None
        return rows, run_costs(store, sorted({row.run for row in rows}))


def leaderboard(run: str | None = None, *, output: str = DEFAULT_OUTPUT, storage: str | None = None,
                dataset: str | None = None, space: str | None = None, strategy: str | None = None,
                sort: str = "score", top: int | None = None, max_params: int | None = None,
                max_latency: float | None = None, pareto: bool = False, format: str | None = None,
                to: str | None = None):
    """The stored trials of every run (or of `run`) as a pandas DataFrame, best first (by each run's objective,
    unless `sort` names a metric). With `format` (table, csv, json, markdown, html) and `to`, the leaderboard is
    also written to that file, as `python -m nas.leaderboard` writes it."""
    if format is not None and not to:
        raise SettingError("to", f"format {format} writes a file; expected to='FILE'")
    found = leaderboard_rows(run, output=output, storage=storage, dataset=dataset, space=space, strategy=strategy,
                             sort=sort, top=top, max_params=max_params, max_latency_ms=max_latency, pareto=pareto)
    if found is None:
        logger.warning("No result store under %s yet.", output)
        return leaderboard_frame([])
    rows, _ = found
    if format == "html":
        from results.report import write_report

        with ResultStore(storage_url(storage, output), read_only=True) as store:
            write_report(store, to, rows)
    elif format is not None:
        Path(to).write_text(render(rows, format) + "\n")
    return leaderboard_frame(rows)


_call_module_as(__name__, leaderboard)

if __name__ == "__main__":  # `python -m nas.leaderboard`: the command line (nas/commands/leaderboard.py)
    from nas.commands.leaderboard import main

    raise SystemExit(main())
