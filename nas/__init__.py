"""nas: neural architecture search for Keras/TensorFlow, with trials scheduled by Ray Tune.

    import nas
    result = nas.search("cnn", strategy="rl", trials=20)      # or your SearchSpace, data, training
    result.leaderboard()                                       # a pandas DataFrame
    model = result.best_model()                                # the final-trained keras.Model
    nas.leaderboard(run=result.run)                            # a stored run (or all of them), as a DataFrame
    nas.train(trial=f"{result.run}:{result.best['trial']}")    # a kept model and its figures, from the store

The same three are commands: `python -m nas.search`, `python -m nas.leaderboard`, `python -m nas.train` (or
`nas search|leaderboard|train`); each command's module is also its function.
"""
from __future__ import annotations

import importlib
from typing import Any

from nas.errors import ClusterError, DataError, NasError, RunError, SearchFailedError, SettingError, SpaceError
from nas.progress import SearchObserver
from nas.result import SearchResult
from nas.training import TrainingData

__version__ = "0.1.0"

_COMMANDS = ("search", "leaderboard", "train")


def __getattr__(name: str) -> Any:
    # The command modules load on first use: `python -m nas.search` must find nas.search not yet imported.
    if name in _COMMANDS:
        return importlib.import_module(f"nas.{name}")
    raise AttributeError(f"module 'nas' has no attribute {name!r}")


__all__ = ["ClusterError", "DataError", "NasError", "RunError", "SearchFailedError", "SearchObserver", "SearchResult",
           "SettingError", "SpaceError", "TrainingData", "leaderboard", "search", "train"]
