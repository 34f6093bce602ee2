"""The `cnn` space as one network whose sub-networks are its architectures, all sharing one set of weights (ENAS:
Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018).

Every operation an architecture can hold has its weights here once, and a child uses slices of them:
- block b's c-th convolution: one 5x5 kernel of (5, 5, largest input channels, 64); a 3x3 convolution uses its
  centre, as Once-for-All shares kernel sizes (Cai et al., ICLR 2020); a child with F filters uses the first F
  output channels, and the first channels of its input (those its previous layer has); the bias (without batch
  norm) or batch norm's scale and shift, sliced alike.
- the head: global average pooling into a (64, K) classifier; or flatten, whose weights are laid out as
  (height, width, 64, units) for each number of blocks (the flattened size depends on it), sliced to the child's
  channels, then an optional hidden layer of up to 500 units into a (500, K) classifier.
- pooling, activation and dropout have no weights: they switch.
The more children share a weight, the faster shared weights learn: separate 3x3 and 5x5 kernels, or separate
weights for children with and without batch norm, left 20 random children of the space at 19% accuracy on 8x8
digits after 1,000 steps, against 54% shared as above (tests and README, "Weight sharing").
Batch norm has no moving statistics: a child trains on its batch's own statistics, and is scored with statistics
recalibrated on one fixed training batch (the one-shot literature's fix for shared batch norm, e.g. Guo et al.'s
single-path one-shot), so a child's score does not depend on the other images it is scored with.

A child's forward pass computes only the child's operations (slices, not masks), so a step of a small child costs
what training that child alone costs. Keras does the weights (`add_weight`) and the optimizer; TensorFlow runs
eagerly, since every child has other shapes and a compiled function would be traced again for each.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from search_spaces.cnn import CNN_SPACE, CONVS_PER_BLOCK, DENSE_UNITS, FILTERS, KERNEL_SIZES, MAX_BLOCKS

SAVED_WEIGHTS = "shared_weights.npz"
BATCH_NORM_EPSILON = 1e-3  # Keras' BatchNormalization default, as the child trained alone has
MAX_FILTERS = max(FILTERS)
MAX_KERNEL = max(KERNEL_SIZES)
MAX_UNITS = max(DENSE_UNITS)


@dataclass(frozen=True)
class ChildSize:
    params: int  # as Keras counts the model built alone: batch norm's moving statistics included
    flops: int  # one example, as nas.estimator.flops counts the built model (a multiply-add is 2)
    layers: int  # convolutions and dense layers


def child_size(arch: Mapping, input_shape: Sequence[int], num_classes: int) -> ChildSize:
    """The parameters and FLOPs of the architecture's model built alone (search_spaces/cnn.py), counted without
    building it, by the cnn space's own counts (search_spaces/shapes.py)."""
    layers = CNN_SPACE.layer_shapes(arch, input_shape, num_classes)
    return ChildSize(sum(layer.params for layer in layers), sum(layer.flops for layer in layers),
                     sum(layer.weighted for layer in layers))


