"""keras-tuner's own tuners search our spaces through `to_hypermodel`."""
from __future__ import annotations

import numpy as np

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
    best = architecture_of(space, tuner.get_best_hyperparameters()[0].values)
    assert space.validate(best) == best  # a point of our space, conditionals respected
