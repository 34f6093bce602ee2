"""keras-tuner both ways: its tuners search our spaces (`to_hypermodel`), and nas searches its build functions and
HyperModels (`from_hypermodel`)."""
from __future__ import annotations

import numpy as np
import pytest

from search_spaces import get_space
from search_spaces.hypermodel import architecture_of, to_hypermodel


def test_keras_tuner_random_search_runs_two_trials_on_the_mlp_space(tmp_path):
    import keras_tuner

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=120)
    x = (rng.normal(size=(120, 6, 6, 1)) * 0.1 + y[:, None, None, None]).astype("float32")
    space = get_space("mlp")
    tuner = keras_tuner.RandomSearch(to_hypermodel(space, (6, 6, 1), 3), objective="val_accuracy", max_trials=2,
                                     directory=str(tmp_path), project_name="mlp", seed=0)
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    trials = tuner.oracle.get_best_trials(num_trials=5)
    assert len(trials) == 2 and all(trial.status == "COMPLETED" for trial in trials)
    values = tuner.get_best_hyperparameters()[0].values
    best = architecture_of(space, values)
    # The architecture is the one the tuner trained: its values for our active parameters, and the same network.
    assert best.to_dict() == {name: values[name] for name in best}
    assert space.build(best, (6, 6, 1), 3).count_params() == tuner.get_best_models(1)[0].count_params()


def build_with_scopes(hp):
    """A keras-tuner build function: a model type with its own hyperparameters, and a loop over layers."""
    import keras

    model = keras.Sequential([keras.Input((6,))])
    kind = hp.Choice("kind", ["wide", "deep"])
    with hp.conditional_scope("kind", ["wide"]):
        if kind == "wide":
            model.add(keras.layers.Dense(hp.Int("width", 32, 128, step=32), activation="relu"))
    with hp.conditional_scope("kind", ["deep"]):
        if kind == "deep":
            for index in range(hp.Int("depth", 2, 3)):
                model.add(keras.layers.Dense(hp.Int(f"units_{index}", 4, 64, sampling="log"), activation="relu"))
    if hp.Boolean("dropout"):
        model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(hp.Fixed("classes", 3), activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_nas_discovers_a_build_functions_whole_space_conditional_scopes_included():
    from search_spaces import Choice, Float, Int
    from search_spaces.hypermodel import from_hypermodel

    space = from_hypermodel(build_with_scopes)
    found = {parameter.name: parameter for parameter in space.parameters}
    assert set(found) == {"kind", "width", "depth", "units_0", "units_1", "units_2", "dropout", "classes", "lr"}
    assert found["width"] == Choice("width", [32, 64, 96, 128], when={"kind": ["wide"]})  # stepped: its values
    assert found["depth"] == Int("depth", 2, 3, when={"kind": ["deep"]})
    assert found["units_2"] == Int("units_2", 4, 64, log=True, when={"kind": ["deep"]})  # only seen when depth=3
    assert found["lr"] == Float("lr", 1e-4, 1e-2, log=True)
    assert found["dropout"] == Choice("dropout", [False, True]) and found["classes"] == Choice("classes", [3])
    assert space.name == "build_with_scopes"


def test_a_discovered_space_builds_the_model_its_architecture_names():
    from search_spaces.hypermodel import from_hypermodel

    space = from_hypermodel(build_with_scopes)
    arch = space.validate({"kind": "deep", "depth": 3, "units_0": 5, "units_1": 6, "units_2": 7, "dropout": True,
                           "classes": 3, "lr": 0.005})
    model = space.build(arch, (6,), 3)
    assert [layer.units for layer in model.layers if type(layer).__name__ == "Dense"] == [5, 6, 7, 3]
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    assert space.size == float("inf")


def test_a_hypermodel_instance_is_searched_and_a_broken_build_is_refused_with_its_reason():
    import keras
    import keras_tuner

    from search_spaces.hypermodel import HyperModelError, from_hypermodel

    class Tabular(keras_tuner.HyperModel):
        def build(self, hp):
            return build_with_scopes(hp)

    space = from_hypermodel(Tabular(name="tabular"))
    assert {p.name for p in space.parameters} >= {"kind", "lr"} and space.name == "tabular"
    with pytest.raises(HyperModelError, match="Expected a keras_tuner.HyperModel instance. Received the class"):
        from_hypermodel(Tabular)
    with pytest.raises(HyperModelError, match="raised ZeroDivisionError with keras-tuner's default values"):
        from_hypermodel(lambda hp: hp.Int("x", 1, 2) / 0)
    with pytest.raises(HyperModelError, match=r"build\(hp\) returned NoneType, not a keras.Model"):
        from_hypermodel(lambda hp: hp.Int("x", 1, 2) and None)
    with pytest.raises(HyperModelError, match="declared no hyperparameters"):
        from_hypermodel(lambda hp: keras.Sequential([keras.layers.Dense(1)]))


def test_to_hypermodel_compiles_a_regression_for_mean_squared_error():
    import keras_tuner

    space = get_space("mlp")
    model = to_hypermodel(space, (5,), 1, task="regression").build(keras_tuner.HyperParameters())
    assert model.output_shape == (None, 1)
    assert model.loss == "mse" and model.layers[-1].activation.__name__ == "linear"
