"""Optuna 5: TPESampler with its HyperbandPruner, told each epoch through the Keras pruning callback of the
`optuna-integration` package, on nas's own space (the same parameters and limit, suggested define-by-run by
`strategies.bayes.suggest_architecture`).

The recipe is Optuna's Keras example (https://github.com/optuna/optuna-examples/blob/main/keras/keras_integration.py):
each trial trains on the first 3,000 training rows for 20 epochs in batches of 128, validated on 1,000 validation
rows, and its objective is the accuracy `model.evaluate` gives on those at the end. An architecture over the
parameter limit is pruned before training (`raise optuna.TrialPruned()`). The model handed back follows Optuna's FAQ
("How to save machine learning models trained in objective functions?",
https://optuna.readthedocs.io/en/stable/faq.html): every trial saves its model, and the best trial's is loaded and
tested once.

The clock: `study.optimize(timeout=budget)` starts no trial after the budget, and a callback
(benchmarks/peer_contenders/clock.py) ends the training running when it is spent.
"""
from __future__ import annotations

from pathlib import Path

from benchmarks.peer_contenders.clock import Clock, StopAtDeadline
from benchmarks.peer_contenders.tasks import Task

TRAIN_EXAMPLES, VALIDATION_EXAMPLES, EPOCHS, BATCH_SIZE = 3000, 1000, 20, 128  # the example's
LEARNING_RATE = 1e-3  # Keras' Adam default, as for Keras Tuner on nas's space


def optuna_tpe(task: Task, seed: int, budget: float, work: Path) -> dict:
    import keras
    import optuna
    from optuna_integration import KerasPruningCallback

    from search_spaces import get_space
    from search_spaces.hypermodel import architecture_of
    from strategies.bayes import suggest_architecture

    clock = Clock(budget, task.maximise)
    data = task.data(seed, work)
    space = get_space(task.space)
    x_train, y_train = data.x_train[:TRAIN_EXAMPLES], data.y_train[:TRAIN_EXAMPLES]
    x_valid, y_valid = data.x_validation[:VALIDATION_EXAMPLES], data.y_validation[:VALIDATION_EXAMPLES]
    models = work / "optuna" / f"{task.name}-seed{seed}"
    models.mkdir(parents=True, exist_ok=True)
    kind = "regression" if task.regression else "classification"
    metric = "loss" if task.regression else "accuracy"

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()
        arch = suggest_architecture(trial, space)
        model = space.build(arch, data.input_shape, data.num_outputs, kind)
        if model.count_params() > task.max_params:
            raise optuna.TrialPruned(f"{model.count_params()} parameters, over the limit {task.max_params}")
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE),
                      loss="mse" if task.regression else "sparse_categorical_crossentropy",
                      metrics=[] if task.regression else ["accuracy"])
        model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_data=(x_valid, y_valid),
                  callbacks=[KerasPruningCallback(trial, task.monitor),
                             StopAtDeadline(clock, task.monitor, record=False)], verbose=0)
        score = model.evaluate(x_valid, y_valid, verbose=0, return_dict=True)[metric]
        model.save(models / f"trial_{trial.number}.keras")
        clock.record(score)  # the objective Optuna is told (a pruned trial never reaches it)
        return score

    study = optuna.create_study(direction="maximize" if task.maximise else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed), pruner=optuna.pruners.HyperbandPruner())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, timeout=budget)
    trials = study.trials
    completed = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        return {"error": f"no trial completed in the budget ({len(trials)} started)", "architectures": 0}
    best = study.best_trial
    model = keras.models.load_model(models / f"trial_{best.number}.keras")
    test = task.test_figure(model, data.x_test, data.y_test)
    pruned = [trial for trial in trials if trial.state == optuna.trial.TrialState.PRUNED]
    return {"test": test, "validation": best.value, "params": int(model.count_params()),
            "architectures": len(completed) + sum(bool(trial.intermediate_values) for trial in pruned),
            "trials_pruned": len(pruned), "curve": clock.curve,
            "arch": {"space": task.space, "arch": architecture_of(space, best.params).to_dict()},
            "recipe": {"train_examples": len(x_train), "validation_examples": len(x_valid), "epochs": EPOCHS,
                       "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE},
            "notes": "study.optimize(timeout=budget), and a callback that ends the running training at the budget"}

