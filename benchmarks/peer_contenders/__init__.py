"""The contenders of benchmarks/peers.py: what each runs, on which tasks, and whether the wall-clock budget binds it.

Each contender runs in a process of its own (benchmarks/peers.py measures its whole process tree), one at a time,
and returns its figures as a dict: `test` (accuracy, or mean squared error for a regression), `validation`,
`params`, `architectures` (evaluated), `curve` ([seconds since its start, best validation so far], ...), `arch`
(what `nas.train` retrains for the control), `notes`, or `error` (one line) when it could not run.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.peer_contenders.tasks import Task


@dataclass(frozen=True)
class Contender:
    name: str
    tool: str  # the tool and how it is used, as the table says it
    kinds: tuple[str, ...]  # the kinds of task it runs on: images, table
    budgeted: bool  # it searches under the wall-clock budget (the baselines train one model instead)
    function: str  # "module:function" under benchmarks.peer_contenders, called (task, seed, budget, work, **options)
    options: dict = field(default_factory=dict)
    nas: bool = False

    def run(self, task: Task, seed: int, budget: float, work: Path, **more) -> dict:
        """Run in the contender's own process: its modules (TensorFlow, the tool) are imported only there."""
        module, function = self.function.split(":")
        call = getattr(importlib.import_module(f"benchmarks.peer_contenders.{module}"), function)
        return call(task, seed, budget, work, **self.options, **more)


BOTH = ("images", "table")
TUNER_CLASSES = {"random": "RandomSearch", "hyperband": "Hyperband", "bayesian": "BayesianOptimization"}
CONTENDERS = {contender.name: contender for contender in (
    Contender("nas-defaults", "nas, its defaults (--strategy rl)", BOTH, True, "nas_rows:nas_search",
              {"weight_sharing": False}, nas=True),
    Contender("nas-weight-sharing", "nas --weight-sharing", BOTH, True, "nas_rows:nas_search",
              {"weight_sharing": True}, nas=True),
    *(Contender(f"keras-tuner-{tuner}-{space}", f"Keras Tuner {class_name}, {words}", BOTH, True,
                "keras_tuner_rows:keras_tuner", {"tuner_name": tuner, "space_name": space})
      for space, words in (("nas", "nas's space"), ("guide", "its guide's build(hp)"))
      for tuner, class_name in TUNER_CLASSES.items()),
    Contender("optuna-tpe-hyperband", "Optuna TPE + HyperbandPruner, nas's space", BOTH, True,
              "optuna_rows:optuna_tpe"),
    Contender("autokeras", "AutoKeras ImageClassifier", ("images",), True, "autokeras_row:autokeras"),
    Contender("lenet", "the lecture's LeNet, nas's final recipe", ("images",), False, "nas_rows:lenet"),
    Contender("sklearn-hist-gradient-boosting", "scikit-learn HistGradientBoosting, defaults", ("table",), False,
              "sklearn_rows:sklearn_default", {"model": "hist_gradient_boosting"}),
    Contender("sklearn-mlp", "scikit-learn MLP, defaults", ("table",), False, "sklearn_rows:sklearn_default",
              {"model": "mlp"}),
)}


def for_task(task: Task) -> list[Contender]:
    return [contender for contender in CONTENDERS.values() if task.kind in contender.kinds]
