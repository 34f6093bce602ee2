"""The space a Keras Tuner user would really search: the `build_model(hp)` of Keras Tuner's getting-started guide
(https://keras.io/guides/keras_tuner/getting_started/, "Define the search space"), written out as a user would,
its output layer and loss fit to each task (the guide's is 10 classes under categorical cross-entropy on one-hot
labels). One attribute per task, so `nas.train` can import it (`benchmarks.peer_contenders.guide_space:TASK`) to
retrain a winner under nas's final recipe.
"""
from __future__ import annotations


def guide_build_model(hp, outputs: int, regression: bool):
    """The guide's build_model(hp), `outputs` classes under categorical cross-entropy, or one regression output."""
    import keras
    from keras import layers

    model = keras.Sequential()
    model.add(layers.Flatten())
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(layers.Dense(units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                               activation=hp.Choice("activation", ["relu", "tanh"])))
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    if regression:
        model.add(layers.Dense(1))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    else:
        model.add(layers.Dense(outputs, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def fashion_mnist(hp):
    return guide_build_model(hp, 10, regression=False)


def breast_cancer(hp):
    return guide_build_model(hp, 2, regression=False)


def diabetes(hp):
    return guide_build_model(hp, 1, regression=True)
