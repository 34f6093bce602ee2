"""keras-tuner, both ways: any space as a keras-tuner `HyperModel`, and a keras-tuner `build(hp)` function or
`HyperModel` as a space that nas's own strategies search.

keras-tuner does the declaring, through its public API (`HyperParameters`, `conditional_scope`); keras-tuner is
imported only when one of these functions runs.

Discovering a space from `build(hp)`: keras-tuner itself learns the space as trials run, since code can declare a
hyperparameter only on some paths (`for i in range(hp.Int("layers", 1, 3)): hp.Int(f"units_{i}", ...)`). nas needs
the whole space before its first proposal, so it calls `build` several times: once with keras-tuner's defaults,
then with random values of everything declared so far, until `QUIET_PASSES` calls in a row declare nothing new
(at most `MAX_PASSES`). Each declaration maps onto a parameter: `hp.Choice` and `hp.Boolean` to a `Choice`,
`hp.Fixed` to a one-option `Choice`, `hp.Int` and `hp.Float` to `Int` and `Float` (a `step` makes the values a
`Choice` of the stepped values; "reverse_log" sampling is searched on a linear scale). A hyperparameter declared
inside `hp.conditional_scope(parent, values)` becomes conditional on the parent, as keras-tuner knows it; one that
a loop declares without a scope is, for keras-tuner and for nas alike, always present.
"""
from __future__ import annotations

import contextlib
import re
import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from search_spaces.base import Architecture, SearchSpace
from search_spaces.parameters import Choice, Float, Int, Parameter

MAX_PASSES = 40
QUIET_PASSES = 5
_MAX_STEPPED_VALUES = 1000


class HyperModelError(ValueError):
    """A keras-tuner build function or HyperModel nas cannot search; the message says why."""


def to_hypermodel(space: SearchSpace, input_shape: Sequence[int], num_outputs: int, learning_rate: float = 1e-3,
                  task: str = "classification"):
    """A `keras_tuner.HyperModel` whose models are `space`'s architectures, compiled with Adam: for accuracy under
    sparse categorical cross-entropy (integer labels), or for a regression under mean squared error."""
    import keras
    import keras_tuner

    class SpaceHyperModel(keras_tuner.HyperModel):
        def build(self, hp) -> keras.Model:
            decided = {}
            for parameter in space.parameters:
                if not parameter.is_active(decided):
                    continue
                with contextlib.ExitStack() as scopes:
                    for parent, values in parameter.when.items():
                        scopes.enter_context(hp.conditional_scope(parent, list(values)))
                    decided[parameter.name] = _declare(hp, parameter)
            model = space.build(Architecture(space.name, decided), input_shape, num_outputs, task)
            if task == "regression":
                model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
            else:
                model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                              metrics=["accuracy"])
            return model

    return SpaceHyperModel(name=f"nas-{space.name}")


def _declare(hp, parameter: Parameter):
    if isinstance(parameter, Int):
        return hp.Int(parameter.name, parameter.low, parameter.high, sampling="log" if parameter.log else "linear")
    if isinstance(parameter, Float):
        return hp.Float(parameter.name, parameter.low, parameter.high, sampling="log" if parameter.log else "linear")
    # keras-tuner's Choice keeps ints, floats and strings; a yes/no choice is its Boolean.
    if all(isinstance(option, bool) for option in parameter.options):
        return hp.Boolean(parameter.name)
    return hp.Choice(parameter.name, list(parameter.options))


def architecture_of(space: SearchSpace, values: dict) -> Architecture:
    """The architecture keras-tuner's best hyperparameters describe (`tuner.get_best_hyperparameters()[0].values`),
    keeping only the parameters active in it."""
    decided = {}
    for parameter in space.parameters:
        if parameter.is_active(decided):
            decided[parameter.name] = values[parameter.name]
    return space.validate(decided)


