"""`python -m nas.leaderboard`: the stored trials of all runs (or of one), best first: table, CSV, JSON, Markdown, HTML.

It reads the same default store as `nas.search` (SQLite under ./nas-runs) and imports neither TensorFlow nor Ray.
Exit codes: 0 done (also when nothing matches), 2 bad input (one line on stderr).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from nas import cli_common as cli

PROG = "nas.leaderboard"


def build_parser() -> cli.ArgumentParser:
    from results import FORMATS, SORT_KEYS

    parser = cli.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the result store")
    where.add_argument("--output", default=cli.DEFAULT_OUTPUT, metavar="DIR",
                       help=f"folder whose store to read (default: ./{cli.DEFAULT_OUTPUT})")
    which = parser.add_argument_group("which trials")
    which.add_argument("--run", metavar="NAME", help="only this run")
    which.add_argument("--dataset", help="only runs on this dataset")
    which.add_argument("--space", help="only runs of this search space")
    which.add_argument("--strategy", help="only runs of this strategy")
    which.add_argument("--max-params", type=cli.positive_int, metavar="N", help="only trials of at most N parameters")
    which.add_argument("--max-latency", type=cli.positive_float, metavar="MS",
                       help="only trials whose batch-1 latency is at most MS milliseconds")
    which.add_argument("--pareto", action="store_true",
                       help="only the Pareto front: trials no other beats on validation accuracy, latency and params")
    which.add_argument("--top", type=cli.positive_int, metavar="N", help="only the best N")
    show = parser.add_argument_group("how to show them")
    show.add_argument("--sort", choices=list(SORT_KEYS), default="validation_accuracy", metavar="METRIC",
                      help=f"rank by: {', '.join(SORT_KEYS)} (default: validation_accuracy)")
    show.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    show.add_argument("--to", metavar="FILE", help="write to FILE instead of stdout (--format html needs it)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from results import ResultStore, StoreError, leaderboard, render, run_costs, sqlite_file
    from results.leaderboard import markdown_text

    args = build_parser().parse_args(argv)
    if args.format == "html" and not args.to:
        cli.fail(PROG, "--format html writes a self-contained report file. Expected --to FILE.html")
    url = cli.storage_url(args.storage, args.output)
    file = sqlite_file(url)
    if file is not None and not file.exists():  # reading must not create an empty store
        print(f"{PROG}: no result store at {file} yet; run `python -m nas.search` first, or pass "
              f"--output/--storage", file=sys.stderr)
        return cli.EXIT_OK
    try:
        with ResultStore(url) as store:
            rows = leaderboard(store, run=args.run, dataset=args.dataset, space=args.space,
                               strategy=args.strategy, sort=args.sort, top=args.top, max_params=args.max_params,
                               max_latency_ms=args.max_latency, pareto=args.pareto)
            costs = run_costs(store, sorted({row.run for row in rows}))
            if args.format == "html":
                _write_report(store, args.to, rows)
    except StoreError as error:
        cli.fail(PROG, str(error))
    if not rows:
        print(f"{PROG}: no stored trials match", file=sys.stderr)
    if args.format == "html":
        print(f"{PROG}: wrote a report of {len(rows)} row(s) to {args.to}", file=sys.stderr)
        return cli.EXIT_OK
    width = cli.table_width(sys.stdout) if not args.to else None
    color = not args.to and cli.use_color(sys.stdout)
    text = render(rows, args.format, width=width, color=color) if rows or args.format != "table" else ""
    if text and args.format == "table":  # csv and json rows carry each trial's cpu_seconds and gpu_seconds instead
        text += "".join(f"\nrun {cost.run} used {cost.describe()}" for cost in costs)
    if rows and args.format == "markdown":
        text += "\n\n" + "\n".join(f"- run {markdown_text(cost.run)} used {cost.describe()}" for cost in costs)
    if args.to:
        try:
            Path(args.to).write_text(text + "\n")
        except OSError as error:
            cli.fail(PROG, f"Cannot write --to {args.to!r}: {error.strerror}. Expected a writable file path")
        print(f"{PROG}: wrote {len(rows)} row(s) to {args.to}", file=sys.stderr)
    elif text:
        print(text)
    return cli.EXIT_OK


def _write_report(store, path: str, rows: list) -> None:
    from results.report import write_report

    try:
        write_report(store, path, rows)
    except OSError as error:
        cli.fail(PROG, f"Cannot write --to {path!r}: {error.strerror}. Expected a writable file path")
    except ModuleNotFoundError as error:
        if error.name != "matplotlib":
            raise
        cli.fail(PROG, "--format html draws its plots with matplotlib, which is not installed. "
                       "Expected it installed (pip install matplotlib)")


if __name__ == "__main__":
    raise SystemExit(main())
