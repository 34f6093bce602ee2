"""The result store (SQLite by default, any SQLAlchemy URL) and the leaderboards drawn from it.

`results` imports no TensorFlow and no Ray, so a leaderboard starts in a fraction of a second; only the HTML report's
layer diagrams read the search spaces' definitions (`search_spaces`, itself free of TensorFlow until a model is built).
"""
from results.leaderboard import FORMATS, SORT_KEYS, LeaderboardRow, RunCost, leaderboard, render, run_costs
from results.records import RunRecord, RunStatus, TrialRecord, TrialStatus
from results.store import SCHEMA_VERSION, ResultStore, RunExistsError, StoreError, sqlite_file

__all__ = [
    "FORMATS", "SCHEMA_VERSION", "SORT_KEYS", "LeaderboardRow", "ResultStore", "RunCost", "RunExistsError",
    "RunRecord", "RunStatus", "StoreError", "TrialRecord", "TrialStatus", "leaderboard", "render", "run_costs",
    "sqlite_file",
]
