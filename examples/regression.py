"""Regression: search a dense network that predicts scikit-learn's diabetes progression score, by validation MAE.

What it shows:
- a regression: float targets make nas build the task as a regression (one linear output, no accuracy);
- a validation metric as the objective (`objective="val_mae"`; nas knows an error is minimised);
- a loss of your own (`loss="huber"`, any Keras loss name or object), while MAE is still reported;
- the `random` strategy, nas's default and the baseline every other strategy should beat.

Run it from the repository root:

    python examples/regression.py

NAS_EXAMPLES_QUICK=1 shrinks the budget to a smoke test (seconds of training); NAS_EXAMPLES_OUTPUT sets the
output folder (default: nas-runs under the current folder).

Data: the diabetes data set of Efron, Hastie, Johnstone and Tibshirani, "Least Angle Regression" (Annals of
Statistics, 2004), as shipped with scikit-learn (sklearn.datasets.load_diabetes): 442 patients, 10 baseline
measurements, and a measure of disease progression one year later (from 25 to 346).
"""
import os
import time

import keras
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import nas
from search_spaces import Choice, Float, Int, SearchSpace

QUICK = os.environ.get("NAS_EXAMPLES_QUICK") == "1"
OUTPUT = os.environ.get("NAS_EXAMPLES_OUTPUT", "nas-runs")


def build(arch, input_shape, num_outputs):
    """Dense layers, then `num_outputs` plain linear outputs (one here: the standardised target)."""
    inputs = keras.Input(shape=input_shape)
    hidden = inputs
    for _ in range(arch["layers"]):
        hidden = keras.layers.Dense(arch["units"], activation="relu")(hidden)
        if arch["dropout"] > 0:
            hidden = keras.layers.Dropout(arch["dropout"])(hidden)
    return keras.Model(inputs, keras.layers.Dense(num_outputs)(hidden))


SPACE = SearchSpace("diabetes-mlp", [
    Int("layers", 1, 3),
    Int("units", 8, 256, log=True),
    Choice("dropout", [0.0, 0.1, 0.3]),
    Float("learning_rate", 3e-4, 3e-2, log=True),  # each trial trains at its own learning rate
], builder=build)


def main():
    features, target = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(features, target, test_size=0.2, random_state=0)
    # The features are standardised with the training split's statistics (nas uses inputs as given).
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    # The targets are standardised too. Raw, they run from 25 to 346 while a fresh network outputs values near 0:
    # with the Huber loss (whose gradient is at most 1 per example) the output would spend the few epochs of a
    # trial just climbing to the mean, and every trial would score about the same. Standardised, trials differ by
    # what they learn. MAE scales with the targets, so an MAE times the training targets' standard deviation is
    # the MAE in the original units.
    y_mean, y_std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - y_mean) / y_std, (y_test - y_mean) / y_std

    result = nas.search(
        SPACE,
        strategy="random",
        data=(x_train, y_train),  # float targets: a regression
        test_data=(x_test, y_test),
        objective="val_mae",  # minimised: nas infers the direction from the name
        loss="huber",  # trains on the Huber loss; the MAE metric is reported beside it
        trials=3 if QUICK else 20,
        epochs=1 if QUICK else 30,
        final_epochs=1 if QUICK else 60,
        output=OUTPUT,
        name=f"diabetes-{time.strftime('%Y%m%d-%H%M%S')}",
    )

    board = result.leaderboard()
    print(board[["trial", "status", "validation_score", "test_score", "params", "arch"]].head(5)
          .to_string(index=False))

    best = result.best
    validation_mae, test_mae = best["validation_score"], best["test_metrics"]["mae"]
    print(f"best trial {best['trial']}: {best['values']}")
    print(f"validation MAE {validation_mae:.3f} (standardised), {validation_mae * y_std:.1f} (original units)")
    print(f"test MAE {test_mae:.3f} (standardised), {test_mae * y_std:.1f} (original units)")
    # For scale: always predicting the training mean.
    print(f"predicting the mean: test MAE {abs(y_test).mean() * y_std:.1f} (original units)")

    # The model predicts standardised targets from standardised features: undo the target scaling to read it.
    model = result.best_model()
    predicted = model.predict(x_test[:5], verbose=0)[:, 0] * y_std + y_mean
    print("predicted:", [round(float(value)) for value in predicted],
          "true:", [round(float(value)) for value in y_test[:5] * y_std + y_mean])


if __name__ == "__main__":
    main()
