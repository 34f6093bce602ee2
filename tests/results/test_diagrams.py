"""Layer diagrams drawn from the layers each trial recorded when its model was built."""
from __future__ import annotations

from results.diagrams import layers_svg, stored_layers, total_params

RECORDED = [{"kind": "input", "label": "Input", "shape": [None, 3], "params": 0},
            {"kind": "other", "label": "LSTM <8>", "shape": [8], "params": 384},
            {"kind": "output", "label": "Dense 2 · softmax", "shape": [2], "params": 18}]


def test_recorded_layers_are_drawn_with_their_shapes_and_parameters():
    layers = stored_layers(RECORDED)
    assert [(layer.kind, layer.shape, layer.params) for layer in layers] == [
        ("input", (None, 3), 0), ("other", (8,), 384), ("output", (2,), 18)]
    assert total_params(layers) == 402
    svg = layers_svg(layers)
    assert "?×3" in svg and "402 parameters" in svg and "LSTM &lt;8&gt;" in svg and "<8>" not in svg


def test_a_trial_without_recorded_layers_or_with_other_data_is_not_drawn():
    assert stored_layers(None) is None and stored_layers([]) is None
    assert stored_layers([{"label": "no kind"}]) is None and stored_layers(["Dense"]) is None


def test_a_layer_of_unknown_size_leaves_the_total_unknown():
    layers = stored_layers([{**RECORDED[0]}, {"kind": "dense", "label": "Dense 4", "shape": [4], "params": None}])
    assert total_params(layers) is None and "parameters" not in layers_svg(layers)
