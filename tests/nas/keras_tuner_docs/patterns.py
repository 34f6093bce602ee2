"""Keras Tuner's documented patterns, written out as its pages teach them (the code is the pages' shape, cut to tiny
sizes), for the conformance suite (test_patterns.py) to run through nas. Each says which page it comes from:

- FRONT: the keras.io/keras_tuner front page ("Quick introduction").
- GETTING_STARTED: keras.io/guides/keras_tuner/getting_started ("Getting started with KerasTuner").
- CUSTOM_TUNER: keras.io/guides/keras_tuner/custom_tuner ("Tune hyperparameters in your custom training loop").
- TAILOR: keras.io/guides/keras_tuner/tailor_the_search_space ("Tailor the search space").
- FAILED_TRIALS: keras.io/guides/keras_tuner/failed_trials ("Handling failed trials in KerasTuner").
- HYPERMODEL_API: keras.io/api/keras_tuner/hypermodels/base_hypermodel ("The base HyperModel class").

Module-level, so Ray's workers import them by name.
"""
from __future__ import annotations

import numpy as np

FRONT = "https://keras.io/keras_tuner/"
GETTING_STARTED = "https://keras.io/guides/keras_tuner/getting_started/"
CUSTOM_TUNER = "https://keras.io/guides/keras_tuner/custom_tuner/"
FAILED_TRIALS = "https://keras.io/guides/keras_tuner/failed_trials/"
TAILOR = "https://keras.io/guides/keras_tuner/tailor_the_search_space/"
HYPERMODEL_API = "https://keras.io/api/keras_tuner/hypermodels/base_hypermodel/"

# What each HyperModel.fit below was called with, by the pattern's name (read in the process that called it).
FIT_CALLS: dict[str, list[dict]] = {}


def mnist_slice(train: int = 400, validation: int = 200, one_hot: bool = True):
    """MNIST as the getting-started guide prepares it (float images in [0, 1] with a channel axis; one-hot labels
    by keras.utils.to_categorical), cut to `train` and `validation` examples."""
    import keras

    from nas.data.datasets import read_dataset

    data = read_dataset("mnist")
    x = np.expand_dims(data["x_train"][:train + validation], -1).astype("float32") / 255.0
    y = data["y_train"][:train + validation]
    if one_hot:
        y = keras.utils.to_categorical(y, 10)
    return (x[:train], y[:train]), (x[train:], y[train:])


def regression_data(count: int = 300, features: int = 20, seed: int = 0):
    """Random inputs and a linear target with noise, as the front page's and failed-trials guide's random data."""
    rng = np.random.default_rng(seed)
    x = rng.random((count, features)).astype("float32")
    y = (x @ rng.random(features) + 0.1 * rng.standard_normal(count)).astype("float32")
    return x, y


def front_page_build_model(hp):
    """FRONT: no keras.Input (Keras builds the model on its first batch), a regression compiled with mse."""
    import keras

    model = keras.Sequential()
    model.add(keras.layers.Dense(hp.Choice("units", [8, 16, 32]), activation="relu"))
    model.add(keras.layers.Dense(1, activation="relu"))
    model.compile(loss="mse")
    return model


def getting_started_build_model(hp):
    """GETTING_STARTED, "Define the search space" / "Start the search": a loop of layers, one-hot labels under
    categorical_crossentropy, the learning rate on a log scale (written out once, for the peers benchmark too)."""
    from benchmarks.peer_contenders.guide_space import guide_build_model

    return guide_build_model(hp, 10, regression=False)


def smoothed_loss_build_model(hp):
    """GETTING_STARTED's build, its loss passed as an object (label smoothing needs one-hot labels)."""
    import keras
    from keras import layers

    model = keras.Sequential([layers.Flatten(),
                              layers.Dense(hp.Int("units", 32, 128, step=32), activation="relu"),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                  metrics=["accuracy"])
    return model


def tailor_build_model(hp):
    """TAILOR: units, dropout and learning_rate declared; the tuner's `hyperparameters` narrow what is searched."""
    import keras
    from keras import layers

    model = keras.Sequential()
    model.add(layers.Flatten())
    model.add(layers.Dense(units=hp.Int("units", min_value=32, max_value=128, step=32), activation="relu"))
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(units=10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _keras_tuner():
    import keras_tuner

    return keras_tuner


class _Recorded:
    """Records each fit call's arguments under the pattern's name (FIT_CALLS)."""

    def _record(self, name: str, hp, args: tuple, kwargs: dict) -> None:
        FIT_CALLS.setdefault(name, []).append({
            "hp": dict(hp.values), "positional": len(args), "keywords": sorted(kwargs),
            "callbacks": [type(callback).__name__ for callback in kwargs.get("callbacks") or []]})


def tune_model_training():
    """GETTING_STARTED, "Tune model training": fit declares `shuffle`."""
    keras_tuner = _keras_tuner()

    class MyHyperModel(keras_tuner.HyperModel, _Recorded):
        def build(self, hp):
            import keras
            from keras import layers

            model = keras.Sequential()
            model.add(layers.Flatten())
            model.add(layers.Dense(units=hp.Int("units", min_value=32, max_value=512, step=32), activation="relu"))
            model.add(layers.Dense(10, activation="softmax"))
            model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            self._record("tune_model_training", hp, args, kwargs)
            return model.fit(*args, shuffle=hp.Boolean("shuffle"), **kwargs)

    return MyHyperModel()


def tune_batch_size():
    """HYPERMODEL_API / GETTING_STARTED: fit declares `batch_size` under the name of Keras' own argument, so nas's
    batch size must give way to it instead of being passed twice."""
    keras_tuner = _keras_tuner()

    class MyHyperModel(keras_tuner.HyperModel, _Recorded):
        def build(self, hp):
            return smoothed_loss_build_model(hp)

        def fit(self, hp, model, *args, **kwargs):
            self._record("tune_batch_size", hp, args, kwargs)
            return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32]), **kwargs)

    return MyHyperModel()


