"""`python -m nas.runs`: the stored runs (`list`), and a run deleted with everything it wrote (`delete RUN`).

In Python, `nas.runs()` and `nas.runs.delete(RUN)` are the same (nas/runs.py). Exit codes: 0 done, 2 bad input or a
run that does not exist or that a live search holds (one line on stderr).
"""
from __future__ import annotations

import json
import sys
from typing import Sequence

from nas.commands import cli
from nas.runs import delete, runs
from nas.settings.search_config import DEFAULT_OUTPUT

PROG = "nas.runs"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog=PROG, description="List the stored runs, or delete one with its files.")
    store = cli.ArgumentParser(add_help=False)  # which store: the same flags for each action
    where = store.add_mutually_exclusive_group()
    where.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the result store")
    where.add_argument("--output", default=DEFAULT_OUTPUT, metavar="DIR",
                       help=f"folder of the store and the runs' files (default: ./{DEFAULT_OUTPUT})")
    actions = parser.add_subparsers(dest="action", metavar="{list,delete}", required=True)
    listing = actions.add_parser("list", parents=[store], help="the stored runs, oldest first")
    listing.add_argument("--json", action="store_true", help="print a JSON array of runs")
    removal = actions.add_parser("delete", parents=[store],
                                 help="delete a run's trials, models, report, Ray and TensorBoard folders")
    removal.add_argument("run", metavar="RUN", help="the run's name (python -m nas.runs list shows them)")
    for subparser in (listing, removal):
        subparser.error = parser.error  # one line naming nas.runs, and exit code 2, as the other commands do
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.action == "list":
            print_runs(runs(output=args.output, storage=args.storage), args.json)
        else:
            deleted = delete(args.run, output=args.output, storage=args.storage)
            print(f"deleted run {deleted.run}: {deleted.trials} trial(s) from the store"
                  + "".join(f"\nremoved {path}" for path in deleted.removed))
        return cli.EXIT_OK

    return cli.run_command(PROG, body, lambda: "interrupted")


def print_runs(frame, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]))
        return
    if frame.empty:
        print("no runs stored", file=sys.stderr)
        return
    shown = frame.assign(created_at=frame.created_at.map(_when), finished_at=frame.finished_at.map(_when))
    print(shown.to_string(index=False))


def _when(moment) -> str:
    return "-" if moment is None or moment != moment else moment.strftime("%Y-%m-%d %H:%M")


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else None if value != value else value


if __name__ == "__main__":
    raise SystemExit(main())
