"""`python -m nas.train` loads a stored trial's model, or trains a reference, an architecture file or a stored trial
again, tests it once and saves it."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from nas.commands import train
from results import ResultStore
from search_spaces import get_space
from tests.results.conftest import make_run, make_trial


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_reference_trains_and_reports_its_figures(tiny_8x8, capsys):
    assert train.main(["--reference", "perceptron", "--data", tiny_8x8, "--epochs", "20", "--json"]) == 0
    figures = last_json(capsys)
    assert figures["params"] == 8 * 8 * 3 + 3  # Dense(classes) on 64 pixels
    assert figures["test_accuracy"] > 0.9 and figures["epochs"] == 20
    assert figures["flops"] > 0 and figures["latency_ms"] > 0


def test_the_recipe_flags_change_how_a_reference_trains(tiny_8x8, capsys):
    # The lecture's perceptron learns tiny_8x8 at its own learning rate (above); at 1e-7 it cannot move.
    assert train.main(["--reference", "perceptron", "--data", tiny_8x8, "--epochs", "20", "--learning-rate", "1e-7",
                       "--batch-size", "16", "--seed", "5", "--json"]) == 0
    figures = last_json(capsys)
    assert figures["test_accuracy"] < 0.7 and figures["seed"] == 5


def test_an_architecture_file_trains_and_saves_a_model_that_loads_safely(tiny_8x8, tmp_path, capsys):
    arch = get_space("cnn").validate({"blocks": 1, "filters_1": 8, "kernel_1": 3, "convs_1": 1, "pooling": "max",
                                      "batch_norm": True, "activation": "relu", "head": "gap", "dropout": 0.0})
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(arch.to_json())
    saved = tmp_path / "model.keras"
    assert train.main([str(arch_file), "--data", tiny_8x8, "--epochs", "1", "--save", str(saved), "--json"]) == 0
    figures = last_json(capsys)
    assert figures["arch"] == arch.key and figures["space"] == "cnn"

    import keras

    model = keras.saving.load_model(saved, safe_mode=True)
    assert model.count_params() == figures["params"]


def test_a_stored_trial_retrains_with_its_runs_recipe(tiny_8x8, tmp_path, capsys):
    arch = get_space("mlp").validate({"depth": 1, "units_1": 32, "activation": "relu", "dropout": 0.0,
                                      "batch_norm": False})
    run = replace(make_run("r1", space="mlp"), config={"space": "mlp", "final_epochs": 2, "data_path": tiny_8x8})
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(run)
        store.save_trial(replace(make_trial("r1", 4, 0.9), arch=arch.to_dict(), arch_key=arch.key))
    assert train.main(["--trial", "r1:4", "--retrain", "--output", str(tmp_path), "--json"]) == 0
    figures = last_json(capsys)
    assert (figures["trial"], figures["arch"], figures["epochs"], figures["retrained"]) == ("r1:4", arch.key, 2, True)
    assert figures["params"] == 64 * 32 + 32 + 32 * 3 + 3


def test_a_stored_trial_retrains_with_the_epochs_its_final_training_fitted_to_the_budget(tiny_8x8, tmp_path, capsys):
    arch = get_space("mlp").validate({"depth": 0})
    run = replace(make_run("r1", space="mlp"), config={"space": "mlp", "time_budget_s": 60, "final_epochs": None,
                                                      "data_path": tiny_8x8})
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(run)
        store.save_trial(replace(make_trial("r1", 0, 0.9), arch=arch.to_dict(), arch_key=arch.key))
        store.set_final_training("r1", 0, test_accuracy=0.95, epochs=3, final_seed=0)
        assert store.get_trial("r1", 0).final_epochs == 3
    assert train.main(["--trial", "r1:0", "--retrain", "--output", str(tmp_path), "--json"]) == 0
    assert last_json(capsys)["epochs"] == 3  # not the 30 the run's recipe allows
    assert train.main(["--trial", "r1:0", "--retrain", "--output", str(tmp_path), "--epochs", "2", "--json"]) == 0
    assert last_json(capsys)["epochs"] == 2


def test_save_into_a_missing_folder_is_refused_before_training(tiny_8x8, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--reference", "perceptron", "--data", tiny_8x8, "--save", str(tmp_path / "no" / "m.keras")])
    assert exit_info.value.code == 2 and "--save: cannot write" in capsys.readouterr().err


def test_an_architecture_too_deep_for_the_images_is_bad_input(tiny_4x4, tmp_path, capsys):
    three_blocks = {"blocks": 3, "pooling": "max", "batch_norm": False, "activation": "relu", "head": "gap",
                    "dropout": 0.0, **{f"{choice}_{block}": value for block in (1, 2, 3)
                                       for choice, value in (("filters", 8), ("kernel", 3), ("convs", 1))}}
    arch_file = tmp_path / "deep.json"
    arch_file.write_text(get_space("cnn").validate(three_blocks).to_json())
    with pytest.raises(SystemExit) as exit_info:
        train.main([str(arch_file), "--data", tiny_4x4, "--epochs", "1"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "cannot build" in error and "(4, 4, 1)" in error


def test_tflite_export_runs_in_tensorflow_lite_with_the_keras_models_classes(tiny_8x8, tmp_path, capsys):
    saved, lite = tmp_path / "model.keras", tmp_path / "model.tflite"
    assert train.main(["--reference", "perceptron", "--data", tiny_8x8, "--epochs", "1", "--train-subset", "200",
                       "--save", str(saved), "--tflite", str(lite), "--json"]) == 0
    figures = last_json(capsys)
    assert figures["tflite"] == str(lite) and lite.stat().st_size > 4 * figures["params"]  # float32 weights
    assert figures["latency_batch_size"] == 32 and figures["latency_batch_ms"] > 0
    assert figures["latency_device"] == "CPU" and figures["latency_threads"] >= 1

    import keras
    import numpy as np

    from nas.data.sources import load_data
    from nas.estimator.tflite import _tflite_interpreter

    images = load_data(tiny_8x8).x_test[:10]
    interpreter = _tflite_interpreter(str(lite))
    [inputs], [outputs] = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inputs["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inputs["index"], images.astype(np.float32))
    interpreter.invoke()
    model = keras.saving.load_model(saved, safe_mode=True)
    assert list(interpreter.get_tensor(outputs["index"]).argmax(-1)) == list(model.predict(images).argmax(-1))


def test_a_model_tflite_cannot_convert_fails_with_one_line_and_keeps_the_keras_file(tiny_8x8, tmp_path, capsys,
                                                                                    monkeypatch):
    import tensorflow as tf

    def refuse(model):
        raise ValueError("Some ops are not supported by the native TFLite runtime\nand a long log")

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_keras_model", refuse)
    saved = tmp_path / "model.keras"
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--reference", "perceptron", "--data", tiny_8x8, "--epochs", "1", "--train-subset", "100",
                    "--save", str(saved), "--tflite", str(tmp_path / "model.tflite"), "--json"])
    error = capsys.readouterr()
    assert exit_info.value.code == 1 and saved.exists() and not (tmp_path / "model.tflite").exists()
    assert error.err.strip().splitlines()[-1] == ("nas.train: error: TFLite export failed: ValueError: Some ops are "
                                                  "not supported by the native TFLite runtime")


@pytest.mark.parametrize("path, message", [("model.keras", "--tflite: expected a .tflite file"),
                                           ("no/such/folder/model.tflite", "--tflite: cannot write")])
def test_a_bad_tflite_path_is_refused_before_training(tiny_8x8, tmp_path, capsys, path, message):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--reference", "perceptron", "--data", tiny_8x8, "--tflite", str(tmp_path / path)])
    error = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(error) == 1 and message in error[0]
