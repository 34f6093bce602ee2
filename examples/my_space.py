"""A search space and data of your own, searched from the command line: a tiny CNN for 8x8 digit images.

A module like this one is all the command line needs: `--space module:SPACE` names a SearchSpace (or a
keras-tuner build(hp) function), and `--data module:load_data` names a function that returns the data. nas
imports both by name, so Ray's workers (and a later `--resume` or `nas.train`) find them again; the data function
runs in each worker, so the data itself never travels. Run from the repository root:

    python -m nas.search --space examples.my_space:SPACE --data examples.my_space:load_data --strategy evolution --trials 6

The search ends with the leaderboard and the run's name (SPACE-STRATEGY-TIME, e.g.
digits-cnn-evolution-20250101-120000; `--name RUN` picks one). With fewer trials than evolution's population
(20), every trial is a random draw; `--strategy-option population_size=4 --strategy-option sample_size=2` makes
it start mutating after 4. An interrupted search (Ctrl-C, or a killed machine) continues where it stopped, and a
finished one can be given more trials:

    python -m nas.search --resume --name RUN --trials 12

The winner (trial N of the leaderboard) was trained again on the training and validation data, tested once on
load_data's test part, and saved under nas-runs/models/RUN/; this prints its figures and can export it:

    python -m nas.train --trial RUN:N
    python -m nas.train --trial RUN:N --tflite digits.tflite

Add `--output DIR` to each command to keep the runs somewhere other than ./nas-runs.

Data: the optical recognition of handwritten digits data set (Alpaydin and Kaynak, 1998; UCI Machine Learning
Repository), as shipped with scikit-learn (sklearn.datasets.load_digits): 1,797 images of 8x8 pixels, 0 to 16.
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from search_spaces import Choice, Float, Int, SearchSpace


def load_data():
    """The digits as (N, 8, 8, 1) float images in [0, 1], with a test part the search never sees.

    The split is seeded, so every Ray worker (and a later `nas.train`) that calls this gets the same parts."""
    digits = load_digits()
    # The pixels are counts from 0 to 16, not uint8, so nas would use them as given: scaled here to [0, 1].
    images = (digits.images / 16.0).astype(np.float32)[..., np.newaxis]
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target, test_size=0.2,
                                                        stratify=digits.target, random_state=0)
    # No validation part: nas keeps a stratified 10% of the training part for it.
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def build(arch, input_shape, num_outputs):
    """One or two 3x3 convolutions, an optional 2x2 pooling, an optional dense layer and the classifier."""
    import keras  # imported here: the command line loads the space without TensorFlow until a model is built

    inputs = keras.Input(shape=input_shape)
    features = inputs
    for _ in range(arch["convs"]):
        features = keras.layers.Conv2D(arch["filters"], 3, padding="same", activation="relu")(features)
    if arch["pool"]:
        features = keras.layers.MaxPooling2D(2)(features)  # 8x8 -> 4x4
    features = keras.layers.Flatten()(features)
    if arch["dense_units"]:
        features = keras.layers.Dense(arch["dense_units"], activation="relu")(features)
    features = keras.layers.Dropout(arch["dropout"])(features)
    # Logits: nas compiles the model with a cross-entropy from logits.
    return keras.Model(inputs, keras.layers.Dense(num_outputs)(features))


SPACE = SearchSpace("digits-cnn", [
    Int("convs", 1, 2),
    Choice("filters", [8, 16, 32]),
    Choice("pool", [True, False]),
    Choice("dense_units", [0, 32, 64]),
    Float("dropout", 0.0, 0.4),
    Float("learning_rate", 1e-3, 1e-2, log=True),  # sets each trial's learning rate
], builder=build)
