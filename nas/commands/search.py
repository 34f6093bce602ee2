"""`python -m nas.search`: search a space with a strategy on Ray Tune, store every trial, end with the leaderboard.

In Python, `nas.search(space, ...)` is the same search (nas/search.py): this module parses the flags, calls it and
prints what it returns. Exit codes: 0 done, 1 the search itself failed, 2 bad input (one line on stderr),
130 interrupted.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from nas.commands import cli
from nas.search import search
from nas.settings import checks
from nas.settings.search_config import GROUPS, fields_by_group

PROG = "nas.search"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog=PROG, description="Search a space with a strategy on Ray Tune, store every "
                                                       "trial, and end with the leaderboard.")
    run = cli.add_setting_flags(parser, fields_by_group(), GROUPS)["results"]
    run.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the result store (default: SQLite under "
                                                      "--output)")
    run.add_argument("--name", type=cli.flag_type(checks.run_name), metavar="RUN",
                     help="name of the run (default: SPACE-STRATEGY-TIME)")
    run.add_argument("--resume", action="store_true", help="continue the stored run --name")
    run.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_libraries()
    settings = cli.given_settings(args, [field for fields in fields_by_group().values() for field in fields])
    from nas.runner.progress import SearchProgress

    progress = SearchProgress()

    def body() -> int:
        result = search(storage=args.storage, name=args.name, resume=args.resume, progress=progress,
                            **settings)
        print_outcome(result, args.json)
        return cli.EXIT_OK

    def interrupted() -> str:
        if progress.run is None:
            return "interrupted before the run was stored; nothing to resume"
        return f"interrupted; completed trials are stored. Continue with --resume --name {progress.run}"

    def after_disk_full() -> str:
        if progress.run is None:
            return "then run the search again; nothing was stored"
        return f"then continue with --resume --name {progress.run}: every trial stored so far is kept"

    return cli.run_command(PROG, body, interrupted, after_disk_full)


def print_outcome(result, as_json: bool) -> None:
    """The run's leaderboard (or Pareto front), its totals, where its report and best model are, and --json."""
    from results import ResultStore, leaderboard, render

    stream = sys.stderr if as_json else sys.stdout
    summary = result.summary()
    with ResultStore(result.store_url, read_only=True) as store:
        if summary["pareto_front"]:  # a Pareto search ends with its front, not one winner
            board = leaderboard(store, run=result.run, pareto=True)
            print(f"Pareto front of run {result.run} (validation accuracy, latency, params): {len(board)} trial(s)",
                  file=stream)
        else:
            board = leaderboard(store, run=result.run, top=10)
        print(render(board, "table", width=cli.table_width(stream), color=cli.use_color(stream)), file=stream)
        url = store.url
    print(f"run {result.run}: {summary['trials_completed']} completed, {summary['trials_failed']} failed, "
          f"{summary['trials_stopped']} stopped in {summary['wall_seconds']:.0f}s; used "
          f"{summary['cpu_hours']:.3f} CPU-hours and {summary['gpu_hours']:.3f} GPU-hours; store: {url}",
          file=sys.stderr)
    best = summary["best"]
    if best and best["model_path"]:
        print(f"best model: {best['model_path']} (trial {best['trial']}; load it with "
              f"keras.saving.load_model, or python -m nas.train --trial {result.run}:{best['trial']})",
              file=sys.stderr)
    if summary["report"]:
        print(f"report: {summary['report']}", file=sys.stderr)
    if summary["tensorboard"]:
        print(f"TensorBoard: tensorboard --logdir {Path(summary['tensorboard']).parent}", file=sys.stderr)
    if as_json:
        print(json.dumps(summary))



if __name__ == "__main__":
    raise SystemExit(main())
