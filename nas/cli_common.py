"""What the three commands share: one-line errors with exit code 2, argument types, output on stderr.

Only the command-line modules print; everything else logs or raises.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_SEARCH_FAILED = 1
EXIT_BAD_INPUT = 2

DEFAULT_OUTPUT = "nas-runs"


class UsageError(Exception):
    """Bad input from the user: the message is one line saying what was received and what was expected."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line on stderr and exit; the CLIs call this instead of letting a traceback out."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def positive_int(text: str) -> int:
    return _bounded_int(text, minimum=1)


def non_negative_int(text: str) -> int:
    return _bounded_int(text, minimum=0)


def _bounded_int(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, received {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, received {value}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, received {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, received {text!r}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, received {text!r}")
    return value


def run_name(text: str) -> str:
    """A run's name also names its folder of Ray results: no path separators, no control characters."""
    if not 1 <= len(text) <= 200 or text in (".", "..") or any(c in "/\\" or not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(f"expected a run name of 1 to 200 printable characters without / or \\, "
                                         f"received {text!r}")
    return text


def option_assignment(text: str) -> tuple[str, Any]:
    """Parse NAME=VALUE; VALUE is read as JSON (5, 0.01, true) and otherwise kept as a string."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as population_size=50, received {text!r}")
    try:
        return name.strip(), json.loads(value)
    except json.JSONDecodeError:
        return name.strip(), value


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str) -> float:
    """Parse '90', '90s', '30m', '1h30m' or '2d' into seconds (> 0)."""
    cleaned = text.strip().lower()
    try:
        seconds = float(cleaned)
    except ValueError:
        parts = _DURATION_PART.findall(cleaned)
        if not parts or "".join(number + unit for number, unit in parts) != cleaned:
            raise argparse.ArgumentTypeError(
                f"expected a duration such as 90s, 30m or 1h30m, received {text!r}") from None
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a duration > 0, received {text!r}")
    return seconds


def storage_url(storage: str | None, output: str | os.PathLike) -> str:
    """The store's SQLAlchemy URL: --storage when given, else the SQLite file under --output."""
    if storage:
        return storage
    return "sqlite:///" + str((Path(output) / "nas.db").resolve())


def table_width(stream) -> int:
    """Tables fit the terminal they are printed to; piped or saved, they keep long architecture keys on one line."""
    return shutil.get_terminal_size().columns if stream.isatty() else 240


def use_color(stream) -> bool:
    """Colours on a terminal, unless the user set NO_COLOR (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def quiet_libraries() -> None:
    """Keep TensorFlow's and Ray's start-up chatter off the user's terminal; our own output is on stderr."""
    # Level 2 hides TensorFlow's INFO and WARNING start-up lines (oneDNN's notice among them). oneDNN itself stays
    # on: turning it off (TF_ENABLE_ONEDNN_OPTS=0) doubled a LeNet epoch's time on 2 cores.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
