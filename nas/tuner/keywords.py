"""What a Keras Tuner script passes, read as nas's settings: the objective, the keywords a tuner takes, Hyperband's
budget, and the validation part that Keras' `validation_split` cuts. Nothing here imports keras-tuner or
TensorFlow: a Tuner is made, and its keywords checked, before either is needed.
"""
from __future__ import annotations

import difflib
import math
from typing import Any

from nas.errors import SettingError

# nas.search settings that a Tuner sets from its own keywords, and the keyword (or call) that sets each.
OWNED_SETTINGS = {"space": "hypermodel", "data": "search(x, y)", "dataset": "search(x, y)", "trials": "max_trials",
                  "output": "directory", "max_params": "max_model_size", "epochs": "search(epochs=...)",
                  "name": "project_name", "resume": "overwrite (a project already stored is resumed unless "
                                                    "overwrite=True)"}
# nas.search's keywords that are not settings, which a Tuner passes on.
SEARCH_KEYWORDS = ("storage", "progress")
# Keras Tuner's keywords that mean nothing to nas: accepted, and left aside.
IGNORED_KEYWORDS = ("logger", "tuner_id")
# Keras' fit arguments Tuner.search takes besides x, y, batch_size, epochs, verbose, callbacks, validation_split,
# validation_data and shuffle (nas shuffles each epoch, as fit does by default).
_FIT_REFUSED = ("class_weight", "sample_weight", "initial_epoch", "steps_per_epoch", "validation_steps",
                "validation_batch_size", "validation_freq")


def check_keywords(keywords: dict[str, Any], settings: tuple[str, ...], own: tuple[str, ...]) -> None:
    """Refuse, in one line, a keyword a Tuner does not take: not its own (`own`), not a nas setting, or a setting
    the Tuner sets from a keyword of Keras Tuner's."""
    for keyword in keywords:
        if keyword in OWNED_SETTINGS:
            raise SettingError(keyword, f"a Tuner sets it from {OWNED_SETTINGS[keyword]}; expected that instead")
        if keyword not in settings and keyword not in SEARCH_KEYWORDS and keyword not in IGNORED_KEYWORDS:
            known = [*own, *SEARCH_KEYWORDS, *(name for name in settings if name not in OWNED_SETTINGS)]
            close = difflib.get_close_matches(keyword, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else \
                "; expected a keyword of Keras Tuner's tuners or a setting of nas.search"
            raise SettingError(keyword, f"nas.Tuner has no keyword {keyword!r}{hint}")


def check_fit_keywords(keywords: dict[str, Any]) -> None:
    """Refuse, in one line, a keyword of Tuner.search that nas's training does not take."""
    if keywords:
        keyword = next(iter(keywords))
        what = "nas trains with the arguments it knows" if keyword in _FIT_REFUSED else "not an argument of fit"
        raise SettingError(keyword, f"Tuner.search does not pass {keyword!r} to the training ({what}). Expected x, "
                                    "y, batch_size, epochs, callbacks, validation_data or validation_split")


def check_hypermodel(hypermodel: Any) -> None:
    """A build(hp) function or a keras_tuner.HyperModel instance, told apart without importing keras-tuner."""
    if hypermodel is None:
        raise SettingError("hypermodel", "expected a build(hp) function or a keras_tuner.HyperModel, received None "
                                         "(nas.Tuner has no run_trial to override)")
    if isinstance(hypermodel, type):
        raise SettingError("hypermodel", f"expected a keras_tuner.HyperModel instance, received the class "
                                         f"{hypermodel.__name__}; pass {hypermodel.__name__}() instead")
    if not is_hypermodel(hypermodel) and not callable(hypermodel):
        raise SettingError("hypermodel", f"expected a build(hp) function or a keras_tuner.HyperModel, received "
                                         f"{type(hypermodel).__name__}")


def is_hypermodel(value: Any) -> bool:
    return _keras_tuner_base(value, "HyperModel") is not None


def overrides_fit(hypermodel: Any) -> bool:
    """Whether `hypermodel` is a keras_tuner.HyperModel whose class trains the model itself (its own `fit`)."""
    base = _keras_tuner_base(hypermodel, "HyperModel")
    return base is not None and type(hypermodel).fit is not base.fit


def _keras_tuner_base(value: Any, name: str) -> type | None:
    return next((kind for kind in type(value).__mro__
                 if kind.__name__ == name and kind.__module__.startswith("keras_tuner")), None)


def objective_settings(objective: Any, hypermodel: Any) -> dict[str, Any]:
    """nas's objective and direction for Keras Tuner's `objective`: a metric's name, keras_tuner.Objective(name,
    direction), or None. None is Keras Tuner's DefaultObjective where the HyperModel trains itself (its fit's float
    is minimised), and nas's own default otherwise (accuracy for a classification, val_loss for a regression)."""
    if objective is None:
        return {"objective": "default_objective", "direction": "min"} if overrides_fit(hypermodel) else {}
    if isinstance(objective, (list, tuple)) or _keras_tuner_base(objective, "MultiObjective") is not None:
        shown = [getattr(item, "name", item) for item in getattr(objective, "objectives", objective)]
        raise SettingError("objective", f"nas searches for one objective; received {len(shown)}: {shown}. "
                                        "Expected one metric's name or keras_tuner.Objective (objective='pareto' "
                                        "trades accuracy against latency and parameters)")
    if isinstance(objective, str):
        return {"objective": objective}
    if _keras_tuner_base(objective, "Objective") is not None:
        return {"objective": objective.name, "direction": objective.direction}
    raise SettingError("objective", f"expected a metric's name or keras_tuner.Objective(name, direction), "
                                    f"received {objective!r}")


def hyperband_trials(max_epochs: int, factor: int, iterations: int) -> int:
    """The models Keras Tuner's Hyperband trains from scratch in `iterations` iterations: each bracket's first round
    (keras_tuner/src/tuners/hyperband.py, HyperbandOracle._get_size(bracket, 0) over _get_num_brackets()). Its
    later rounds go on training the best of those, as ASHA's rungs do."""
    brackets, epochs = 0, max_epochs
    while epochs >= 1:  # the oracle's min_epochs
        epochs /= factor
        brackets += 1
    last_round_size = math.ceil(1 + math.log(max_epochs, factor))
    per_iteration = sum(math.ceil(last_round_size / (bracket + 1) * factor ** bracket) for bracket in range(brackets))
    return per_iteration * iterations


def validation_split(x: Any, y: Any, fraction: float) -> tuple[tuple, tuple]:
    """(x, y) and the validation part Keras' fit cuts with `validation_split`: the last `fraction` of the examples,
    before any shuffling."""
    if y is None or not hasattr(x, "__len__") or not hasattr(y, "__len__"):
        raise SettingError("validation_split", "cuts arrays x and y; received a dataset. Expected validation_data "
                                               "for it")
    if not 0 < fraction < 1:
        raise SettingError("validation_split", f"expected a fraction between 0 and 1, received {fraction!r}")
    split_at = int(math.floor(len(x) * (1.0 - fraction)))  # as keras' train_validation_split
    if split_at == 0 or split_at == len(x):
        raise SettingError("validation_split", f"leaves no training or no validation example of {len(x)}; "
                                               "expected a fraction that keeps some of each")
    return (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])