def _layers():
    import keras
    import tensorflow as tf

    activations = {"relu": tf.nn.relu, "elu": tf.nn.elu, "swish": tf.nn.silu}

    class CnnSupernet(keras.layers.Layer):
        """The shared weights of every architecture of the cnn space for inputs of `input_shape` and `num_classes`
        classes; `logits(arch, x)` runs one child."""

        def __init__(self, input_shape: Sequence[int], num_classes: int, seed: int = 0):
            super().__init__(name="cnn_supernet")
            height, width, channels = (int(size) for size in input_shape)
            if min(height, width) >> MAX_BLOCKS < 1:
                raise ValueError(f"A weight-sharing cnn search needs images of at least {2 ** MAX_BLOCKS}x"
                                 f"{2 ** MAX_BLOCKS} pixels (its deepest children pool {MAX_BLOCKS} times). "
                                 f"Received {height}x{width}")
            self.image_shape = (height, width, channels)
            self.num_classes = int(num_classes)
            initializer = lambda offset: keras.initializers.HeNormal(seed=seed * 1000 + offset)  # noqa: E731
            offset = iter(range(10_000))

            def weight(name: str, shape: tuple, initial="he"):
                return self.add_weight(name=name, shape=shape,
                                       initializer=initializer(next(offset)) if initial == "he" else initial)

            self.kernels, self.biases, self.scales, self.shifts = {}, {}, {}, {}
            for block in range(1, MAX_BLOCKS + 1):
                for conv in range(1, max(CONVS_PER_BLOCK) + 1):
                    inputs = channels if (block, conv) == (1, 1) else MAX_FILTERS
                    key = f"{block}_{conv}"
                    self.kernels[key] = weight(f"conv_{key}", (MAX_KERNEL, MAX_KERNEL, inputs, MAX_FILTERS))
                    self.biases[key] = weight(f"bias_{key}", (MAX_FILTERS,), "zeros")
                    self.scales[key] = weight(f"scale_{key}", (MAX_FILTERS,), "ones")
                    self.shifts[key] = weight(f"shift_{key}", (MAX_FILTERS,), "zeros")
            self.flatten_hidden, self.flatten_hidden_bias, self.flatten_classifier = {}, {}, {}
            self.flatten_classifier_bias = {}
            for blocks in range(1, MAX_BLOCKS + 1):
                shape = (height >> blocks, width >> blocks, MAX_FILTERS)
                self.flatten_hidden[blocks] = weight(f"flatten_hidden_{blocks}", (*shape, MAX_UNITS))
                self.flatten_hidden_bias[blocks] = weight(f"flatten_hidden_bias_{blocks}", (MAX_UNITS,), "zeros")
                self.flatten_classifier[blocks] = weight(f"flatten_classifier_{blocks}", (*shape, self.num_classes))
                self.flatten_classifier_bias[blocks] = weight(f"flatten_classifier_bias_{blocks}", (self.num_classes,),
                                                              "zeros")
            self.hidden_classifier = weight("hidden_classifier", (MAX_UNITS, self.num_classes))
            self.hidden_classifier_bias = weight("hidden_classifier_bias", (self.num_classes,), "zeros")
            self.gap_classifier = weight("gap_classifier", (MAX_FILTERS, self.num_classes))
            self.gap_classifier_bias = weight("gap_classifier_bias", (self.num_classes,), "zeros")
            self.seed_generator = keras.random.SeedGenerator(seed)

        def logits(self, arch: Mapping, x, training: bool = False, statistics: list | None = None,
                   calibrate: list | None = None):
            """The child's logits for images `x`. Batch norm normalises with `statistics` (a list of (mean,
            variance), one per batch-norm layer, from an earlier call with `calibrate`), else with the batch's own;
            `calibrate`, a list, receives the batch's statistics of each layer."""
            activation = activations[arch["activation"]]
            pool = tf.nn.max_pool2d if arch["pooling"] == "max" else tf.nn.avg_pool2d
            features, channels, layer = x, self.image_shape[2], 0
            for block in range(1, arch["blocks"] + 1):
                filters, size = arch[f"filters_{block}"], arch[f"kernel_{block}"]
                for conv in range(1, arch[f"convs_{block}"] + 1):
                    key = f"{block}_{conv}"
                    crop = (MAX_KERNEL - size) // 2  # a smaller kernel is the centre of the largest
                    kernel = self.kernels[key][crop:MAX_KERNEL - crop, crop:MAX_KERNEL - crop, :channels, :filters]
                    features = tf.nn.conv2d(features, kernel, 1, "SAME")
                    if arch["batch_norm"]:
                        if statistics is not None:
                            mean, variance = statistics[layer]
                        else:
                            mean, variance = tf.nn.moments(features, axes=[0, 1, 2])
                            if calibrate is not None:
                                calibrate.append((mean, variance))
                        features = tf.nn.batch_normalization(features, mean, variance, self.shifts[key][:filters],
                                                             self.scales[key][:filters], BATCH_NORM_EPSILON)
                        layer += 1
                    else:
                        features = features + self.biases[key][:filters]
                    features = activation(features)
                    channels = filters
                features = pool(features, 2, 2, "VALID")
            dropout = float(arch["dropout"]) if training else 0.0
            blocks = arch["blocks"]
            if arch["head"] == "gap":
                features = self._dropout(tf.reduce_mean(features, axis=[1, 2]), dropout)
                return features @ self.gap_classifier[:channels] + self.gap_classifier_bias
            flat = tf.reshape(features, (-1, features.shape[1] * features.shape[2] * channels))
            units = arch["dense_units"]
            if not units:
                kernel = tf.reshape(self.flatten_classifier[blocks][:, :, :channels], (-1, self.num_classes))
                return self._dropout(flat, dropout) @ kernel + self.flatten_classifier_bias[blocks]
            kernel = tf.reshape(self.flatten_hidden[blocks][:, :, :channels, :units], (-1, units))
            hidden = activation(flat @ kernel + self.flatten_hidden_bias[blocks][:units])
            return self._dropout(hidden, dropout) @ self.hidden_classifier[:units] + self.hidden_classifier_bias

        def _dropout(self, features, rate: float):
            if rate <= 0:
                return features
            return keras.random.dropout(features, rate, seed=self.seed_generator)

    return CnnSupernet


