"""The contract every strategy keeps, as a test class each strategy's tests subclass (like Optuna's sampler suite).

    class TestEvolutionContract(StrategyContract):
        strategy_name = "evolution"
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from search_spaces import Choice, Float, Int, SearchSpace, get_space
from strategies import StateDictError, Trial, get_strategy


def small_space() -> SearchSpace:
    """5 architectures, one choice conditional on another."""
    return SearchSpace("small", [Choice("a", [1, 2, 3]), Choice("b", ["x", "y"], when={"a": [2, 3]})])


# 8 choices of 6 options (1.7 million architectures) whose reward peaks at one known architecture: strategies that
# learn are compared with random search on it, without any training.
TOY = SearchSpace("toy", [Choice(f"c{index}", list(range(6))) for index in range(8)])
OPTIMUM = {f"c{index}": (index * 5) % 6 for index in range(8)}


def toy_accuracy(arch) -> float:
    """1.0 at OPTIMUM, falling with the distance of each decision from it."""
    return 1.0 - sum(abs(arch[name] - best) for name, best in OPTIMUM.items()) / 40


def mean_best(strategy_name: str, space: SearchSpace, reward, trials: int, seeds: range = range(6),
              **options) -> float:
    """The best reward found in `trials` trials, averaged over seeds (deterministic: no flaky margins)."""
    bests = []
    for seed in seeds:
        strategy = get_strategy(strategy_name, space, seed=seed, **options)
        best = -math.inf
        for _ in range(trials):
            trial = strategy.ask()
            best = max(best, reward(trial.arch))
            strategy.tell(trial, reward(trial.arch))
        bests.append(best)
    return float(np.mean(bests))


def mean_best_accuracy(strategy_name: str, trials: int, seeds: range = range(6)) -> float:
    return mean_best(strategy_name, TOY, toy_accuracy, trials, seeds)


# Ranges, one of them conditional, with a known optimum inside them (layers 3, learning rate 1e-2, dropout 0.2,
# width 64, relu): every strategy must handle Int and Float ranges, on linear and log scales.
RANGES = SearchSpace("ranges", [Int("layers", 1, 4), Float("learning_rate", 1e-4, 1e-1, log=True),
                                Float("dropout", 0.0, 0.5), Int("width", 8, 256, log=True, when={"layers": [2, 3, 4]}),
                                Choice("act", ["relu", "tanh"])])


def ranges_reward(arch) -> float:
    width = abs(math.log2(arch["width"] / 64)) / 5 if "width" in arch else 0.3
    return (1.0 - abs(arch["layers"] - 3) / 4 - abs(math.log10(arch["learning_rate"]) + 2) / 3
            - abs(arch["dropout"] - 0.2) - width - (0.0 if arch["act"] == "relu" else 0.2))


def mean_best_ranges_reward(strategy_name: str, trials: int, seeds: range = range(6), **options) -> float:
    return mean_best(strategy_name, RANGES, ranges_reward, trials, seeds, **options)


def toy_reward(arch) -> float:
    """A smooth reward on the mlp space, for strategies that learn from it."""
    return arch.get("units_1", 0) / 512 - 0.1 * arch["depth"]


class StrategyContract:
    strategy_name: str = ""

    def make(self, space, seed=0, **options):
        return get_strategy(self.strategy_name, space, seed=seed, **options)

    def run(self, strategy, count, reward=toy_reward) -> list[str]:
        """Ask and tell `count` trials one at a time; the proposed keys."""
        keys = []
        for _ in range(count):
            trial = strategy.ask()
            keys.append(trial.arch.key)
            strategy.tell(trial, reward(trial.arch))
        return keys

    def test_same_seed_same_proposals_and_different_seed_different_ones(self):
        space = get_space("mlp")
        proposed = self.run(self.make(space, seed=3), 30)
        assert self.run(self.make(space, seed=3), 30) == proposed
        assert self.run(self.make(space, seed=4), 30) != proposed

    def test_every_proposal_is_valid_and_none_repeats_until_the_space_is_exhausted(self):
        space = small_space()
        strategy = self.make(space)
        proposed = self.run(strategy, space.size, reward=lambda arch: float(arch["a"]))
        assert sorted(proposed) == sorted(arch.key for arch in space.enumerate())
        assert strategy.ask() is None

    def test_state_round_trips_mid_search_through_json(self):
        space = get_space("mlp")
        original = self.make(space, seed=5)
        self.run(original, 25)
        in_flight = original.ask()
        resumed = self.make(space, seed=999)
        resumed.load_state_dict(json.loads(json.dumps(original.state_dict())))
        assert [trial.id for trial in resumed.outstanding] == [in_flight.id]
        original.tell(in_flight, 0.5)
        resumed.tell(in_flight, 0.5)
        assert self.run(resumed, 15) == self.run(original, 15)

    def test_outstanding_trials_are_reissued_with_their_ids_after_a_resume(self):
        strategy = self.make(get_space("mlp"), seed=1)
        in_flight = [strategy.ask(), strategy.ask()]
        resumed = self.make(get_space("mlp"), seed=1)
        resumed.load_state_dict(strategy.state_dict())
        resumed.reissue_outstanding()
        assert [resumed.ask(), resumed.ask()] == in_flight
        assert resumed.ask().id == 2

    def test_a_trial_adopted_from_the_store_is_told_and_not_proposed_again(self):
        # A resume from a state saved before the trial started: the store holds the trial; the strategy adopts it.
        space = small_space()
        strategy = self.make(space)
        stored = space.validate({"a": 3, "b": "x"})
        strategy.adopt(Trial(4, stored))
        assert [trial.id for trial in strategy.outstanding] == [4] and strategy.next_id == 5
        strategy.tell(strategy.outstanding[0], 0.7)
        proposed = [strategy.ask() for _ in range(space.size - 1)]
        assert [trial.id for trial in proposed] == [5, 6, 7, 8]
        assert stored.key not in [trial.arch.key for trial in proposed] and strategy.ask() is None

    def test_enqueued_architectures_come_first_and_are_not_proposed_again(self):
        space = small_space()
        strategy = self.make(space)
        wanted = space.validate({"a": 2, "b": "y"})
        strategy.enqueue([wanted])
        assert strategy.ask().arch == wanted
        assert wanted.key not in [strategy.ask().arch.key for _ in range(space.size - 1)]

    def test_tolerates_parallel_asks_out_of_order_tells_and_failures(self, caplog):
        strategy = self.make(get_space("cnn"))
        trials = [strategy.ask() for _ in range(40)]
        rng = np.random.default_rng(0)
        for index in rng.permutation(len(trials))[:-1]:
            trial = trials[int(index)]
            outcome = [None, math.nan, math.inf, 0.1 * trial.arch["blocks"]][int(index) % 4]
            strategy.tell(trial, outcome)
        assert "treating it as failed" in caplog.text
        assert len(strategy.outstanding) == 1
        assert strategy.ask() is not None
        already_told = next(trial for trial in trials if trial not in strategy.outstanding)
        with pytest.raises(ValueError, match="not outstanding"):
            strategy.tell(already_told, 0.5)

    def test_handles_int_and_float_ranges_conditional_ones_included_and_resumes_among_them(self):
        strategy = self.make(RANGES, seed=1)
        keys = self.run(strategy, 30, reward=ranges_reward)
        assert len(set(keys)) == 30 and all(RANGES.from_key(key).key == key for key in keys)
        rates = {RANGES.from_key(key)["learning_rate"] for key in keys}
        assert len(rates) >= 5 and min(rates) >= 1e-4 and max(rates) <= 1e-1
        resumed = self.make(RANGES, seed=99)
        resumed.load_state_dict(json.loads(json.dumps(strategy.state_dict())))
        assert self.run(resumed, 10, reward=ranges_reward) == self.run(strategy, 10, reward=ranges_reward)

    def test_unknown_options_and_foreign_state_are_refused(self):
        with pytest.raises(ValueError, match=f"Unknown option 'no_such_option' for strategy "
                                             f"'{self.strategy_name}'"):
            self.make(small_space(), no_such_option=2.0)
        state = self.make(get_space("mlp")).state_dict()
        with pytest.raises(StateDictError, match="space 'cnn'"):
            self.make(get_space("cnn")).load_state_dict(state)
        other = "random" if self.strategy_name != "random" else "evolution"
        with pytest.raises(StateDictError, match=f"strategy '{other}'"):
            self.make(get_space("mlp")).load_state_dict(get_strategy(other, get_space("mlp")).state_dict())
        strategy = self.make(get_space("mlp"))
        older = {**strategy.state_dict(), "state": {}}  # what an earlier version might have written
        if strategy.strategy_state():
            with pytest.raises(StateDictError, match="as this version of nas writes it"):
                strategy.load_state_dict(older)