def from_hypermodel(hypermodel: Any, name: str | None = None, seed: int = 0) -> SearchSpace:
    """The space a keras-tuner `build(hp)` function or `keras_tuner.HyperModel` declares, with a builder that
    calls it with each architecture's values (see the module's docstring for how the space is found). What a
    HyperModel's own `fit` declares needs data: nas/estimator/hypermodel_fit.py adds it once the data is known."""
    import keras
    import keras_tuner

    build = _build_function(hypermodel, keras_tuner)
    name = name or getattr(hypermodel, "name", None) or getattr(hypermodel, "__name__", None) \
        or type(hypermodel).__name__

    def build_a_model(hp) -> None:
        model = build(hp)
        if not isinstance(model, keras.Model):
            raise HyperModelError(f"{name}: build(hp) returned {type(model).__name__}, not a keras.Model. "
                                  "Expected build to return the model it built")

    declared = discover(name, build_a_model, seed)
    if not declared:
        raise HyperModelError(f"{name}: build(hp) declared no hyperparameters. Expected hp.Choice, hp.Int, "
                              "hp.Float, hp.Boolean or hp.Fixed calls to search")
    return SearchSpace(name, declared_parameters(declared),
                       builder=KerasTunerBuilder(build, overridden_fit(hypermodel, keras_tuner),
                                                 {hp_name: known.default for hp_name, known in declared.items()}))


def discover(name: str, call: Callable, seed: int = 0, known: dict | None = None, max_seconds: float | None = None,
             what: str = "build(hp)", quiet_passes: int = QUIET_PASSES) -> dict[str, Any]:
    """keras-tuner's hyperparameters that `call(hp)` declares, by name in the order first declared, found by
    calling it with keras-tuner's defaults and then with random values of everything declared so far (`known`
    to start with), until `quiet_passes` calls in a row declare nothing new, MAX_PASSES calls, or `max_seconds`.
    The call with the defaults must succeed: its error is the one line a user sees (`what` names the call)."""
    import keras_tuner

    declared: dict[str, Any] = dict(known or {})
    rng = np.random.default_rng(seed)
    quiet, start = 0, time.perf_counter()
    for attempt in range(MAX_PASSES):
        hp = keras_tuner.HyperParameters()
        if attempt:  # steer the call down other paths: random values of everything declared so far
            hp.values = {hp_name: _random_value(known_hp, rng) for hp_name, known_hp in declared.items()}
        try:
            call(hp)
        except HyperModelError:
            raise
        except Exception as error:
            if not attempt:
                raise _failed_with_defaults(name, what, error) from error
            # Some random combinations may not build (e.g. too deep for the input); the defaults did.
        new = [declared_hp for declared_hp in hp.space if declared_hp.name not in declared]
        for declared_hp in new:
            declared[declared_hp.name] = declared_hp
        quiet = 0 if new else quiet + 1
        _clear_keras_session()
        if quiet >= quiet_passes or (max_seconds is not None and time.perf_counter() - start > max_seconds):
            break
    return declared


def _failed_with_defaults(name: str, what: str, error: Exception) -> HyperModelError:
    download = re.search(r"URL fetch failure on (\S+?):? ", str(error))
    if download:  # keras_tuner.applications.HyperEfficientNet builds on ImageNet weights it downloads
        return HyperModelError(f"{name}: {what} needs {download.group(1).rsplit('/', 1)[-1]} from the internet, "
                               f"which cannot be downloaded here ({download.group(1)}). Expected the file in "
                               "~/.keras/models/, or a hypermodel that downloads nothing")
    return HyperModelError(f"{name}: {what} raised {type(error).__name__} with keras-tuner's default values: "
                           f"{_first_line(error)}")


def declared_parameters(declared: dict[str, Any]) -> list[Parameter]:
    """Our parameters for keras-tuner's declared hyperparameters (as `discover` returns them)."""
    return [_parameter(declared_hp) for declared_hp in declared.values()]


def known_hyperparameters(space: SearchSpace) -> dict[str, Any]:
    """keras-tuner hyperparameters for a space's parameters (to go on discovering from them)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for parameter in space.parameters:
        _declare(hp, parameter)
    return {declared.name: declared for declared in hp.space}


def overridden_fit(hypermodel: Any, keras_tuner) -> Callable | None:
    """A HyperModel's own `fit(hp, model, *args, **kwargs)`, or None where it keeps keras-tuner's (model.fit)."""
    if isinstance(hypermodel, keras_tuner.HyperModel) and type(hypermodel).fit is not keras_tuner.HyperModel.fit:
        return hypermodel.fit
    return None


def hypermodel_fit(space: SearchSpace) -> Callable | None:
    """The `fit` of the HyperModel a space was found in, where it overrides keras-tuner's; else None."""
    builder = space.builder
    return builder.fit if isinstance(builder, KerasTunerBuilder) else None


