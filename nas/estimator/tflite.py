"""Exporting a trained model for TensorFlow Lite, checked to predict what the Keras model predicts."""
from __future__ import annotations

from pathlib import Path


class TFLiteExportFailed(Exception):
    """The trained model could not be converted to TensorFlow Lite, or the converted one disagrees with it."""


TFLITE_CHECK_IMAGES = 16


def export_tflite(model, path: str, images) -> None:
    """Convert `model` to a float32 TensorFlow Lite flatbuffer at `path`, then check that TensorFlow Lite's
    interpreter loads it and predicts the same classes (or values) as the Keras model on `images` (validation
    inputs: the check is no evaluation, and the test part stays untouched).

    Keras 3.15 with TensorFlow 2.21: `TFLiteConverter.from_keras_model` works (it exports the model as a
    SavedModel in a temporary folder and converts that; Keras prints the export's endpoints on stdout, which is
    kept off ours). `from_concrete_functions` on a `tf.function` of the model converts without an error but
    leaves Keras 3's variables out: a model without weights (2.7 KB for the perceptron's 31 KB) that predicts
    NaN. The check after conversion refuses any such model, and a refused file is removed.
    """
    import contextlib
    import io

    import tensorflow as tf

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            flatbuffer = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as error:  # the converter's errors are many and long: their first line says which
        raise TFLiteExportFailed(_first_line(error)) from error
    try:
        Path(path).write_bytes(flatbuffer)
    except OSError as error:
        raise TFLiteExportFailed(f"cannot write {path!r} ({error.strerror})") from error
    try:
        _check_tflite(model, path, images)
    except TFLiteExportFailed:
        Path(path).unlink(missing_ok=True)  # no file that looks usable and is not
        raise


def _check_tflite(model, path: str, images) -> None:
    import numpy as np

    images = np.asarray(images, dtype=np.float32)
    try:
        interpreter = _tflite_interpreter(path)
        [inputs], [outputs] = interpreter.get_input_details(), interpreter.get_output_details()
        interpreter.resize_tensor_input(inputs["index"], images.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inputs["index"], images)
        interpreter.invoke()
        lite = interpreter.get_tensor(outputs["index"])
    except Exception as error:
        raise TFLiteExportFailed(f"{path} does not run in TensorFlow Lite's interpreter: "
                                 f"{_first_line(error)}") from error
    keras_outputs = np.asarray(model(images, training=False))
    if lite.shape != keras_outputs.shape:
        raise TFLiteExportFailed(f"{path} gives outputs of shape {lite.shape}; the Keras model {keras_outputs.shape}")
    if not np.all(np.isfinite(lite)):
        raise TFLiteExportFailed(f"{path} gives NaN or infinite outputs")
    if keras_outputs.ndim != 2 or keras_outputs.shape[1] == 1:  # a regression's values, not classes
        if not np.allclose(lite, keras_outputs, rtol=1e-3, atol=1e-4):
            worst = float(np.max(np.abs(lite - keras_outputs)))
            raise TFLiteExportFailed(f"{path} predicts other values than the Keras model (up to {worst:.3g} apart)")
        return
    lite_classes, keras_classes = lite.argmax(axis=-1), keras_outputs.argmax(axis=-1)
    rows = np.arange(len(images))
    # A class that differs where Keras' two candidates are all but tied is rounding, not a wrong conversion.
    tied = np.abs(keras_outputs[rows, lite_classes] - keras_outputs[rows, keras_classes]) <= 1e-5
    wrong = int(np.sum((lite_classes != keras_classes) & ~tied))
    if wrong:
        raise TFLiteExportFailed(f"{path} predicts another class than the Keras model on {wrong} of "
                                 f"{len(images)} validation examples")


def _tflite_interpreter(path: str):
    """LiteRT's interpreter where installed, else TensorFlow's own (deprecated in favour of LiteRT)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        import tensorflow as tf

        with warnings.catch_warnings():  # "tf.lite.Interpreter is deprecated ... use the LiteRT interpreter"
            warnings.simplefilter("ignore")
            return tf.lite.Interpreter(model_path=path)
    return Interpreter(model_path=path)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
