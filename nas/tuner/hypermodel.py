"""The user's hypermodel as a Tuner hands it to nas, with what Keras Tuner's tuner and oracle do to each build.

keras-tuner applies three things around `build(hp)`: the tuner's `optimizer`, `loss` and `metrics` recompile each
built model (keras_tuner Tuner._override_compile_args), and the oracle's `hyperparameters` override the build's own
declarations, with `tune_new_entries=False` fixing the others at their defaults and `allow_new_entries=False`
refusing them (keras_tuner Oracle.update_space). `TunerHyperModel` does the same inside `build`, so that nas's
discovery of the space (search_spaces/hypermodel.py: from_hypermodel, which calls `build(hp)` several times) sees
the overriding hyperparameters, and each fixed one as `hp.Fixed`: a choice of one value.

nas knows that a HyperModel trains itself when its class overrides `fit`; `TunerHyperModelWithFit` forwards `fit`,
and is used only for a HyperModel whose class overrides it.

This module imports keras-tuner (and so TensorFlow): nas/tuner/tuner.py imports it only when a search, a summary or
`Tuner.hypermodel` needs it.
"""
from __future__ import annotations

import contextlib
from typing import Any

import keras_tuner

from nas.tuner.keywords import overrides_fit
from search_spaces.hypermodel import HyperModelError


class TunerHyperModel(keras_tuner.HyperModel):
    """`hypermodel` (a build(hp) function or a keras_tuner.HyperModel) with a Tuner's overrides applied to each
    build. Picklable with cloudpickle, as Ray ships it to its workers."""

    def __init__(self, hypermodel: Any, hyperparameters: keras_tuner.HyperParameters | None = None,
                 tune_new_entries: bool = True, allow_new_entries: bool = True, optimizer: Any = None,
                 loss: Any = None, metrics: Any = None):
        super().__init__(name=name_of(hypermodel))
        self.hypermodel = hypermodel
        self.hyperparameters = hyperparameters
        self.tune_new_entries, self.allow_new_entries = tune_new_entries, allow_new_entries
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics

    def build(self, hp):
        with self._declarations(hp):
            model = self.hypermodel.build(hp) if isinstance(self.hypermodel, keras_tuner.HyperModel) \
                else self.hypermodel(hp)
        if self.optimizer is not None or self.loss is not None or self.metrics is not None:
            _compile_again(model, self.optimizer, self.loss, self.metrics)
        return model

    @contextlib.contextmanager
    def _declarations(self, hp):
        """While the build runs: the tuner's `hyperparameters` are declared first (the build's own declarations
        of the same names then return their values, as in keras-tuner), and a new name is fixed at its default
        or refused. keras-tuner declares every hyperparameter through `HyperParameters._retrieve`, so that is
        where a new one is caught."""
        given = self.hyperparameters
        if given is not None:
            hp.merge(given, overwrite=False)
        if self.tune_new_entries and self.allow_new_entries:
            yield
            return
        known = {declared.name for declared in given.space} if given is not None else set()
        retrieve = hp._retrieve

        def declared(new):
            if new.name not in known and not hp._exists(new.name, new.conditions):
                if not self.allow_new_entries:
                    raise HyperModelError(f"{self.name}: declared {new.name!r}, which hyperparameters does not "
                                          "hold, and allow_new_entries is False. Expected it in hyperparameters, "
                                          "or allow_new_entries=True")
                new = _fixed_at_default(new)
            return retrieve(new)

        hp._retrieve = declared
        try:
            yield
        finally:
            del hp._retrieve


class TunerHyperModelWithFit(TunerHyperModel):
    """A TunerHyperModel around a HyperModel that trains its models itself (its fit may declare hyperparameters
    too: they are overridden, fixed or refused as build's are)."""

    def fit(self, hp, model, *args, **kwargs):
        with self._declarations(hp):
            return self.hypermodel.fit(hp, model, *args, **kwargs)


def wrapped(hypermodel: Any, **overrides: Any) -> TunerHyperModel:
    """`hypermodel` in the wrapper class that matches it: one that forwards `fit` if the user's class has its own."""
    kind = TunerHyperModelWithFit if overrides_fit(hypermodel) else TunerHyperModel
    return kind(hypermodel, **overrides)


def as_hypermodel(hypermodel: Any) -> keras_tuner.HyperModel:
    """A keras_tuner.HyperModel: `hypermodel` itself, or a build function in one (keras-tuner's DefaultHyperModel)."""
    return hypermodel if isinstance(hypermodel, keras_tuner.HyperModel) else TunerHyperModel(hypermodel)


def name_of(hypermodel: Any) -> str:
    return getattr(hypermodel, "name", None) or getattr(hypermodel, "__name__", None) or type(hypermodel).__name__


def _fixed_at_default(new):
    """keras-tuner's Fixed at `new`'s default, under the same conditions: with tune_new_entries=False, what the
    oracle leaves out of its space takes its default in every trial."""
    from keras_tuner.engine.hyperparameters import Fixed

    return Fixed(new.name, new.default, conditions=new.conditions)


def _compile_again(model, optimizer: Any, loss: Any, metrics: Any) -> None:
    """Compile `model` again with the tuner's optimizer, loss and metrics, keeping what its build compiled it with
    otherwise (Keras keeps compile's arguments in `model._compile_config`); a model built uncompiled gets Keras'
    own default optimizer where none is given, as under Keras Tuner, which asks for optimizer and loss then. A
    fresh optimizer each time, as keras-tuner makes one: an optimizer object serves one model."""
    import keras

    compiled = getattr(getattr(model, "_compile_config", None), "config", None) if model.compiled else None
    arguments = dict(compiled or {})
    arguments.setdefault("optimizer", "rmsprop")  # Keras compile's own default, for a model built uncompiled
    if optimizer is not None:
        arguments["optimizer"] = optimizer if isinstance(optimizer, str) else \
            keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    if loss is not None:
        arguments["loss"] = loss
    if metrics is not None:
        arguments["metrics"] = metrics
    model.compile(**arguments)
