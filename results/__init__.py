"""The result store (SQLite by default, any SQLAlchemy URL) and the leaderboards drawn from it.

`results` imports no other package of nas, no TensorFlow and no Ray, so a leaderboard starts in a fraction of a
second; the HTML report draws its layer diagrams from the layers each trial recorded when its model was built.
"""
from results.engine import sqlite_file
from results.errors import LeaseError, RunExistsError, RunNotFoundError, StoreError
from results.formats import FORMATS, render
from results.leaderboard import SORT_KEYS, LeaderboardRow, RunCost, leaderboard, leaderboard_frame, run_costs
from results.records import JudgedWith, RunRecord, RunStatus, TrialRecord, TrialStatus
from results.schema import SCHEMA_VERSION
from results.store import DeletedRun, ResultStore

__all__ = [
    "FORMATS", "SCHEMA_VERSION", "SORT_KEYS", "DeletedRun", "JudgedWith", "LeaderboardRow", "LeaseError",
    "ResultStore", "RunCost", "RunExistsError", "RunNotFoundError", "RunRecord", "RunStatus", "StoreError",
    "TrialRecord", "TrialStatus", "leaderboard", "leaderboard_frame", "render", "run_costs", "sqlite_file",
]
