"""The result store (SQLite by default, any SQLAlchemy URL) and the leaderboards drawn from it.

`results` imports no other package of nas, no TensorFlow and no Ray, so a leaderboard starts in a fraction of a
second; the HTML report draws its layer diagrams from the layers each trial recorded when its model was built.
"""
from results.leaderboard import (FORMATS, SORT_KEYS, LeaderboardRow, RunCost, leaderboard, leaderboard_frame, render,
                                 run_costs)
from results.records import JudgedWith, RunRecord, RunStatus, TrialRecord, TrialStatus
from results.store import SCHEMA_VERSION, LeaseError, ResultStore, RunExistsError, StoreError, sqlite_file

__all__ = [
    "FORMATS", "SCHEMA_VERSION", "SORT_KEYS", "JudgedWith", "LeaderboardRow", "LeaseError", "ResultStore", "RunCost",
    "RunExistsError", "RunRecord", "RunStatus", "StoreError", "TrialRecord", "TrialStatus", "leaderboard",
    "leaderboard_frame", "render", "run_costs", "sqlite_file",
]
