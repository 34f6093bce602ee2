"""What the three commands share: flags made from the settings' fields, one-line errors with exit code 2, and
command modules that are also the library's functions (`nas.search(...)` calls what `python -m nas.search` runs).

Only the command-line modules print; everything else logs, raises or reports progress to an observer.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import os
import shutil
import sys
from typing import Any, Callable, NoReturn

from nas.errors import NasError, SearchFailedError, SettingError
from nas.estimator import tensorflow_logs
from nas.settings import checks

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

# The flag of a field whose command-line spelling differs from its name: one NAME=VALUE per flag, repeated.
_FLAG_NAMES = {"strategy_options": "--strategy-option"}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def fail(prog: str, message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line on stderr and exit; the commands call this instead of letting a traceback out."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def flag_type(check: Callable[[str], Any]) -> Callable[[str], Any]:
    """A settings check as an argparse type: its ValueError becomes argparse's one-line error."""
    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = getattr(check, "__name__", "value")
    return parse


def flag_name(setting: str) -> str:
    return _FLAG_NAMES.get(setting, "--" + setting.replace("_", "-"))


def add_setting_flags(parser: argparse.ArgumentParser, groups: dict[str, list[dataclasses.Field]],
                      titles: dict[str, str]) -> dict[str, Any]:
    """One flag per settings field, in the field's group; none has a default, so that what a user gave is known.
    Returns the argument groups, by the settings' group names, for the command's own flags."""
    made = {}
    for group, fields in groups.items():
        arguments = made[group] = parser.add_argument_group(titles[group])
        for field in fields:
            metadata = field.metadata
            options: dict[str, Any] = {"help": metadata["help"], "dest": field.name, "default": None}
            if metadata["switch"]:
                options.update(action="store_const", const=True)
            elif metadata["choices"]:
                options["choices"] = metadata["choices"]
            elif field.name == "strategy_options":
                options["type"] = flag_type(checks.option_assignment)
            elif metadata["check"] is not None and not metadata["repeatable"]:  # a list's check sees it whole
                options["type"] = flag_type(metadata["check"])
            if metadata["repeatable"]:
                options["action"] = "append"
            if metadata["metavar"] and "choices" not in options and not metadata["switch"]:
                options["metavar"] = metadata["metavar"]
            arguments.add_argument(flag_name(field.name), **options)
    return made


def given_settings(args: argparse.Namespace, fields: list[dataclasses.Field]) -> dict[str, Any]:
    return {field.name: getattr(args, field.name) for field in fields if getattr(args, field.name) is not None}


# An error is at most this many lines of the terminal (of 100 columns when it is not one): whatever a library put
# in its message (Ray's reports run to thousands of characters) goes to the error's log file.
ERROR_LINES = 3


def error_line(error: BaseException) -> str:
    """A library error as one line, with a setting named as its flag."""
    if isinstance(error, SettingError) and error.setting:
        return f"{flag_name(error.setting)}: {error.detail}"
    return " ".join(str(error).split())


def shortened(text: str, room: int = 0) -> str:
    """`text` cut to ERROR_LINES lines of the terminal less `room` characters, with an ellipsis where it was cut."""
    longest = ERROR_LINES * _width() - room
    return text if len(text) <= longest else text[:longest - 1].rstrip() + "…"


def error_log(error: BaseException) -> str:
    """Write the error whole, with its traceback, to a log file of its own; returns the file's path."""
    import tempfile
    import traceback

    handle, path = tempfile.mkstemp(prefix="nas-error-", suffix=".log")
    with os.fdopen(handle, "w") as log:
        log.write("".join(traceback.format_exception(error)))
    return path


def run_command(prog: str, body: Callable[[], int], interrupted: Callable[[], str],
                after_disk_full: Callable[[], str] = lambda: "then run the command again") -> int:
    """Run a command's body: bad input is one line and exit code 2, a failure one line and exit code 1 (the
    traceback with NAS_DEBUG=1), Ctrl+C the line `interrupted()` says and exit code 130. A full disk says so and
    what to do `after_disk_full()`."""
    from results import StoreError
    from search_spaces import InvalidArchitectureError
    from strategies import StateDictError

    try:
        return body()
    except (NasError, StoreError, InvalidArchitectureError, StateDictError) as error:
        fail(prog, error_line(error))
    except SearchFailedError as error:  # the input was fine; the trials were not
        fail(prog, shortened(error_line(error)), EXIT_FAILED)
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted()}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # the command itself failed: one line, the traceback only on request
        if os.environ.get("NAS_DEBUG"):
            raise
        if disk_full(error):
            fail(prog, f"No space left on the disk of the output folder or the store ({error_line(error)[:200]}). "
                       f"Free some space, {after_disk_full()}", EXIT_FAILED)
        where = f" (the whole error: {error_log(error)}; NAS_DEBUG=1 raises it)"
        message = shortened(f"{type(error).__name__}: {error_line(error)}", room=len(prog) + len(where) + 9)
        fail(prog, message + where, EXIT_FAILED)


def _width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def disk_full(error: BaseException | None) -> bool:
    """Whether an error, or one it was raised from, is a full disk (OSError ENOSPC or EDQUOT; SQLite's and Ray's
    own wording of it)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(words in str(error) for words in ("database or disk is full", "No space left on device")):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return False


def table_width(stream) -> int:
    """Tables fit the terminal they are printed to; piped or saved, they keep long architecture keys on one line."""
    return shutil.get_terminal_size().columns if stream.isatty() else 240


def use_color(stream) -> bool:
    """Colours on a terminal, unless the user set NO_COLOR (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def quiet_libraries() -> None:
    """Keep TensorFlow's and Ray's chatter off the user's terminal; our own output is on stderr."""
    # Level 2 hides TensorFlow's INFO and WARNING log lines once absl is initialised; the lines it prints before
    # that (oneDNN's notice among them) are dropped as it is imported (nas/estimator/tensorflow_logs.py).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tensorflow_logs.quiet_tensorflow_import()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
