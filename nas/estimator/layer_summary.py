"""What a built model is made of, layer by layer, as JSON data: each trial records it when its model is built, and
the report draws its layer diagrams from it (results/diagrams.py), for any space.

Each entry: `kind` (input, conv, norm, pool, flatten, dense, dropout, output or other: picks the box's colour),
`label` (e.g. "Conv2D 32, 3×3 · relu"; an Activation layer is folded into the layer before it), `shape` (the
output shape without the batch axis, null for an unknown size) and `params` (what `count_params` counts).
"""
from __future__ import annotations

from typing import Any

_KINDS = {"InputLayer": "input", "Flatten": "flatten", "Dropout": "dropout", "SpatialDropout1D": "dropout",
          "SpatialDropout2D": "dropout", "BatchNormalization": "norm", "LayerNormalization": "norm",
          "GroupNormalization": "norm"}


def layer_summary(model) -> list[dict[str, Any]]:
    """The model's layers, nested models flattened, with each one's kind, label, output shape and parameters."""
    entries: list[dict[str, Any]] = []
    for layer in _flat_layers(model):
        name = type(layer).__name__
        if name == "Activation" and entries:
            entries[-1]["label"] += f" · {_activation_name(layer)}"
            entries[-1]["shape"] = _output_shape(layer, entries[-1]["shape"])
            continue
        entries.append({"kind": _kind(name), "label": _label(layer, name),
                        "shape": _output_shape(layer, None), "params": _params(layer)})
    dense = [entry for entry in entries if entry["kind"] == "dense"]
    if dense and dense[-1] is entries[-1]:
        dense[-1]["kind"] = "output"
    return entries


def _flat_layers(model) -> list:
    layers = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer.layers and type(layer).__name__ in ("Functional", "Sequential", "Model"):
            layers.extend(_flat_layers(layer))
        else:
            layers.append(layer)
    if layers and type(layers[0]).__name__ != "InputLayer" and getattr(model, "inputs", None):
        shape = tuple(model.inputs[0].shape)[1:]
        layers.insert(0, _Input(shape))
    return layers


class _Input:
    """The input of a Sequential model, which Keras 3 does not list among its layers."""

    def __init__(self, shape: tuple):
        self.shape = shape


def _kind(name: str) -> str:
    if name in _KINDS or name == "_Input":
        return _KINDS.get(name, "input")
    if "Conv" in name:
        return "conv"
    if "Pooling" in name:
        return "pool"
    if name in ("Dense", "EinsumDense"):
        return "dense"
    return "other"


def _label(layer, name: str) -> str:
    config = layer.get_config() if hasattr(layer, "get_config") else {}
    if name in ("InputLayer", "_Input"):
        return "Input"
    if "Conv" in name:
        kernel = "×".join(str(size) for size in config.get("kernel_size", ()))
        filters = config.get("filters")
        label = f"{name} {filters}, {kernel}" if filters else f"{name} {kernel}"
    elif name == "Dense":
        label = f"Dense {config.get('units')}"
    elif "GlobalAveragePooling" in name:
        return "GlobalAvgPool"
    elif "GlobalMaxPooling" in name:
        return "GlobalMaxPool"
    elif "Pooling" in name:
        pool = "×".join(str(size) for size in config.get("pool_size", ()))
        return f"{'MaxPool' if 'Max' in name else 'AvgPool'} {pool}".strip()
    elif name == "BatchNormalization":
        return "BatchNorm"
    elif "Dropout" in name:
        return f"{name.replace('SpatialDropout', 'Dropout')} {config.get('rate', 0):g}"
    else:
        return name
    activation = config.get("activation")
    if isinstance(activation, str) and activation != "linear":
        label += f" · {activation}"
    return label


def _activation_name(layer) -> str:
    activation = layer.get_config().get("activation")
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "activation")


def _output_shape(layer, default):
    if isinstance(layer, _Input):
        return [None if size is None else int(size) for size in layer.shape]
    try:
        shape = tuple(layer.output.shape)[1:]
    except (AttributeError, ValueError):
        return default
    return [None if size is None else int(size) for size in shape]


def _params(layer) -> int:
    if isinstance(layer, _Input):
        return 0
    try:
        return int(layer.count_params())
    except ValueError:  # a layer that was never built
        return 0
