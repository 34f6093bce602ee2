"""nas: neural architecture search for Keras/TensorFlow, with trials scheduled by Ray Tune.

    import nas
    result = nas.search("cnn", strategy="rl", trials=20)      # or your SearchSpace, data, training
    result.leaderboard()                                       # a pandas DataFrame
    model = result.best_model()                                # the final-trained keras.Model
    nas.leaderboard(run=result.run)                            # a stored run (or all of them), as a DataFrame
    nas.train(trial=f"{result.run}:{result.best['trial']}")    # a kept model and its figures, from the store
    nas.runs.delete(result.run)                                # forget a run: its trials, models and files
    tuner = nas.Tuner(build_model, objective="val_accuracy")   # a Keras Tuner script's tuner (nas/tuner/)

The same are commands: `python -m nas.search`, `python -m nas.leaderboard`, `python -m nas.train`,
`python -m nas.runs` (or `nas search|leaderboard|train|runs`), whose flags are the functions' keywords.

This folder is the library's face: `search.py`, `train.py`, `leaderboard.py`, `runs.py`, `result.py`, the settings
(`settings/`) and the errors (`errors.py`). The rooms behind it are listed in ARCHITECTURE.md: `commands/` (the
command lines), `data/`, `estimator/`, `runner/` (the only one that imports Ray) and `weight_sharing/`; `tuner/`
(Keras Tuner's interface) sits above this face, and `nas.Tuner` finds it on first use.
"""
from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any, Callable

from nas.errors import (ClusterError, DataError, NasError, RunError, SearchFailedError, SettingError, SpaceError,
                        TrialFailed)
from nas.estimator.training import TrainingData
from nas.result import SearchResult
from nas.runner.progress import SearchObserver
from nas.settings.search_config import SearchConfig

__version__ = "0.1.0"

_FUNCTION_MODULES = ("search", "leaderboard", "train", "runs")
_TUNERS = ("Tuner",)  # nas/tuner/, a room above this face: found when first asked for, never imported here


def __getattr__(name: str) -> Any:
    # These modules load on first use: `python -m nas.search` must find nas.search not yet imported.
    if name in _FUNCTION_MODULES or name == "tuner":
        return importlib.import_module(f"nas.{name}")
    if name in _TUNERS:
        return getattr(importlib.import_module("nas.tuner"), name)
    raise AttributeError(f"module 'nas' has no attribute {name!r}")


class _FunctionModule(types.ModuleType):
    """A module that is also the function it is named after: `nas.search(...)` calls `nas.search.search(...)`,
    while `python -m nas.search` runs its command. (Python lets a module change its class for this.)"""

    function: Callable

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    @property
    def __signature__(self):
        return inspect.signature(self.function)


def _call_module_as(module_name: str, function: Callable) -> None:
    """Make the module `module_name` callable as `function` (each of _FUNCTION_MODULES does this at its end)."""
    module = sys.modules[module_name]
    module.__class__ = _FunctionModule
    module.function = function


__all__ = ["ClusterError", "DataError", "NasError", "RunError", "SearchConfig", "SearchFailedError",
           "SearchObserver", "SearchResult", "SettingError", "SpaceError", "TrainingData", "TrialFailed", "Tuner",
           "leaderboard", "runs", "search", "train"]
