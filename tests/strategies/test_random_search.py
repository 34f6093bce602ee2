from __future__ import annotations

import json
import math

import pytest

from search_spaces import Choice, SearchSpace, get_space
from strategies import StateDictError, get_strategy


def small_space() -> SearchSpace:
    return SearchSpace("small", [Choice("a", [1, 2, 3]), Choice("b", ["x", "y"], when={"a": [2, 3]})])


def keys(strategy, count):
    trials = [strategy.ask() for _ in range(count)]
    return [trial.arch.key for trial in trials]


def test_same_seed_same_proposals_and_different_seed_different_ones():
    space = get_space("cnn")
    assert keys(get_strategy("random", space, seed=3), 20) == keys(get_strategy("random", space, seed=3), 20)
    assert keys(get_strategy("random", space, seed=3), 20) != keys(get_strategy("random", space, seed=4), 20)


def test_never_repeats_until_the_space_is_exhausted():
    space = small_space()  # 5 architectures
    strategy = get_strategy("random", space, seed=0)
    proposed = keys(strategy, space.size)
    assert sorted(proposed) == sorted(arch.key for arch in space.enumerate())
    assert strategy.ask() is None


def test_state_round_trips_mid_search_through_json():
    space = get_space("mlp")
    original = get_strategy("random", space, seed=5)
    first = original.ask()
    original.tell(first, 0.9)
    outstanding = original.ask()
    state = json.loads(json.dumps(original.state_dict()))
    resumed = get_strategy("random", space, seed=999)
    resumed.load_state_dict(state)
    assert keys(resumed, 10) == keys(original, 10)
    assert [trial.id for trial in resumed.outstanding][:1] == [outstanding.id]


def test_outstanding_trials_are_reissued_with_their_ids_after_a_resume():
    strategy = get_strategy("random", get_space("mlp"), seed=1)
    in_flight = [strategy.ask(), strategy.ask()]
    resumed = get_strategy("random", get_space("mlp"), seed=1)
    resumed.load_state_dict(strategy.state_dict())
    resumed.reissue_outstanding()
    assert [resumed.ask(), resumed.ask()] == in_flight
    assert resumed.ask().id == 2


def test_enqueued_architectures_come_first_and_are_not_proposed_again():
    space = small_space()
    strategy = get_strategy("random", space, seed=0)
    wanted = space.validate({"a": 2, "b": "y"})
    strategy.enqueue([wanted])
    assert strategy.ask().arch == wanted
    assert wanted.key not in keys(strategy, space.size - 1)


def test_tolerates_failures_out_of_order_tells_and_non_finite_rewards(caplog):
    strategy = get_strategy("random", get_space("cnn"), seed=0)
    trials = [strategy.ask() for _ in range(4)]
    strategy.tell(trials[2], None)
    strategy.tell(trials[0], math.nan)
    strategy.tell(trials[3], 0.5)
    assert "treating it as failed" in caplog.text
    assert [trial.id for trial in strategy.outstanding] == [1]
    with pytest.raises(ValueError, match="not outstanding"):
        strategy.tell(trials[0], 0.5)


def test_bad_names_options_and_foreign_state_are_refused():
    with pytest.raises(ValueError, match="Unknown strategy 'grid'"):
        get_strategy("grid", small_space())
    with pytest.raises(ValueError, match="Unknown option 'temperature'"):
        get_strategy("random", small_space(), temperature=2.0)
    state = get_strategy("random", get_space("mlp")).state_dict()
    with pytest.raises(StateDictError, match="space 'cnn'"):
        get_strategy("random", get_space("cnn")).load_state_dict(state)
