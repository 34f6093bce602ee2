"""Layer diagrams of stored architectures: the layers a space's builder would make, drawn as an SVG stack of boxes.

The store keeps no Keras model, only each trial's architecture (a dict of choices) and its run's space. For the
built-in `mlp` and `cnn` spaces this module replays the order of layers their builders follow
(search_spaces/mlp.py, search_spaces/cnn.py), with output shapes and parameter counts where the run's dataset has
a known input shape; any other space, or an architecture its space does not accept, gets a plain list of choices.
search_spaces is imported only when a diagram is drawn (it imports no TensorFlow), so `results` still starts
without the other nas packages. Keep `_cnn_layers` and `_mlp_layers` in step with the builders: the tests
compare their parameter counts with the seed lecture's models.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Mapping

# The input of each built-in dataset (nas/datasets.py); a run on a user's .npz file is labelled by its file name,
# whose shape the store does not know: its diagrams show channels and widths but no image sizes.
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "digits": (8, 8, 1), "cifar10": (32, 32, 3)}
NUM_CLASSES: dict[str, int] = {"mnist": 10, "fashion_mnist": 10, "digits": 10, "cifar10": 10}

Shape = tuple  # of int or None (a size the store cannot tell)


@dataclass(frozen=True)
class Layer:
    kind: str  # input, conv, norm, pool, flatten, dense, dropout, output: picks the box's colour
    label: str  # e.g. "Conv2D 32, 3×3 · relu"; a folded activation follows the layer it comes after
    shape: Shape | None = None  # output shape without the batch axis
    params: int | None = None  # weights, non-trainable ones included (what model.count_params() counts)


def architecture_layers(space: str, arch: Mapping[str, Any], dataset: str) -> list[Layer] | None:
    """The layers the space's builder makes for `arch`, or None when that is unknown (another space, or an
    architecture the space rejects)."""
    interpret = {"cnn": _cnn_layers, "mlp": _mlp_layers}.get(space)
    if interpret is None:
        return None
    try:
        from search_spaces import InvalidArchitectureError, get_space
    except ImportError:  # results installed without the search spaces
        return None
    try:
        checked = get_space(space).validate(dict(arch))
    except (InvalidArchitectureError, ValueError, TypeError):
        return None
    return interpret(checked, INPUT_SHAPES.get(dataset, (None, None, None)), NUM_CLASSES.get(dataset))


def _cnn_layers(arch: Mapping[str, Any], input_shape: Shape, num_classes: int | None) -> list[Layer]:
    height, width, channels = input_shape
    layers = [Layer("input", "Input", input_shape, 0)]
    batch_norm, activation = arch["batch_norm"], arch["activation"]
    for block in range(1, arch["blocks"] + 1):
        filters, kernel = arch[f"filters_{block}"], arch[f"kernel_{block}"]
        for _ in range(arch[f"convs_{block}"]):
            weights = _times(kernel * kernel, channels, filters)
            conv_params = None if weights is None else weights + (0 if batch_norm else filters)  # no bias with BN
            channels = filters
            if batch_norm:
                layers.append(Layer("conv", f"Conv2D {filters}, {kernel}×{kernel}", (height, width, channels),
                                    conv_params))
                layers.append(Layer("norm", f"BatchNorm · {activation}", (height, width, channels), 4 * channels))
            else:
                layers.append(Layer("conv", f"Conv2D {filters}, {kernel}×{kernel} · {activation}",
                                    (height, width, channels), conv_params))
        height, width = _halve(height), _halve(width)
        layers.append(Layer("pool", f"{'MaxPool' if arch['pooling'] == 'max' else 'AvgPool'} 2×2",
                            (height, width, channels), 0))
    if arch["head"] == "gap":
        features = channels
        layers.append(Layer("pool", "GlobalAvgPool", (features,), 0))
    else:
        features = _times(height, width, channels)
        layers.append(Layer("flatten", "Flatten", (features,), 0))
        if arch["dense_units"]:
            units = arch["dense_units"]
            layers.append(Layer("dense", f"Dense {units} · {activation}", (units,), _dense_params(features, units)))
            features = units
    if arch["dropout"] > 0:
        layers.append(Layer("dropout", f"Dropout {arch['dropout']:g}", (features,), 0))
    layers.append(_output(features, num_classes))
    return layers


def _mlp_layers(arch: Mapping[str, Any], input_shape: Shape, num_classes: int | None) -> list[Layer]:
    features = _times(*input_shape)
    layers = [Layer("input", "Input", input_shape, 0), Layer("flatten", "Flatten", (features,), 0)]
    for layer in range(1, arch["depth"] + 1):
        units, activation = arch[f"units_{layer}"], arch["activation"]
        if arch["batch_norm"]:
            layers.append(Layer("dense", f"Dense {units}", (units,), _dense_params(features, units)))
            layers.append(Layer("norm", f"BatchNorm · {activation}", (units,), 4 * units))
        else:
            layers.append(Layer("dense", f"Dense {units} · {activation}", (units,), _dense_params(features, units)))
        features = units
        if arch["dropout"] > 0:
            layers.append(Layer("dropout", f"Dropout {arch['dropout']:g}", (units,), 0))
    layers.append(_output(features, num_classes))
    return layers


def _output(features: int | None, num_classes: int | None) -> Layer:
    return Layer("output", f"Dense {num_classes or 'classes'} · softmax", (num_classes,),
                 _dense_params(features, num_classes))


def _times(*sizes: int | None) -> int | None:
    product = 1
    for size in sizes:
        if size is None:
            return None
        product *= size
    return product


def _dense_params(inputs: int | None, units: int | None) -> int | None:
    return None if inputs is None or units is None else inputs * units + units


def _halve(size: int | None) -> int | None:
    return None if size is None else size // 2  # 2x2 pooling, stride 2, no padding


def total_params(layers: list[Layer]) -> int | None:
    return _total([layer.params for layer in layers])


def _total(counts: list[int | None]) -> int | None:
    return None if any(count is None for count in counts) else sum(counts)


# Drawing: hand-written SVG (rectangles, lines and text), sized to its layers.

_COLOURS = {"input": "#e5e7eb", "conv": "#bfdbfe", "norm": "#fef3c7", "pool": "#bbf7d0", "flatten": "#e5e7eb",
            "dense": "#fed7aa", "dropout": "#f3f4f6", "output": "#fecaca"}
_BOX_WIDTH, _BOX_HEIGHT, _GAP, _MARGIN, _WIDTH = 180, 24, 12, 6, 340


def layers_svg(layers: list[Layer]) -> str:
    """A vertical stack of boxes, input at the top, each layer's output shape and parameters beside it."""
    parts = []
    y = _MARGIN
    for index, layer in enumerate(layers):
        if index:  # an arrow from the layer above
            middle = _MARGIN + _BOX_WIDTH / 2
            parts.append(f'<line x1="{middle}" y1="{y - _GAP}" x2="{middle}" y2="{y - 2}" class="edge"/>'
                         f'<path d="M {middle - 4} {y - 6} L {middle} {y - 1} L {middle + 4} {y - 6}" '
                         f'class="edge"/>')
        parts.append(f'<rect x="{_MARGIN}" y="{y}" width="{_BOX_WIDTH}" height="{_BOX_HEIGHT}" rx="4" '
                     f'fill="{_COLOURS.get(layer.kind, "#ffffff")}" stroke="#6b7280"/>'
                     f'<text x="{_MARGIN + 8}" y="{y + 16}" class="layer">{html.escape(layer.label)}</text>')
        if layer.shape is not None:
            parts.append(f'<text x="{_MARGIN + _BOX_WIDTH + 8}" y="{y + 16}" class="shape">'
                         f'{html.escape(_shape_text(layer.shape))}</text>')
        if layer.params:
            parts.append(f'<text x="{_WIDTH - _MARGIN}" y="{y + 16}" class="params">{layer.params:,}</text>')
        y += _BOX_HEIGHT + _GAP
    total = total_params(layers)
    if total is not None:
        parts.append(f'<text x="{_WIDTH - _MARGIN}" y="{y + 4}" class="params total">{total:,} parameters</text>')
        y += 14
    height = y - _GAP + _MARGIN + (_GAP if total is not None else 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="layers" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" role="img">{"".join(parts)}</svg>')


def _shape_text(shape: Shape) -> str:
    return "×".join("?" if size is None else str(size) for size in shape)


def choices_html(arch: Mapping[str, Any]) -> str:
    """The fallback for spaces this module cannot draw: the architecture's choices as a two-column list."""
    items = "".join(f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
                    for name, value in arch.items())
    return f'<table class="choices">{items}</table>'