class SharedWeights:
    """A cnn supernet and its optimizer: `train_step` trains one child on a batch, `accuracy` scores one with the
    shared weights as they are.

    The optimizer is SGD with Nesterov momentum 0.9 on a cosine schedule and gradients clipped to a global norm of
    5, as ENAS trains its shared weights (unclipped, some children's steps made the loss diverge);
    gradients reach only the slices a child used (the other entries get zeros, and momentum)."""

    def __init__(self, input_shape: Sequence[int], num_classes: int, seed: int = 0, learning_rate: float = 0.05,
                 total_steps: int = 10_000, calibration: np.ndarray | None = None):
        import keras

        self.network = _layers()(input_shape, num_classes, seed)
        self.network.build(None)
        self.learning_rate, self.total_steps, self.steps = learning_rate, max(1, int(total_steps)), 0
        self.optimizer = keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True,
                                              weight_decay=1e-4, global_clipnorm=5.0)
        self.optimizer.build(self.network.trainable_variables)
        self.calibration = calibration  # a fixed training batch that batch norm's statistics are taken from

    def save(self, folder: Path) -> None:
        """The shared weights, the optimizer's state and the step count, in `folder` (numpy's .npz)."""
        arrays = {f"weight_{index}": variable.numpy() for index, variable in enumerate(self.network.weights)}
        arrays.update({f"optimizer_{index}": variable.numpy()
                       for index, variable in enumerate(self.optimizer.variables)})
        np.savez(folder / SAVED_WEIGHTS, steps=np.array(self.steps),
                 dropout_seed=self.network.seed_generator.state.numpy(), **arrays)

    def restore(self, folder: Path) -> None:
        with np.load(folder / SAVED_WEIGHTS) as saved:
            for index, variable in enumerate(self.network.weights):
                variable.assign(saved[f"weight_{index}"])
            for index, variable in enumerate(self.optimizer.variables):
                variable.assign(saved[f"optimizer_{index}"])
            self.steps = int(saved["steps"])
            self.network.seed_generator.state.assign(saved["dropout_seed"])

    def train_step(self, arch: Mapping, x: np.ndarray, y: np.ndarray, progress: float | None = None) -> float:
        """One SGD step of the child `arch` on a batch; returns its loss. The learning rate follows a half cosine
        over `progress` (0 to 1; by default, steps taken of total_steps)."""
        import tensorflow as tf

        progress = min(1.0, self.steps / self.total_steps if progress is None else progress)
        self.optimizer.learning_rate.assign(self.learning_rate * 0.5 * (1 + math.cos(math.pi * progress)))
        variables = self.network.trainable_variables
        with tf.GradientTape() as tape:
            logits = self.network.logits(arch, x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        if not math.isfinite(float(loss)):  # this child's step would spoil every child's weights: skipped
            self.steps += 1
            return float(loss)
        gradients = tape.gradient(loss, variables)
        used = [(gradient, variable) for gradient, variable in zip(gradients, variables) if gradient is not None]
        self.optimizer.apply_gradients(used)
        self.steps += 1
        return float(loss)

    def accuracy(self, arch: Mapping, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> float:
        """The child's accuracy on (x, y) with the shared weights, batch norm recalibrated on the calibration
        batch (or, without one, on each batch of x); NaN where its outputs are not finite."""
        import tensorflow as tf

        statistics = None
        if arch["batch_norm"] and self.calibration is not None:
            statistics = []
            self.network.logits(arch, self.calibration, calibrate=statistics)
        correct = 0
        for start in range(0, len(x), batch_size):
            logits = self.network.logits(arch, x[start:start + batch_size], statistics=statistics)
            if not bool(tf.reduce_all(tf.math.is_finite(logits))):
                return float("nan")
            correct += int(tf.reduce_sum(tf.cast(tf.argmax(logits, axis=1, output_type=tf.int32)
                                                 == y[start:start + batch_size], tf.int32)))
        return correct / max(1, len(x))
