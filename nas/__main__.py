"""The `nas` console script: `nas search ...`, `nas leaderboard ...`, `nas train ...`."""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

COMMANDS = {"search": "nas.search", "leaderboard": "nas.leaderboard", "train": "nas.train"}
USAGE = "usage: nas {search,leaderboard,train} [--help] ..."


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"nas: error: unknown command {argv[0]!r}. Expected one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
