"""The drop-in tuner: a Keras Tuner script becomes a nas search by changing its import and its tuner's class name.

    import nas
    tuner = nas.Tuner(build_model, objective="val_accuracy", max_trials=3)   # or nas.tuner.RandomSearch(...)
    tuner.search(x_train, y_train, epochs=2, validation_data=(x_val, y_val))
    best_model = tuner.get_best_models(num_models=2)[0]

- `tuner`: `Tuner`, Keras Tuner's interface over `nas.search` (what each keyword becomes is in its docstring):
  search, get_best_models, get_best_hyperparameters, results_summary, search_space_summary.
- `tuners`: `RandomSearch`, `BayesianOptimization` and `Hyperband`, Keras Tuner's tuners by name (random, bayes,
  ASHA).
- `keywords`: Keras Tuner's arguments read as nas's settings (objective, Hyperband's budget, validation_split).
- `hypermodel`: the user's hypermodel with Keras Tuner's overrides of each build (hyperparameters, compile
  arguments); it imports keras-tuner, and only a search imports it.
- `summaries`: the two summaries, printed as Keras Tuner prints them.

This room sits above the face: it may import every other room of nas (errors, data, estimator, weight_sharing,
settings, runner) and the face (nas.search, nas.runs), results, search_spaces and strategies; nothing imports it
but `nas.Tuner`, found on first use. Importing it imports neither TensorFlow nor keras-tuner.
"""
from nas.tuner.tuner import Tuner
from nas.tuner.tuners import BayesianOptimization, Hyperband, RandomSearch

__all__ = ["BayesianOptimization", "Hyperband", "RandomSearch", "Tuner"]
