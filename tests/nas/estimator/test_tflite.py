"""nas.estimator.tflite: a TensorFlow Lite export is checked to predict what the Keras model predicts, or removed."""
from __future__ import annotations

import pytest

from nas.estimator import tflite
from nas.estimator.tflite import TFLiteExportFailed, _check_tflite, export_tflite


def test_a_converted_model_that_predicts_other_classes_is_refused(tmp_path):
    import keras
    import numpy as np

    def dense(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input(shape=(4,))
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))

    images = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    export_tflite(dense(0), str(tmp_path / "ok.tflite"), images)
    with pytest.raises(TFLiteExportFailed, match=r"another class .* on \d+ of 32"):
        _check_tflite(dense(1), str(tmp_path / "ok.tflite"), images)


def test_a_refused_tflite_file_is_removed(tmp_path, monkeypatch):
    import keras
    import numpy as np

    def disagree(model, path, images):
        raise TFLiteExportFailed("predicts another class")

    monkeypatch.setattr(tflite, "_check_tflite", disagree)
    inputs = keras.Input(shape=(4,))
    with pytest.raises(TFLiteExportFailed):
        export_tflite(keras.Model(inputs, keras.layers.Dense(3)(inputs)), str(tmp_path / "m.tflite"),
                            np.zeros((2, 4), dtype="float32"))
    assert not (tmp_path / "m.tflite").exists()




def test_a_regressions_values_are_checked_not_its_argmax(tmp_path):
    import keras
    import numpy as np

    def dense(seed):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input(shape=(4,))
        return keras.Model(inputs, keras.layers.Dense(1)(inputs))

    inputs = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    export_tflite(dense(0), str(tmp_path / "ok.tflite"), inputs)
    with pytest.raises(TFLiteExportFailed, match="predicts other values than the Keras model"):
        _check_tflite(dense(1), str(tmp_path / "ok.tflite"), inputs)  # one output each: argmax would agree
