"""The estimator of the design card: one architecture built, trained and scored, knowing nothing of Ray.

- `evaluator.py`: `Evaluator` builds an architecture, measures it, trains it and scores it (a search trial), or
  trains a winner on all the training data and tests it once (`FinalTraining`).
- `recipe.py`: the `Recipe` (optimizer, learning rate, batch, epochs, schedule, augmentation); `training.py`: one
  `fit` with nas's callbacks, the user's `train_fn`, and the training state a trial saves to go on from.
- `objectives.py`: what a search optimises (accuracy, a validation metric, MnasNet's reward, a Pareto front).
- `cost.py`, `flops.py`, `latency.py`: parameters, FLOPs and batch-1 latency; `layer_summary.py`: the layers a
  report draws; `tflite.py`: a checked TensorFlow Lite export; `tensorflow_logs.py`: TensorFlow's start-up lines
  kept off the terminal; `lecture_models.py`: the seed lecture's models with their recipes.

It imports the data room (nas/data) and nas/errors.py, search_spaces, and TensorFlow where it trains; never Ray, the
settings or the runner: nas/runner wraps it as a Ray Tune trial.
"""
