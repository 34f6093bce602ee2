"""The exceptions nas raises for bad input. The library raises them; only the commands turn them into one line on
stderr and exit code 2. Each is a ValueError too, so code that catches ValueError keeps working. A search that ran
but in which every trial failed, or whose time budget ended before any trial had a score, is `SearchFailedError`
(exit code 1): the input was fine, the work was not.
"""
from __future__ import annotations


class NasError(ValueError):
    """Bad input to nas: the message says what was received and what was expected."""


class SettingError(NasError):
    """A search, training or leaderboard setting out of range, or settings that do not go together.

    `setting` names the keyword (the command line's flag is the same name with dashes), so the commands can say
    `--time-budget: ...` where Python says `time_budget: ...`.
    """

    def __init__(self, setting: str | None, message: str):
        super().__init__(f"{setting}: {message}" if setting else message)
        self.setting = setting
        self.detail = message


class DataError(NasError):
    """Data that cannot be searched on: mismatched lengths, NaN or infinite values, labels out of range, ..."""


class SpaceError(NasError):
    """A space that cannot be found, imported or searched."""


class RunError(NasError):
    """A run that cannot be resumed or read as asked (unknown name, a space or data that cannot be found again)."""


class ClusterError(NasError):
    """A Ray cluster that cannot be joined, or resources no node of it has."""


class TrialFailed(Exception):
    """One trial could not be scored: its model could not be built, trained or measured. The message is the
    reason, one line; the trial is stored as failed with it and the search goes on (`nas.train` raises it)."""


class SearchFailedError(RuntimeError):
    """Every trial of a search failed, or its time budget ended before any trial had a score; the run and its
    errors are stored. `run` names it."""

    def __init__(self, run: str, message: str):
        super().__init__(message)
        self.run = run
