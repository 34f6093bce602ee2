"""The RL controller keeps the strategy contract, starts from distinct weights, learns on-policy in batches from its own
samples (a known architecture's stored reward included), finds a bandit's best arm, and beats random search."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from search_spaces import Choice, SearchSpace
from strategies import get_strategy
from tests.strategies.contract import TOY, StrategyContract, mean_best_accuracy, toy_accuracy


class TestRLContract(StrategyContract):
    strategy_name = "rl"

    def make(self, space, seed=0, **options):
        return get_strategy("rl", space, seed=seed, **{"lstm_size": 16, **options})


def controller_weights(strategy) -> list[np.ndarray]:
    return [np.array(values) for values in strategy.state_dict()["state"]["controller"]["weights"]]


def test_every_variable_starts_from_its_own_draw():
    controller = get_strategy("rl", TOY, seed=0)._controller
    kernel, recurrent_kernel, _ = (variable.numpy() for variable in controller.cell.trainable_variables)
    assert kernel.shape == recurrent_kernel.shape and not np.allclose(kernel, recurrent_kernel)
    # TOY's 8 choices all have 6 options: equal shapes, yet each embedding and softmax head its own.
    embeddings = [variable.numpy() for variable in controller.embeddings]
    kernels = [kernel.numpy() for kernel, _ in controller.heads]
    for values in (embeddings, kernels):
        assert all(not np.allclose(values[0], other) for other in values[1:])
    assert all(np.abs(values).max() <= 0.1 and values.std() > 0.04 for values in embeddings + kernels)
    # The same seed starts from the same weights, another seed from others.
    same, other = (get_strategy("rl", TOY, seed=seed)._controller.embeddings[0].numpy() for seed in (0, 1))
    assert np.array_equal(same, embeddings[0]) and not np.allclose(other, embeddings[0])


# A bandit whose optimal policy is known: the first decision is the arm (its reward), the second a decision that
# changes nothing, so each arm holds 12 architectures and every arm is tried many times.
BANDIT = SearchSpace("bandit", [Choice("arm", [0, 1, 2, 3, 4]), Choice("nuisance", list(range(12)))])
ARM_REWARDS = [0.3, 0.5, 0.2, 0.9, 0.4]
BEST_ARM = 3


def arm_probability(strategy, arm: int) -> float:
    """p(arm) under the controller: the sum over the decision that does not matter."""
    return sum(np.exp(strategy.log_probability(BANDIT.validate({"arm": arm, "nuisance": nuisance})))
               for nuisance in range(12))


@pytest.mark.parametrize("batch_size", [1, 5])
def test_on_a_bandit_the_probability_of_the_best_arm_rises(batch_size):
    strategy = get_strategy("rl", BANDIT, seed=0, batch_size=batch_size)
    assert arm_probability(strategy, BEST_ARM) == pytest.approx(0.2, abs=0.05)  # about uniform at the start
    for _ in range(40):
        trial = strategy.ask()
        strategy.tell(trial, ARM_REWARDS[trial.arch["arm"]])
    assert strategy.updates >= 40 // batch_size
    assert arm_probability(strategy, BEST_ARM) > 0.4  # measured: 0.47 in batches of 5, more one at a time
    assert sum(arm_probability(strategy, arm) for arm in range(5)) == pytest.approx(1.0, abs=1e-4)


def test_a_known_architecture_sampled_again_is_answered_from_its_stored_reward():
    arms = SearchSpace("arms", [Choice("arm", [0, 1, 2, 3, 4])])
    strategy = get_strategy("rl", arms, seed=0, batch_size=1)
    for _ in range(5):  # the whole space, each arm tried once
        trial = strategy.ask()
        strategy.tell(trial, ARM_REWARDS[trial.arch["arm"]])
    before = np.exp(strategy.log_probability(arms.validate({"arm": BEST_ARM})))
    updates = strategy.updates
    assert strategy.ask() is None  # nothing left to try...
    assert strategy.updates > updates  # ...but the samples it drew learnt from the stored rewards
    assert np.exp(strategy.log_probability(arms.validate({"arm": BEST_ARM}))) > before


def test_only_the_controllers_own_samples_train_it():
    strategy = get_strategy("rl", TOY, seed=0, batch_size=1)
    strategy.tell(strategy.ask(), 0.5)  # the first batch sets the baseline
    reference = TOY.validate({f"c{index}": 0 for index in range(8)})
    strategy.enqueue([reference])
    enqueued = strategy.ask()
    assert enqueued.arch == reference
    before = controller_weights(strategy)
    strategy.tell(enqueued, 0.99)  # not the controller's sample: it does not train on it
    assert all(np.array_equal(a, b) for a, b in zip(before, controller_weights(strategy)))
    strategy.tell(strategy.ask(), 0.9)
    assert not all(np.array_equal(a, b) for a, b in zip(before, controller_weights(strategy)))


def test_rewards_train_the_controller_in_batches():
    strategy = get_strategy("rl", TOY, seed=0, batch_size=3)
    trials = [strategy.ask() for _ in range(6)]
    start = controller_weights(strategy)
    for trial in trials[:2]:
        strategy.tell(trial, toy_accuracy(trial.arch))
    assert strategy.updates == 0 and all(np.array_equal(a, b) for a, b in zip(start, controller_weights(strategy)))
    strategy.tell(trials[2], toy_accuracy(trials[2].arch))
    # The baseline starts at the first batch's mean reward, each with its entropy bonus: 1e-4 times the entropy of
    # 8 decisions among 6, near uniform at the start (8 ln 6).
    bonus = 1e-4 * 8 * np.log(6)
    assert strategy.updates == 1 and strategy.baseline == pytest.approx(
        np.mean([toy_accuracy(trial.arch) for trial in trials[:3]]) + bonus, abs=1e-4)


def test_a_reward_above_the_baseline_makes_that_trials_decisions_likelier():
    strategy = get_strategy("rl", TOY, seed=0, batch_size=1)
    first, second = strategy.ask(), strategy.ask()
    strategy.tell(first, 0.5)  # sets the baseline
    before = strategy.log_probability(second.arch)
    strategy.tell(second, 0.9)  # out of order with nothing: its own decisions get the credit
    assert strategy.log_probability(second.arch) > before


def test_a_failed_trial_leaves_the_controller_as_it_was():
    strategy = get_strategy("rl", TOY, seed=0, batch_size=1)
    trial = strategy.ask()
    before = strategy.state_dict()["state"]
    strategy.tell(trial, None)
    after = strategy.state_dict()["state"]
    assert after["controller"] == before["controller"] and after["batch"] == before["batch"] == []


def test_a_resumed_controller_proposes_what_the_original_would_have():
    strategy = get_strategy("rl", TOY, seed=0)
    for _ in range(7):  # mid-batch, with one trial still running
        trial = strategy.ask()
        strategy.tell(trial, toy_accuracy(trial.arch))
    running = strategy.ask()
    resumed = get_strategy("rl", TOY, seed=3)
    resumed.load_state_dict(strategy.state_dict())
    probe = TOY.sample(np.random.default_rng(9))
    assert resumed.log_probability(probe) == pytest.approx(strategy.log_probability(probe))
    assert resumed.baseline == strategy.baseline
    for copy in (strategy, resumed):
        copy.tell(running, toy_accuracy(running.arch))
    for _ in range(6):
        original, again = strategy.ask(), resumed.ask()
        assert original == again
        for copy, trial in ((strategy, original), (resumed, again)):
            copy.tell(trial, toy_accuracy(trial.arch))


@pytest.mark.slow  # about 20 s; CI runs it after the default suite
def test_beats_random_search_at_equal_budget():
    seeds = range(3)
    assert mean_best_accuracy("rl", 100, seeds) > mean_best_accuracy("random", 100, seeds) + 0.05


@pytest.mark.parametrize("options, message", [
    ({"learning_rate": 0}, "Expected learning_rate to be a positive number"),
    ({"baseline_decay": 1.0}, "Expected baseline_decay to be a positive number below 1"),
    ({"temperature": "hot"}, "Expected temperature to be a positive number"),
    ({"batch_size": 2.5}, "Expected batch_size to be a positive whole number"),
    ({"lstm_size": 0}, "Expected lstm_size to be a positive whole number"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        get_strategy("rl", TOY, **options)


def test_importing_the_strategies_does_not_import_tensorflow():
    code = "import sys, strategies; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
