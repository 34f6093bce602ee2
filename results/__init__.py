"""The result store (SQLite by default, any SQLAlchemy URL) and the leaderboards drawn from it.

`results` imports none of the other nas packages, so a leaderboard starts without TensorFlow or Ray.
"""
from results.leaderboard import FORMATS, SORT_KEYS, LeaderboardRow, RunCost, leaderboard, render, run_costs
from results.records import RunRecord, RunStatus, TrialRecord, TrialStatus
from results.store import SCHEMA_VERSION, ResultStore, RunExistsError, StoreError, sqlite_file

__all__ = [
    "FORMATS", "SCHEMA_VERSION", "SORT_KEYS", "LeaderboardRow", "ResultStore", "RunCost", "RunExistsError",
    "RunRecord", "RunStatus", "StoreError", "TrialRecord", "TrialStatus", "leaderboard", "render", "run_costs",
    "sqlite_file",
]
