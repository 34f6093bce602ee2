"""`python -m nas.leaderboard`: the stored trials of all runs (or of one), best first: table, CSV, JSON, Markdown, HTML,
or event files for TensorBoard.

In Python, `nas.leaderboard(...)` returns them as a pandas DataFrame (nas/leaderboard.py). Both read the same default
store as `nas.search` (SQLite under ./nas-runs) and import neither TensorFlow nor Ray.
Exit codes: 0 done (also when nothing matches), 2 bad input (one line on stderr).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from nas.commands import cli
from nas.leaderboard import leaderboard_rows
from nas.settings import checks
from nas.settings.search_config import DEFAULT_OUTPUT, storage_url

PROG = "nas.leaderboard"


def build_parser() -> cli.ArgumentParser:
    from results import FORMATS, SORT_KEYS

    parser = cli.ArgumentParser(prog=PROG, description="The stored trials of all runs (or of one), best first.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the result store")
    where.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR",
                       help=f"folder whose store to read (default: ./{DEFAULT_OUTPUT})")
    which = parser.add_argument_group("which trials")
    which.add_argument("--run", metavar="NAME", help="only this run")
    which.add_argument("--dataset", help="only runs on this dataset")
    which.add_argument("--space", help="only runs of this search space")
    which.add_argument("--strategy", help="only runs of this strategy")
    which.add_argument("--max-params", type=cli.flag_type(checks.integer(1)), metavar="N",
                       help="only trials of at most N parameters")
    which.add_argument("--max-latency", type=cli.flag_type(checks.positive_number), metavar="MS",
                       help="only trials whose batch-1 latency is at most MS milliseconds")
    which.add_argument("--pareto", action="store_true",
                       help="only the Pareto front: trials no other beats on validation accuracy (a regression: "
                            "its score), latency and params")
    which.add_argument("--top", type=cli.flag_type(checks.integer(1)), metavar="N", help="only the best N")
    show = parser.add_argument_group("how to show them")
    show.add_argument("--sort", choices=list(SORT_KEYS), default="score", metavar="METRIC",
                      help=f"rank by: {', '.join(SORT_KEYS)} (default: score, each run's objective)")
    show.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    show.add_argument("--to", metavar="FILE", help="write to FILE instead of stdout (--format html needs it; "
                                                   "--format tensorboard needs a folder)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.format == "html" and not args.to:
        cli.fail(PROG, "--format html writes a self-contained report file. Expected --to FILE.html")
    if args.format == "tensorboard" and not args.to:
        cli.fail(PROG, "--format tensorboard writes a folder of event files, one subfolder a run. Expected --to DIR")

    def body() -> int:
        filters = dict(dataset=args.dataset, space=args.space, strategy=args.strategy, sort=args.sort, top=args.top,
                       max_params=args.max_params, max_latency_ms=args.max_latency, pareto=args.pareto)
        found = leaderboard_rows(args.run, output=args.output, storage=args.storage, **filters)
        if found is None:  # reading must not create an empty store
            print(f"{PROG}: no result store under {args.output} yet; run `python -m nas.search` first, or pass "
                  "--output/--storage", file=sys.stderr)
            return cli.EXIT_OK
        rows, costs = found
        if not rows:
            print(f"{PROG}: no stored trials match", file=sys.stderr)
        if args.format == "html":
            _write_report(args, rows)
            print(f"{PROG}: wrote a report of {len(rows)} row(s) to {args.to}", file=sys.stderr)
            return cli.EXIT_OK
        if args.format == "tensorboard":
            runs = _write_tensorboard(args, rows)
            print(f"{PROG}: wrote {len(runs)} run(s) for TensorBoard under {args.to}; see them with "
                  f"tensorboard --logdir {args.to}", file=sys.stderr)
            return cli.EXIT_OK
        print_rows(rows, costs, args.format, args.to)
        return cli.EXIT_OK

    return cli.run_command(PROG, body, lambda: "interrupted")


def print_rows(rows: list, costs: list, output_format: str, to: str | None) -> None:
    from results import render
    from results.formats import markdown_text

    width = cli.table_width(sys.stdout) if not to else None
    color = not to and cli.use_color(sys.stdout)
    text = render(rows, output_format, width=width, color=color) if rows or output_format != "table" else ""
    if text and output_format == "table":  # csv and json rows carry each trial's cpu_seconds and gpu_seconds
        text += "".join(f"\nrun {cost.run} used {cost.describe()}" for cost in costs)
    if rows and output_format == "markdown":
        text += "\n\n" + "\n".join(f"- run {markdown_text(cost.run)} used {cost.describe()}" for cost in costs)
    if to:
        try:
            Path(to).write_text(text + "\n")
        except OSError as error:
            cli.fail(PROG, f"Cannot write --to {to!r}: {error.strerror}. Expected a writable file path")
        print(f"{PROG}: wrote {len(rows)} row(s) to {to}", file=sys.stderr)
    elif text:
        print(text)


def _write_report(args, rows: list) -> None:
    from results import ResultStore
    from results.report import write_report

    try:
        with ResultStore(storage_url(args.storage, args.output), read_only=True) as store:
            write_report(store, args.to, rows)
    except OSError as error:
        cli.fail(PROG, f"Cannot write --to {args.to!r}: {error.strerror}. Expected a writable file path")


def _write_tensorboard(args, rows: list) -> list[str]:
    """Each run of `rows`, with the trials the rows show, under --to (results/tensorboard.py)."""
    from results import ResultStore
    from results.tensorboard import write_run

    runs = list(dict.fromkeys(row.run for row in rows))
    try:
        with ResultStore(storage_url(args.storage, args.output), read_only=True) as store:
            trials = store.trials_by_key([(row.run, row.trial) for row in rows])
            for run in runs:
                write_run(args.to, store.get_run(run), [trial for trial in trials if trial.run == run])
    except OSError as error:
        cli.fail(PROG, f"Cannot write --to {args.to!r}: {error.strerror}. Expected a writable folder")
    return runs



if __name__ == "__main__":
    raise SystemExit(main())
