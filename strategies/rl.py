"""An RL controller: Zoph & Le, "Neural Architecture Search with Reinforcement Learning" (ICLR 2017).

An LSTM emits one decision per step, in the space's order, skipping parameters that are inactive given the
decisions before them. Each step's input is the embedding of the previous decision (a learned start vector for the
first), so every softmax is conditioned on all decisions so far. The controller is trained with REINFORCE on
batches of its own samples: its parameters move along mean_i (R_i - b) * grad log p(decisions_i), where R_i is the
sample's reward plus an entropy bonus, b the baseline, and Adam does the step.

As in ENAS (Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018) and its released
code: LSTM size 64; every weight drawn on its own, uniformly in [-0.1, 0.1] (softmax biases start at 0); logits
passed through `tanh_constant * tanh(logits / temperature)` with temperature 5.0 and tanh constant 2.5; the
entropy of the sample's decisions, times 1e-4, added to its reward; the baseline an exponential moving average of
rewards. Stated where the papers leave it open or we depart, each measured with
`benchmarks/compare_strategies.py` on the two tabular benchmarks (the README's "RL controller" table):
- Updates on batches of `batch_size` samples, one by default (Zoph & Le: m = 5 architectures per update on
  CIFAR-10); learning rate 0.01 (ENAS: 0.00035; Zoph & Le: 0.0006: both train the controller on thousands of
  samples; at a search's hundred or so trials, those leave it where it started); baseline decay 0.9 per batch
  (ENAS: 0.999 per sample). Measured at 100 trials, 10 seeds: one sample at a time at 0.01 left no regret on
  either benchmark; batches of 5 left 0.05 and 0.13 points, and rates of 0.003 or 0.03 did no better.
  The baseline starts at the first batch's mean reward, and each batch is compared with the baseline before it
  (so a batch's own rewards do not shift its advantages).
- Every update is on-policy: it uses only architectures the controller sampled, with their rewards. A sample of an
  architecture tried before is answered from the stored reward, as `bayes` answers its repeats, and trains the
  controller like a new one (a sample of one still running waits for its reward); a failed one is skipped. Only
  unseen samples cost a trial, so no architecture is trained twice.
- When the controller keeps sampling known architectures (64 samples in a row), a random unseen architecture is
  tried instead; it is trained and stored, but it does not train the controller (it is not the controller's
  sample), and neither do enqueued architectures (the lecture's references): the controller learns their rewards
  when it samples them. Failed trials do not train the controller (the papers have none).
- Int and Float ranges are discretised (the papers have only categorical decisions): the softmax chooses among
  10 points spread evenly over the range on its scale (log or linear), an Int range of 10 values or fewer keeps
  them all. A value off the grid (an enqueued architecture's) counts as its nearest grid point.
- The log-probabilities are recomputed under the current weights at each update: with trials finishing out of
  order or in parallel, a sample may be a few updates old when its reward arrives (as in ENAS's asynchronous
  setting).

The controller runs as compiled TensorFlow functions over the whole space (sampling a batch of architectures, one
REINFORCE step on a batch, log p of given architectures). A parameter that is inactive for a sample leaves that sample's LSTM state and
input as they were, which is the same as skipping the step. TensorFlow is imported when a controller is made, so
listing the strategies stays cheap.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from search_spaces import Architecture, Choice, SearchSpace
from strategies.base import Strategy, Trial
from strategies.random_search import RandomStrategy

DEFAULTS = {"lstm_size": 64, "learning_rate": 0.01, "batch_size": 1, "temperature": 5.0, "tanh_constant": 2.5,
            "entropy_weight": 1e-4, "baseline_decay": 0.9}
_INTEGER_OPTIONS = ("lstm_size", "batch_size")
_INIT_RANGE = 0.1
# Samples drawn at a time, and how many known architectures in a row before a random unseen one is tried instead.
_SAMPLES_PER_DRAW = 16
_KNOWN_SAMPLES_IN_A_ROW = 64


class RLStrategy(Strategy):
    name = "rl"
    options = frozenset(DEFAULTS)

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        super().__init__(space, seed, **options)
        settings = {**DEFAULTS, **options}
        for option, value in settings.items():
            if option in _INTEGER_OPTIONS:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"Expected {option} to be a positive whole number. Received: {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
                    or (option != "entropy_weight" and value == 0) or (option == "baseline_decay" and value >= 1):
                below_one = " below 1" if option == "baseline_decay" else ""
                raise ValueError(f"Expected {option} to be a positive number{below_one}. Received: {value!r}")
        self.settings = settings
        self._rng = np.random.default_rng(seed)
        self._explorer = RandomStrategy(space, seed=None if seed is None else seed + 1)
        self.baseline: float | None = None
        self._rewards: dict[str, float | None] = {}  # architecture key -> reward of its finished trial (None: failed)
        self._sampled: set[str] = set()  # outstanding trials the controller sampled (those that train it)
        self._waiting: dict[str, int] = {}  # architecture key -> samples of it waiting for its running trial
        self._batch: list[tuple[str, float]] = []  # (architecture key, reward) of samples not yet trained on
        self.updates = 0
        self.unreinforced_trials = 0  # random stand-ins tried when the controller kept sampling known ones
        self._controller = _Controller(space, settings, np.random.default_rng(None if seed is None else [seed, 1]))

    def propose(self) -> Architecture | None:
        known_in_a_row = 0
        while known_in_a_row < _KNOWN_SAMPLES_IN_A_ROW:
            updates = self.updates
            for arch in self._controller.sample(self._rng, _SAMPLES_PER_DRAW):
                if self._explorer.mark_seen(arch):
                    self._sampled.add(arch.key)
                    return arch
                known_in_a_row += 1
                self._answer_from_memory(arch)
                if self.updates != updates or known_in_a_row >= _KNOWN_SAMPLES_IN_A_ROW:
                    break  # the rest of this draw came from the policy before the update: draw again
        arch = self._explorer.propose()
        self.unreinforced_trials += arch is not None
        return arch

    def _answer_from_memory(self, arch: Architecture) -> None:
        if arch.key not in self._rewards:  # its trial is still running
            self._waiting[arch.key] = self._waiting.get(arch.key, 0) + 1
        elif self._rewards[arch.key] is not None:
            self._learn(arch.key, self._rewards[arch.key])

    def accept_enqueued(self, arch: Architecture) -> bool:
        return self._explorer.mark_seen(arch)

    def observe(self, trial: Trial, reward: float | None) -> None:
        key = trial.arch.key
        self._rewards[key] = reward
        samples = (key in self._sampled) + self._waiting.pop(key, 0)
        self._sampled.discard(key)
        if reward is not None:
            for _ in range(samples):
                self._learn(key, reward)

    def _learn(self, key: str, reward: float) -> None:
        self._batch.append((key, reward))
        if len(self._batch) < self.settings["batch_size"]:
            return
        architectures = [self.space.from_key(key) for key, _ in self._batch]
        rewards = np.array([reward for _, reward in self._batch])
        self._batch = []
        self.baseline = self._controller.reinforce(architectures, rewards, self.baseline)
        self.updates += 1

    def log_probability(self, arch: Architecture) -> float:
        """log p(arch) under the controller as it stands: how likely it is to propose `arch` now."""
        return self._controller.log_probability(self.space.validate(arch))

    def strategy_state(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "explorer": self._explorer.state_dict(),
                "baseline": self.baseline, "rewards": self._rewards, "sampled": sorted(self._sampled),
                "waiting": self._waiting, "batch": [list(sample) for sample in self._batch], "updates": self.updates,
                "unreinforced_trials": self.unreinforced_trials, "controller": self._controller.state()}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._explorer.load_state_dict(state["explorer"])
        self.baseline = state["baseline"]
        self._rewards = dict(state["rewards"])
        self._sampled = set(state["sampled"])
        self._waiting = dict(state["waiting"])
        self._batch = [(key, float(reward)) for key, reward in state["batch"]]
        self.updates, self.unreinforced_trials = int(state["updates"]), int(state["unreinforced_trials"])
        self._controller.load_state(state["controller"])


class _Controller:
    """The LSTM policy: a Keras LSTMCell, one embedding table and one softmax head per parameter, over the
    parameter's grid (a Choice's options; 10 points spread over a range, on its scale)."""

    def __init__(self, space: SearchSpace, settings: dict, rng: np.random.Generator):
        import keras
        import tensorflow as tf

        self.tf, self.space, self.settings = tf, space, settings
        self.parameters = list(space.parameters)
        self.grids = [parameter.grid() for parameter in self.parameters]
        position = {parameter.name: index for index, parameter in enumerate(self.parameters)}
        # A parameter is active when each parent it names is active and holds one of the listed values: per parent,
        # a mask over the parent's grid.
        self.conditions = [[(position[parent], tf.constant([value in values for value in self.grids[position[parent]]]))
                            for parent, values in parameter.when.items()] for parameter in self.parameters]
        size = int(settings["lstm_size"])
        self.size = size
        self.cell = keras.layers.LSTMCell(size)
        self.cell.build((None, size))
        self.start = keras.Variable(np.zeros((1, size), "float32"), name="start")
        self.embeddings = [keras.Variable(np.zeros((len(grid), size), "float32")) for grid in self.grids]
        self.heads = [(keras.Variable(np.zeros((size, len(grid)), "float32")),
                       keras.Variable(np.zeros(len(grid), "float32"))) for grid in self.grids]
        self.variables = [*self.cell.trainable_variables, self.start, *self.embeddings,
                          *(variable for head in self.heads for variable in head)]
        softmax_biases = {id(bias) for _, bias in self.heads}
        for variable in self.variables:  # each its own draw (a seeded Keras initializer repeats itself per shape)
            if id(variable) not in softmax_biases:
                variable.assign(rng.uniform(-_INIT_RANGE, _INIT_RANGE, tuple(variable.shape)).astype("float32"))
        self.optimizer = keras.optimizers.Adam(learning_rate=settings["learning_rate"])
        self.optimizer.build(self.variables)
        self._sample = tf.function(self._sample_graph)
        self._reinforce = tf.function(self._reinforce_graph)
        self._log_probability = tf.function(self._log_probability_graph)

    def _unroll(self, count, choose, given_actives=None):
        """Run the LSTM over every parameter for `count` architectures at once. `choose(position, logits)` gives
        each step's grid indices. Which steps are active comes from `given_actives` (count, parameters), or else
        from the space's conditions on the decisions so far; an inactive step leaves its architecture's state and
        input unchanged. Returns the indices and activity of each step, each shaped (count, parameters), and each
        architecture's log p and the entropy of its active decisions."""
        tf = self.tf
        temperature, tanh_constant = self.settings["temperature"], self.settings["tanh_constant"]
        state = [tf.zeros((count, self.size)), tf.zeros((count, self.size))]
        inputs = tf.tile(self.start, [count, 1])
        log_probability, entropy = tf.zeros(count), tf.zeros(count)
        indices, actives = [], []
        for position, conditions in enumerate(self.conditions):
            if given_actives is None:
                active = tf.ones(count, dtype=tf.bool)
                for parent, allowed in conditions:
                    active = active & actives[parent] & tf.gather(allowed, indices[parent])
            else:
                active = given_actives[:, position]
            output, new_state = self.cell(inputs, state)
            kernel, bias = self.heads[position]
            logits = tanh_constant * tf.tanh((tf.matmul(output, kernel) + bias) / temperature)
            log_softmax = tf.nn.log_softmax(logits)
            index = tf.where(active, choose(position, logits), 0)
            zero = tf.zeros(count)
            log_probability += tf.where(active, tf.gather(log_softmax, index, batch_dims=1), zero)
            entropy += tf.where(active, -tf.reduce_sum(tf.exp(log_softmax) * log_softmax, axis=1), zero)
            keep = active[:, tf.newaxis]
            state = [tf.where(keep, new, old) for new, old in zip(new_state, state)]
            inputs = tf.where(keep, tf.gather(self.embeddings[position], index), inputs)
            indices.append(index)
            actives.append(active)
        return tf.stack(indices, axis=1), tf.stack(actives, axis=1), log_probability, entropy

    def _sample_graph(self, seed, count: int):
        tf = self.tf

        def draw(position, logits):
            step_seed = tf.random.experimental.stateless_fold_in(seed, position)
            return tf.cast(tf.random.stateless_categorical(logits, 1, step_seed)[:, 0], tf.int32)

        indices, actives, _, _ = self._unroll(count, draw)
        return indices, actives

    def _teacher_forced(self, indices, actives):
        """Each given architecture's log p and the entropy of its decisions."""
        _, _, log_probability, entropy = self._unroll(self.tf.shape(indices)[0],
                                                      lambda position, logits: indices[:, position], actives)
        return log_probability, entropy

    def _log_probability_graph(self, indices, actives):
        return self._teacher_forced(indices, actives)[0]

    def _reinforce_graph(self, indices, actives, rewards, baseline):
        """One REINFORCE step on a batch; returns the batch's mean reward with its entropy bonus."""
        tf = self.tf
        with tf.GradientTape() as tape:
            log_probability, entropy = self._teacher_forced(indices, actives)
            rewards = rewards + self.settings["entropy_weight"] * tf.stop_gradient(entropy)
            mean_reward = tf.reduce_mean(rewards)
            # The first batch has no baseline yet (NaN): it starts at that batch's mean.
            baseline = tf.where(tf.math.is_nan(baseline), mean_reward, baseline)
            loss = -tf.reduce_mean((rewards - baseline) * log_probability)
        gradients = tape.gradient(loss, self.variables)
        # The last decision's embedding feeds nothing, so it has no gradient.
        self.optimizer.apply_gradients([(gradient, variable) for gradient, variable in zip(gradients, self.variables)
                                        if gradient is not None])
        return mean_reward

    def sample(self, rng: np.random.Generator, count: int) -> list[Architecture]:
        seed = rng.integers(0, 2**31 - 1, size=2, dtype=np.int64).astype(np.int32)
        indices, actives = (tensor.numpy() for tensor in self._sample(self.tf.constant(seed), count))
        return [Architecture(self.space.name, {parameter.name: grid[index] for parameter, grid, index, active
                                               in zip(self.parameters, self.grids, row, active_row) if active})
                for row, active_row in zip(indices, actives)]

    def _grid_index(self, parameter, value) -> int:
        """The grid point a value of `parameter` counts as: itself for a Choice, the nearest on its scale for a
        range (a value the controller did not propose, e.g. an enqueued or resumed one)."""
        if isinstance(parameter, Choice):
            return parameter.index(value)
        grid = np.asarray(self.grids[self.parameters.index(parameter)], dtype=np.float64)
        scale = np.log if parameter.log else (lambda values: values)
        return int(np.argmin(np.abs(scale(grid) - scale(np.float64(value)))))

    def _encode(self, architectures: list[Architecture]):
        indices = np.array([[self._grid_index(parameter, arch[parameter.name]) if parameter.name in arch else 0
                             for parameter in self.parameters] for arch in architectures], dtype=np.int32)
        actives = np.array([[parameter.name in arch for parameter in self.parameters] for arch in architectures])
        return self.tf.constant(indices), self.tf.constant(actives)

    def log_probability(self, arch: Architecture) -> float:
        return float(self._log_probability(*self._encode([arch]))[0])

    def reinforce(self, architectures: list[Architecture], rewards: np.ndarray, baseline: float | None) -> float:
        """One REINFORCE step on a batch of samples; returns the baseline after it."""
        tf = self.tf
        mean_reward = float(self._reinforce(*self._encode(architectures), tf.constant(rewards, tf.float32),
                                            tf.constant(math.nan if baseline is None else baseline, tf.float32)))
        if baseline is None:
            return mean_reward
        decay = self.settings["baseline_decay"]
        return decay * baseline + (1 - decay) * mean_reward

    def state(self) -> dict[str, Any]:
        return {"weights": [variable.numpy().tolist() for variable in self.variables],
                "optimizer": [variable.numpy().tolist() for variable in self.optimizer.variables]}

    def load_state(self, state: dict[str, Any]) -> None:
        for variable, values in [*zip(self.variables, state["weights"]),
                                 *zip(self.optimizer.variables, state["optimizer"])]:
            variable.assign(np.asarray(values).astype(variable.numpy().dtype))