class KerasTunerBuilder:
    """A space's builder that calls a keras-tuner build function with an architecture's values as `hp`; `fit` is
    the HyperModel's own, which nas's training calls instead of Keras' (nas/estimator/hypermodel_fit.py)."""

    def __init__(self, build: Callable, fit: Callable | None = None, defaults: Mapping[str, Any] | None = None):
        self.build, self.fit = build, fit
        self.defaults = dict(defaults or {})  # keras-tuner's default value of each hyperparameter

    def __call__(self, arch: Architecture, input_shape: tuple, num_outputs: int):
        return self.build(hyperparameters(arch))


def default_architecture(space: SearchSpace, rng: np.random.Generator) -> Architecture:
    """The architecture of keras-tuner's default values (a random value where a space holds no default)."""
    defaults = space.builder.defaults if isinstance(space.builder, KerasTunerBuilder) else {}
    return architecture_of(space, {**space.sample(rng), **{name: value for name, value in defaults.items()
                                                           if name in {p.name for p in space.parameters}}})


def hyperparameters(values: Mapping[str, Any]):
    """keras-tuner `HyperParameters` holding `values`, as build(hp) and fit(hp, ...) receive them."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    hp.values = dict(values)
    return hp


def _build_function(hypermodel: Any, keras_tuner) -> Callable:
    if isinstance(hypermodel, keras_tuner.HyperModel):
        return hypermodel.build
    if isinstance(hypermodel, type) and issubclass(hypermodel, keras_tuner.HyperModel):
        raise HyperModelError(f"Expected a keras_tuner.HyperModel instance. Received the class "
                              f"{hypermodel.__name__}; pass {hypermodel.__name__}() instead")
    if callable(hypermodel):
        return hypermodel
    raise HyperModelError(f"Expected a keras-tuner build(hp) function or a keras_tuner.HyperModel. Received "
                          f"{type(hypermodel).__name__}")


def _parameter(declared) -> Parameter:
    """Our parameter for one of keras-tuner's hyperparameters."""
    kind, config = type(declared).__name__, declared.get_config()
    when = {}
    for condition in declared.conditions:
        parent = condition.get_config()
        when[parent["name"]] = list(parent["values"])
    name = config["name"]
    try:
        if kind == "Boolean":
            return Choice(name, [False, True], when)
        if kind == "Fixed":
            return Choice(name, [config["value"]], when)
        if kind == "Choice":
            return Choice(name, list(config["values"]), when)
        if kind in ("Int", "Float"):
            return _range(kind, name, config, when)
    except ValueError as error:
        raise HyperModelError(f"Cannot search keras-tuner hyperparameter {name!r}: {error}") from None
    raise HyperModelError(f"Cannot search keras-tuner hyperparameter {name!r} of type {kind}. Expected Choice, "
                          "Int, Float, Boolean or Fixed")


def _range(kind: str, name: str, config: dict, when: dict) -> Parameter:
    low, high, step, log = config["min_value"], config["max_value"], config.get("step"), config["sampling"] == "log"
    # keras-tuner's step is an increment on a linear scale and a factor on a log one; 1 (or none) means any value.
    if not step or step == 1 or (log and step < 1):
        return (Int if kind == "Int" else Float)(name, low, high, log=log, when=when)
    values, value = [], low
    while value <= high * (1 + 1e-9) and len(values) < _MAX_STEPPED_VALUES:
        values.append(int(value) if kind == "Int" else float(round(value, 12)))
        value = value * step if log else value + step
    return Choice(name, list(dict.fromkeys(values)), when)


def _random_value(declared, rng: np.random.Generator):
    kind, config = type(declared).__name__, declared.get_config()
    if kind == "Boolean":
        return bool(rng.integers(2))
    if kind == "Fixed":
        return config["value"]
    if kind == "Choice":
        return config["values"][int(rng.integers(len(config["values"])))]
    parameter = _range(kind, config["name"], config, {})
    return parameter.sample(rng)


def _clear_keras_session() -> None:
    import keras

    keras.backend.clear_session()


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


__all__ = ["HyperModelError", "KerasTunerBuilder", "architecture_of", "declared_parameters", "default_architecture",
           "discover", "from_hypermodel", "hypermodel_fit", "hyperparameters", "known_hyperparameters",
           "overridden_fit", "to_hypermodel"]
