"""The command lines: `python -m nas.search`, `nas.train`, `nas.leaderboard` and `nas.runs` (each module's `main`),
the `nas` console script (`main` here: `nas search|train|leaderboard|runs ...`) and what they share (`cli.py`).

This is the only room that knows argparse, exit codes and the terminal: each command parses its flags, calls the
library function of the same name (nas/search.py, ...), prints what it returns, and turns nas's errors into one line
on stderr and exit code 2. It may import every other room; none imports it (the face modules' `python -m` doors,
under `if __name__ == "__main__":`, are the exception that sends a command line here).
"""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

COMMANDS = ("search", "leaderboard", "train", "runs")
USAGE = "usage: nas {search,leaderboard,train,runs} [--help] ..."


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"nas: error: unknown command {argv[0]!r}. Expected one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return importlib.import_module(f"nas.commands.{argv[0]}").main(argv[1:])
