"""`cnn`: stacks of 1 to 3 conv blocks (each: convs, optional batch norm, activation, pooling) and a head.

The head is either flatten (+ an optional hidden dense layer) or global average pooling, the latter being how
small CNNs stay small. The seed lecture's LeNet-like CNN (20 then 50 filters of 5x5, max-pool, dense 500,
1,256,080 parameters on MNIST) is the reference `lenet`.
"""
from __future__ import annotations

from search_spaces import shapes
from search_spaces.base import BATCH_NORM_MOMENTUM, Architecture, SearchSpace, output_activation
from search_spaces.parameters import Choice

MAX_BLOCKS = 3
FILTERS = [8, 16, 20, 32, 50, 64]
KERNEL_SIZES = [3, 5]
CONVS_PER_BLOCK = [1, 2]
DENSE_UNITS = [0, 64, 128, 256, 500]  # 0: flatten straight into the classifier


def _blocks(from_block: int) -> dict[str, list[int]]:
    return {"blocks": list(range(from_block, MAX_BLOCKS + 1))}


def check_cnn_input(arch: Architecture, input_shape: tuple) -> None:
    """Why `arch` cannot be built for inputs of `input_shape` (a ValueError), as the builder and the counts say."""
    if len(input_shape) != 3:
        raise ValueError(f"The cnn space builds 2-D convolutions: expected inputs shaped (height, width, channels). "
                         f"Received: {tuple(input_shape)}")
    height, width = input_shape[0], input_shape[1]
    if min(height, width) >> arch["blocks"] < 1:
        raise ValueError(f"{arch['blocks']} pooling blocks shrink a {height}x{width} input below 1x1. "
                         f"Expected at most {min(height, width).bit_length() - 1} blocks for this input size.")


def cnn_shapes(arch: Architecture, input_shape: tuple, num_outputs: int) -> list[shapes.LayerShape]:
    """The layers `build_cnn` makes, in its order, counted without building (search_spaces/shapes.py)."""
    check_cnn_input(arch, input_shape)
    height, width, channels = (int(size) for size in input_shape)
    layers = []
    for block in range(1, arch["blocks"] + 1):
        filters = arch[f"filters_{block}"]
        for _ in range(arch[f"convs_{block}"]):
            layers.append(shapes.conv(arch[f"kernel_{block}"], channels, filters, height * width,
                                      bias=not arch["batch_norm"]))
            if arch["batch_norm"]:
                layers.append(shapes.batch_norm(filters, height * width * filters))
            layers.append(shapes.free("activation", height * width * filters))
            channels = filters
        height, width = height // 2, width // 2
        layers.append(shapes.pooling(4, height * width * channels))
    if arch["head"] == "gap":
        layers.append(shapes.global_pooling(height * width * channels, channels))
        features = channels
    else:
        features = height * width * channels
        layers.append(shapes.free("flatten", features))
        if arch["dense_units"]:
            layers.append(shapes.dense(features, arch["dense_units"]))  # its activation is the Dense layer's own
            features = arch["dense_units"]
    if arch["dropout"] > 0:
        layers.append(shapes.free("dropout", features))
    return [*layers, shapes.dense(features, num_outputs)]


def build_cnn(arch: Architecture, input_shape: tuple, num_outputs: int, task: str = "classification"):
    import keras  # imported here so that spaces and strategies load without TensorFlow

    check_cnn_input(arch, input_shape)
    pooling = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[arch["pooling"]]

    inputs = keras.Input(shape=input_shape)
    features = inputs
    for block in range(1, arch["blocks"] + 1):
        for _ in range(arch[f"convs_{block}"]):
            kernel = arch[f"kernel_{block}"]
            # A conv followed by batch norm needs no bias: the norm's shift replaces it.
            features = keras.layers.Conv2D(arch[f"filters_{block}"], kernel, padding="same",
                                           use_bias=not arch["batch_norm"])(features)
            if arch["batch_norm"]:
                features = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(features)
            features = keras.layers.Activation(arch["activation"])(features)
        features = pooling(pool_size=2)(features)  # (H, W) -> (H // 2, W // 2)

    if arch["head"] == "gap":
        features = keras.layers.GlobalAveragePooling2D()(features)
    else:
        features = keras.layers.Flatten()(features)
        if arch["dense_units"]:
            features = keras.layers.Dense(arch["dense_units"], activation=arch["activation"])(features)
    if arch["dropout"] > 0:
        features = keras.layers.Dropout(arch["dropout"])(features)
    outputs = keras.layers.Dense(num_outputs, activation=output_activation(task))(features)
    return keras.Model(inputs, outputs, name="cnn")


CNN_SPACE = SearchSpace(
    "cnn",
    [
        Choice("blocks", list(range(1, MAX_BLOCKS + 1))),
        *[choice for block in range(1, MAX_BLOCKS + 1) for choice in (
            Choice(f"filters_{block}", FILTERS, when=_blocks(block)),
            Choice(f"kernel_{block}", KERNEL_SIZES, when=_blocks(block)),
            Choice(f"convs_{block}", CONVS_PER_BLOCK, when=_blocks(block)),
        )],
        Choice("pooling", ["max", "avg"]),
        Choice("batch_norm", [False, True]),
        Choice("activation", ["relu", "elu", "swish"]),
        Choice("head", ["flatten", "gap"]),
        Choice("dense_units", DENSE_UNITS, when={"head": ["flatten"]}),
        Choice("dropout", [0.0, 0.25, 0.5]),
    ],
    builder=build_cnn,
    shapes=cnn_shapes,
    references={
        "lenet": {"blocks": 2, "filters_1": 20, "kernel_1": 5, "convs_1": 1, "filters_2": 50, "kernel_2": 5,
                  "convs_2": 1, "pooling": "max", "batch_norm": False, "activation": "relu", "head": "flatten",
                  "dense_units": 500, "dropout": 0.0},
    },
)
