"""An RL controller: Zoph & Le, "Neural Architecture Search with Reinforcement Learning" (ICLR 2017).

An LSTM emits one decision per step, in the space's order, skipping parameters that are inactive given the
decisions before them. Each step's input is the embedding of the previous decision (a learned start vector for the first),
so every softmax is conditioned on all decisions so far. The controller is trained with REINFORCE: after each
trial, its parameters move along (reward + entropy bonus - baseline) * grad log p(decisions), where the baseline is
an exponential moving average of rewards, and Adam does the step.

Hyperparameters, from ENAS (Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018)
and its released code: LSTM size 64, weights initialised uniformly in [-0.1, 0.1], logits passed through
`tanh_constant * tanh(logits / temperature)` with temperature 5.0 and tanh constant 2.5, entropy weight 0.0001
added to the reward, baseline decay 0.99.
Departures, each measured on the toy space of the tests:
- Learning rate 0.01 (ENAS: 0.00035; Zoph & Le: 0.0006). Both papers train the controller on thousands of
  samples; at the hundred or so trials of a search here, 0.00035 leaves the controller where it started.
- Baseline decay 0.9 (ENAS: 0.99): with a hundred rewards, a 0.99 average still remembers its starting point.
- One update per finished trial, as rewards arrive (the papers batch several), using the log-probability of the
  decisions that trial took, recomputed under the current weights: trials that finish out of order or in
  parallel each train the controller with their own decisions.
- Failed trials do not train the controller (the papers have none). Enqueued architectures (the lecture's
  references) and random stand-ins for repeated proposals train it like its own samples.
- No architecture is proposed twice while unseen ones remain: a repeated sample is drawn again, then replaced
  by a random unseen architecture.
- Int and Float ranges are discretised (the papers have only categorical decisions): the softmax chooses among
  10 points spread evenly over the range on its scale (log or linear), an Int range of 10 values or fewer keeps
  them all. A value off the grid (an enqueued architecture's) trains the controller as its nearest grid point.
TensorFlow is imported when a controller is made, so listing the strategies stays cheap.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from search_spaces import Architecture, Choice, SearchSpace
from strategies.base import Strategy, Trial
from strategies.random_search import RandomStrategy

DEFAULTS = {"lstm_size": 64, "learning_rate": 0.01, "temperature": 5.0, "tanh_constant": 2.5,
            "entropy_weight": 1e-4, "baseline_decay": 0.9}
_INIT_RANGE = 0.1
_RESAMPLE_ATTEMPTS = 10


class RLStrategy(Strategy):
    name = "rl"
    options = frozenset(DEFAULTS)

    def __init__(self, space: SearchSpace, seed: int | None = None, **options: Any):
        super().__init__(space, seed, **options)
        settings = {**DEFAULTS, **options}
        for option, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
                    or (option != "entropy_weight" and value == 0) or (option == "baseline_decay" and value >= 1):
                below_one = " below 1" if option == "baseline_decay" else ""
                raise ValueError(f"Expected {option} to be a positive number{below_one}. Received: {value!r}")
        self.settings = settings
        self._rng = np.random.default_rng(seed)
        self._explorer = RandomStrategy(space, seed=None if seed is None else seed + 1)
        self.baseline: float | None = None
        self._controller = _Controller(space, int(settings["lstm_size"]), settings["learning_rate"], seed)

    def propose(self) -> Architecture | None:
        settings = self.settings
        return self._explorer.first_unseen(
            self._controller.sample(self._rng, settings["temperature"], settings["tanh_constant"])
            for _ in range(_RESAMPLE_ATTEMPTS))

    def accept_enqueued(self, arch: Architecture) -> bool:
        return self._explorer.mark_seen(arch)

    def observe(self, trial: Trial, reward: float | None) -> None:
        if reward is None:
            return
        decay = self.settings["baseline_decay"]
        self.baseline = reward if self.baseline is None else decay * self.baseline + (1 - decay) * reward
        self._controller.reinforce(trial.arch, reward, self.baseline, self.settings)

    def log_probability(self, arch: Architecture) -> float:
        """log p(arch) under the controller as it stands: how likely it is to propose `arch` now."""
        return self._controller.log_probability(self.space.validate(arch), self.settings)

    def strategy_state(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "explorer": self._explorer.state_dict(),
                "baseline": self.baseline, "controller": self._controller.state()}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._explorer.load_state_dict(state["explorer"])
        self.baseline = state["baseline"]
        self._controller.load_state(state["controller"])


class _Controller:
    """The LSTM policy: a Keras LSTMCell, one embedding table and one softmax head per parameter, over the
    parameter's grid (a Choice's options; 10 points spread over a range, on its scale)."""

    def __init__(self, space: SearchSpace, size: int, learning_rate: float, seed: int | None):
        import keras
        import tensorflow as tf

        self.tf, self.space = tf, space
        self.grids = {parameter.name: parameter.grid() for parameter in space.parameters}
        initializer = keras.initializers.RandomUniform(-_INIT_RANGE, _INIT_RANGE, seed=seed)
        self.cell = keras.layers.LSTMCell(size, kernel_initializer=initializer,
                                          recurrent_initializer=initializer, bias_initializer=initializer)
        self.cell.build((None, size))
        self.start = keras.Variable(initializer((1, size)), name="start")
        self.embeddings = {name: keras.Variable(initializer((len(grid), size))) for name, grid in self.grids.items()}
        self.heads = {name: (keras.Variable(initializer((size, len(grid)))),
                             keras.Variable(np.zeros(len(grid), dtype="float32")))
                      for name, grid in self.grids.items()}
        self.variables = [*self.cell.trainable_variables, self.start, *self.embeddings.values(),
                          *(variable for head in self.heads.values() for variable in head)]
        self.optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
        self.optimizer.build(self.variables)
        self.size = size

    def _steps(self, temperature: float, tanh_constant: float, decide):
        """Run the LSTM over the active parameters; `decide(parameter, logits)` returns the grid index and the
        value each one takes."""
        tf = self.tf
        state = [tf.zeros((1, self.size)), tf.zeros((1, self.size))]
        inputs, decided, picks = self.start, {}, []
        for parameter in self.space.parameters:
            if not parameter.is_active(decided):
                continue
            output, state = self.cell(inputs, state)
            kernel, bias = self.heads[parameter.name]
            logits = tanh_constant * tf.tanh((tf.matmul(output, kernel) + bias) / temperature)
            index, decided[parameter.name] = decide(parameter, logits[0])
            picks.append((logits[0], index))
            inputs = tf.gather(self.embeddings[parameter.name], [index])
        return decided, picks

    def sample(self, rng: np.random.Generator, temperature: float, tanh_constant: float) -> Architecture:
        def draw(parameter, logits):
            probabilities = self.tf.nn.softmax(logits).numpy().astype(np.float64)
            grid = self.grids[parameter.name]
            index = int(rng.choice(len(grid), p=probabilities / probabilities.sum()))
            return index, grid[index]

        decided, _ = self._steps(temperature, tanh_constant, draw)
        return Architecture(self.space.name, decided)

    def _grid_index(self, parameter, value) -> int:
        """The grid point a value of `parameter` counts as: itself for a Choice, the nearest on its scale for a
        range (a value the controller did not propose, e.g. an enqueued or resumed one)."""
        if isinstance(parameter, Choice):
            return parameter.index(value)
        grid = np.asarray(self.grids[parameter.name], dtype=np.float64)
        scale = np.log if parameter.log else (lambda values: values)
        return int(np.argmin(np.abs(scale(grid) - scale(np.float64(value)))))

    def _log_probability_and_entropy(self, arch: Architecture, settings: dict):
        """Teacher-forced through the LSTM: log p of the decisions `arch` took, and the entropy of each step."""
        tf = self.tf
        _, picks = self._steps(settings["temperature"], settings["tanh_constant"],
                               lambda parameter, logits: (self._grid_index(parameter, arch[parameter.name]),
                                                          arch[parameter.name]))
        log_probability = tf.add_n([tf.nn.log_softmax(logits)[index] for logits, index in picks])
        entropy = tf.add_n([-tf.reduce_sum(tf.nn.softmax(logits) * tf.nn.log_softmax(logits)) for logits, _ in picks])
        return log_probability, entropy

    def log_probability(self, arch: Architecture, settings: dict) -> float:
        return float(self._log_probability_and_entropy(arch, settings)[0])

    def reinforce(self, arch: Architecture, reward: float, baseline: float, settings: dict) -> None:
        """One REINFORCE step on the decisions `arch` took."""
        tf = self.tf
        with tf.GradientTape() as tape:
            log_probability, entropy = self._log_probability_and_entropy(arch, settings)
            advantage = reward + settings["entropy_weight"] * float(entropy) - baseline
            loss = -advantage * log_probability
        gradients = tape.gradient(loss, self.variables)
        # The last decision's embedding feeds nothing, so it has no gradient.
        self.optimizer.apply_gradients([(gradient, variable) for gradient, variable in zip(gradients, self.variables)
                                        if gradient is not None])

    def state(self) -> dict[str, Any]:
        return {"weights": [variable.numpy().tolist() for variable in self.variables],
                "optimizer": [variable.numpy().tolist() for variable in self.optimizer.variables]}

    def load_state(self, state: dict[str, Any]) -> None:
        for variable, values in [*zip(self.variables, state["weights"]),
                                 *zip(self.optimizer.variables, state["optimizer"])]:
            variable.assign(np.asarray(values).astype(variable.numpy().dtype))