def tune_data_preprocessing():
    """GETTING_STARTED, "Tune data preprocessing": fit(hp, model, x, y, **kwargs) normalises x or not."""
    keras_tuner = _keras_tuner()

    class MyHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            import keras
            from keras import layers

            model = keras.Sequential()
            model.add(layers.Dense(units=hp.Int("units", min_value=32, max_value=512, step=32), activation="relu"))
            model.add(layers.Dense(1))
            model.compile(optimizer="adam", loss="mse")
            return model

        def fit(self, hp, model, x, y, **kwargs):
            from keras import layers

            if hp.Boolean("normalize"):
                x = layers.Normalization()(x)
            return model.fit(x, y, shuffle=hp.Boolean("shuffle"), **kwargs)

    return MyHyperModel()


def end_to_end_regressor():
    """GETTING_STARTED, "Tune end-to-end workflows": fit returns one float to minimise (the objective left
    unspecified)."""
    keras_tuner = _keras_tuner()

    class HyperRegressor(keras_tuner.HyperModel):
        def build(self, hp):
            import keras
            from keras import layers

            model = keras.Sequential([layers.Dense(units=hp.Int("units", 32, 128, 32), activation="relu"),
                                      layers.Dense(units=1)])
            model.compile(optimizer="adam", loss="mean_squared_error")
            return model

        def fit(self, hp, model, x, y, validation_data, **kwargs):
            model.fit(x, y, **kwargs)
            x_val, y_val = validation_data
            y_pred = model.predict(x_val, verbose=0)
            return float(np.mean(np.abs(y_pred - y_val)))

    return HyperRegressor()


def custom_training_loop():
    """CUSTOM_TUNER: build returns an uncompiled model; fit is a GradientTape loop that calls the callbacks'
    on_epoch_end itself with {"my_metric": validation loss} and returns the best of them (objective my_metric,
    min)."""
    keras_tuner = _keras_tuner()

    class MyHyperModel(keras_tuner.HyperModel, _Recorded):
        def build(self, hp):
            import keras

            inputs = keras.Input(shape=(28, 28, 1))
            x = keras.layers.Flatten()(inputs)
            x = keras.layers.Dense(units=hp.Choice("units", [32, 64, 128]), activation="relu")(x)
            outputs = keras.layers.Dense(10)(x)
            return keras.Model(inputs=inputs, outputs=outputs)

        def fit(self, hp, model, x, y, validation_data, callbacks=None, **kwargs):
            import keras
            import tensorflow as tf

            self._record("custom_training_loop", hp, (x, y), {"validation_data": validation_data,
                                                              "callbacks": callbacks, **kwargs})
            batch_size = hp.Int("batch_size", 32, 128, step=32, default=64)
            train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
            validation_data = tf.data.Dataset.from_tensor_slices(validation_data).batch(batch_size)
            optimizer = keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3))
            loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            epoch_loss_metric = keras.metrics.Mean()

            @tf.function
            def run_train_step(images, labels):
                with tf.GradientTape() as tape:
                    logits = model(images)
                    loss = loss_fn(labels, logits)
                    if model.losses:
                        loss += tf.math.add_n(model.losses)
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))

            @tf.function
            def run_val_step(images, labels):
                logits = model(images)
                loss = loss_fn(labels, logits)
                epoch_loss_metric.update_state(loss)

            for callback in callbacks:
                callback.set_model(model)
            best_epoch_loss = float("inf")
            for epoch in range(2):
                for images, labels in train_ds:
                    run_train_step(images, labels)
                for images, labels in validation_data:
                    run_val_step(images, labels)
                epoch_loss = float(epoch_loss_metric.result().numpy())
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs={"my_metric": epoch_loss})
                epoch_loss_metric.reset_state()
                best_epoch_loss = min(best_epoch_loss, epoch_loss)
            return best_epoch_loss

    return MyHyperModel()


def failed_trials_build_model(hp):
    """FAILED_TRIALS: a model too large for the author's taste raises FailedTrialError, and that trial fails."""
    import keras
    import keras_tuner
    from keras import layers

    units_1 = hp.Int("units_1", 10, 40, step=10)
    units_2 = hp.Int("units_2", 10, 30, step=10)
    model = keras.Sequential([layers.Input(shape=(20,)), layers.Dense(units=units_1), layers.Dense(units=units_2),
                              layers.Dense(units=1)])
    model.compile(loss="mse")
    num_params = model.count_params()
    if num_params > 1200:
        raise keras_tuner.errors.FailedTrialError(f"Model too large! It contains {num_params} params.")
    return model


def lambda_layer_build_model(hp):
    """Not a page's pattern: a model holding a Lambda layer, as the ResNeXt ("next") of Keras Tuner's HyperResNet
    does for its grouped convolutions, at a size that trains in a second."""
    import keras

    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Lambda(lambda features: features * 2.0),
                              keras.layers.Dense(hp.Choice("units", [8, 16]), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def hypermodel_api():
    """HYPERMODEL_API: a HyperModel subclass with its own build, the way the base class's page shows it."""
    keras_tuner = _keras_tuner()

    class MyHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            import keras

            model = keras.Sequential()
            model.add(keras.layers.Flatten())
            model.add(keras.layers.Dense(units=hp.Int("units", min_value=32, max_value=512, step=32),
                                         activation="relu"))
            model.add(keras.layers.Dense(10, activation="softmax"))
            model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            return model

    return MyHyperModel(name="my_hypermodel")
