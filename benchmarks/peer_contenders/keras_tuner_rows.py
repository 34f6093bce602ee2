"""Keras Tuner 1.4's three tuners, each on two spaces: nas's own through `to_hypermodel` (the space nas searches,
with the same parameter limit through Keras Tuner's `max_model_size`, so only the search differs), and the
getting-started guide's `build_model(hp)` (benchmarks/peer_contenders/guide_space.py: the space its users search;
it has no limit, so its parameters stand beside its accuracy).

The recipes are the documentation's:
- RandomSearch and BayesianOptimization: `tuner.search(x, y, epochs=2, validation_data=...)` and
  `tuner.get_best_models()[0]` (https://keras.io/guides/keras_tuner/getting_started/, "Start the search" and
  "Query the results"); `objective="val_accuracy"` (val_loss for a regression), their other defaults.
- Hyperband: `kt.Hyperband(max_epochs=10, factor=3)` and `search(..., epochs=50, callbacks=[EarlyStopping(
  "val_loss", patience=5)])`, TensorFlow's Keras Tuner tutorial on Fashion-MNIST
  (https://www.tensorflow.org/tutorials/keras/keras_tuner).
Where a tool needs a setting to run at all, it gets it: `max_consecutive_failed_trials` is raised from 3, or the
first three over-limit proposals in a row would end the search.

The clock: none of the tuners has a time budget. A callback (benchmarks/peer_contenders/clock.py) ends the running
training when the budget is spent, and then sets `oracle.max_trials` to the trials created, which ends `search()`;
`max_trials` (and Hyperband's `hyperband_iterations`) are otherwise set too large to bind. The clock is checked
before each trial too: a trial whose build fails (over `max_model_size`) trains nothing, and a BayesianOptimization
that proposed such models one after another ran 781 s on a 180 s budget when only the callback checked. The best
model is then loaded from its checkpoint, as `get_best_models()` does, and tested once.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.peer_contenders.clock import Clock, StopAtDeadline
from benchmarks.peer_contenders.tasks import Task

TUNERS = ("random", "hyperband", "bayesian")
SPACES = ("nas", "guide")
UNBOUNDED = 100_000  # max_trials / hyperband_iterations that the clock, not the count, ends
GUIDE_EPOCHS = 2  # the getting-started guide's search(epochs=2)
HYPERBAND_MAX_EPOCHS, HYPERBAND_FACTOR, HYPERBAND_SEARCH_EPOCHS, HYPERBAND_PATIENCE = 10, 3, 50, 5  # the tutorial's


def keras_tuner(task: Task, seed: int, budget: float, work: Path, tuner_name: str, space_name: str) -> dict:
    import keras
    import keras_tuner as kt

    from search_spaces import get_space
    from search_spaces.hypermodel import architecture_of, to_hypermodel

    clock = Clock(budget, task.maximise)
    data = task.data(seed, work)
    one_hot = space_name == "guide" and not task.regression  # the guide trains on one-hot labels
    labels = (lambda y: keras.utils.to_categorical(y, data.num_outputs)) if one_hot else (lambda y: y)
    space = get_space(task.space)
    if space_name == "nas":
        hypermodel = to_hypermodel(space, data.input_shape, data.num_outputs,
                                   task="regression" if task.regression else "classification")
    else:
        from benchmarks.peer_contenders import guide_space

        hypermodel = getattr(guide_space, task.name)
    common = dict(objective=kt.Objective(task.monitor, "max" if task.maximise else "min"), seed=seed,
                  directory=str(work / "keras_tuner"), project_name=f"{task.name}-{tuner_name}-{space_name}-{seed}",
                  overwrite=True, max_model_size=task.max_params if space_name == "nas" else None,
                  max_consecutive_failed_trials=UNBOUNDED)
    callbacks = [StopAtDeadline(clock, task.monitor)]
    if tuner_name == "hyperband":
        tuner = kt.Hyperband(hypermodel, max_epochs=HYPERBAND_MAX_EPOCHS, factor=HYPERBAND_FACTOR,
                             hyperband_iterations=UNBOUNDED, **common)
        epochs = HYPERBAND_SEARCH_EPOCHS
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=HYPERBAND_PATIENCE))
    else:
        tuner_class = kt.RandomSearch if tuner_name == "random" else kt.BayesianOptimization
        tuner = tuner_class(hypermodel, max_trials=UNBOUNDED, **common)
        epochs = GUIDE_EPOCHS
    end_at_the_clock(tuner, clock)
    oracle = tuner.oracle
    tuner.search(data.x_train, labels(data.y_train), epochs=epochs,
                 validation_data=(data.x_validation, labels(data.y_validation)), callbacks=callbacks, verbose=0)
    trials = list(oracle.trials.values())
    completed = [trial for trial in trials if trial.status == "COMPLETED"]
    if not completed:
        return {"error": f"no trial completed in the budget ({len(trials)} started)", "architectures": 0}
    model = tuner.get_best_models(1)[0]
    best = oracle.get_best_trials(1)[0]
    test = task.test_figure(model, data.x_test, labels(data.y_test))
    values = {name: value for name, value in best.hyperparameters.values.items()
              if not name.startswith("tuner/")}  # Hyperband's own bookkeeping: its epochs and bracket
    architecture = ({"space": task.space, "arch": architecture_of(space, values).to_dict()} if space_name == "nas"
                    else {"space": f"benchmarks.peer_contenders.guide_space:{task.name}", "arch": values})
    return {"test": test, "validation": best.score, "params": int(model.count_params()),
            "architectures": len(completed), "trials_failed": sum(trial.status == "FAILED" for trial in trials),
            "curve": clock.curve, "arch": architecture,
            "recipe": {"search_epochs": epochs, "max_epochs": HYPERBAND_MAX_EPOCHS if tuner_name == "hyperband"
                       else None, "batch_size": 32, "learning_rate": "the space's" if space_name == "guide" else 1e-3},
            "notes": "stopped at the budget: a callback ends the running training, and oracle.max_trials is set at "
                     "the first training end or trial start past it"}


def end_at_the_clock(tuner, clock: Clock) -> None:
    """The tuner creates no trial once the clock's budget is spent: `oracle.max_trials` becomes the trials created.
    Checked at the end of every training (StopAtDeadline) and before every trial, through Keras Tuner's own hook
    `pre_create_trial` (BaseTuner.search calls it before `oracle.create_trial`), set on this tuner alone."""
    oracle = tuner.oracle
    # At least 1: Keras Tuner reads max_trials=0 as no limit (a budget spent before the first trial began).
    clock.when_out_of_time(lambda: setattr(oracle, "max_trials", max(1, len(oracle.trials))))
    tuner.pre_create_trial = clock.check
