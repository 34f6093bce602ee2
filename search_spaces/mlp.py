"""`mlp`: dense networks of 0 to 4 hidden layers (0 is the seed lecture's perceptron, a softmax regression)."""
from __future__ import annotations

from search_spaces import shapes
from search_spaces.base import BATCH_NORM_MOMENTUM, Architecture, SearchSpace, output_activation
from search_spaces.parameters import Choice

MAX_DEPTH = 4
UNITS = [32, 64, 128, 256, 512]
ACTIVATIONS = ["relu", "tanh", "elu", "sigmoid"]
DROPOUT_RATES = [0.0, 0.1, 0.2, 0.3, 0.5]


def _hidden(from_layer: int) -> dict[str, list[int]]:
    return {"depth": list(range(from_layer, MAX_DEPTH + 1))}


def mlp_shapes(arch: Architecture, input_shape: tuple, num_outputs: int) -> list[shapes.LayerShape]:
    """The layers `build_mlp` makes, in its order, counted without building (search_spaces/shapes.py)."""
    features = shapes.elements(input_shape)
    layers = [shapes.free("flatten", features)]
    for layer in range(1, arch["depth"] + 1):
        units = arch[f"units_{layer}"]
        layers.append(shapes.dense(features, units))
        if arch["batch_norm"]:
            layers.append(shapes.batch_norm(units, units))
        layers.append(shapes.free("activation", units))
        if arch["dropout"] > 0:
            layers.append(shapes.free("dropout", units))
        features = units
    return [*layers, shapes.dense(features, num_outputs)]


def build_mlp(arch: Architecture, input_shape: tuple, num_outputs: int, task: str = "classification"):
    import keras  # imported here so that spaces and strategies load without TensorFlow

    inputs = keras.Input(shape=input_shape)
    hidden = keras.layers.Flatten()(inputs)
    for layer in range(1, arch["depth"] + 1):
        hidden = keras.layers.Dense(arch[f"units_{layer}"])(hidden)
        if arch["batch_norm"]:
            hidden = keras.layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(hidden)
        hidden = keras.layers.Activation(arch["activation"])(hidden)
        if arch["dropout"] > 0:
            hidden = keras.layers.Dropout(arch["dropout"])(hidden)
    outputs = keras.layers.Dense(num_outputs, activation=output_activation(task))(hidden)
    return keras.Model(inputs, outputs, name="mlp")


MLP_SPACE = SearchSpace(
    "mlp",
    [
        Choice("depth", list(range(MAX_DEPTH + 1))),
        *[Choice(f"units_{layer}", UNITS, when=_hidden(layer)) for layer in range(1, MAX_DEPTH + 1)],
        Choice("activation", ACTIVATIONS, when=_hidden(1)),
        Choice("dropout", DROPOUT_RATES, when=_hidden(1)),
        Choice("batch_norm", [False, True], when=_hidden(1)),
    ],
    builder=build_mlp,
    shapes=mlp_shapes,
    references={
        # The seed lecture's models: a perceptron (Dense(10) softmax, 7,850 parameters) and MLP 2x128 (118,282).
        "perceptron": {"depth": 0},
        "mlp": {"depth": 2, "units_1": 128, "units_2": 128, "activation": "relu", "dropout": 0.0,
                "batch_norm": False},
    },
)
