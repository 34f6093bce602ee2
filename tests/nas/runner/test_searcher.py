"""nas.runner.searcher, without starting Ray: our strategy behind Ray Tune's Searcher interface."""
from __future__ import annotations

import numpy as np
import pytest

from nas.runner.searcher import StrategySearcher
from search_spaces import Choice, SearchSpace
from strategies import get_strategy
from tests.strategies.contract import TOY as TOY_8, toy_accuracy

TOY = SearchSpace("toy", [Choice("depth", [1, 2, 3]), Choice("width", [16, 32])])
WIDE = SearchSpace("wide", [Choice("depth", [1, 2, 3]), Choice("width", list(range(8, 1000)))])


def test_suggest_asks_and_complete_tells_the_strategy():
    strategy = get_strategy("random", TOY, seed=0)
    searcher = StrategySearcher(strategy)
    first, second = searcher.suggest("ray-a"), searcher.suggest("ray-b")
    assert (first["trial"], second["trial"]) == (0, 1)
    assert TOY.validate(first["arch"]) and len(strategy.outstanding) == 2
    searcher.on_trial_complete("ray-b", {"validation_accuracy": 0.5, "reward": 0.5})
    searcher.on_trial_complete("ray-a", {"error": "NaN loss"})
    assert strategy.outstanding == []


def test_a_multi_objective_strategy_learns_accuracy_latency_and_params_of_each_trial():
    strategy = get_strategy("bayes", TOY, seed=0, directions=["maximize", "minimize", "minimize"])
    searcher = StrategySearcher(strategy)
    searcher.suggest("ray-a")
    searcher.on_trial_complete("ray-a", {"validation_accuracy": 0.9, "reward": 0.8, "latency_ms": 0.4,
                                         "params": 1000})
    assert strategy.state_dict()["state"]["history"][0][1] == [0.9, 0.4, 1000.0]


def test_under_several_objectives_a_model_over_a_hard_limit_is_told_as_infeasible_with_what_was_measured():
    strategy = get_strategy("bayes", TOY, seed=0, directions=["maximize", "minimize", "minimize"])
    searcher = StrategySearcher(strategy)
    searcher.suggest("ray-a")
    searcher.on_trial_complete("ray-a", {"error": "over the limit: 30,000 parameters > --max-params 20,000; "
                                                  "not trained", "over_limit": True, "params": 30_000})
    state = strategy.state_dict()["state"]
    assert state["history"][0][1:] == [[0.0, 0.0, 30000.0], True] and len(state["infeasible"]) == 1


def test_a_model_over_a_hard_limit_teaches_the_strategy_a_reward_of_zero_and_a_failure_teaches_nothing():
    strategy = get_strategy("evolution", TOY, seed=0)
    told = []
    strategy.tell = lambda trial, reward, objectives=None, over_limit=False: told.append(reward)
    searcher = StrategySearcher(strategy)
    for ray_id in ("ray-a", "ray-b"):
        searcher.suggest(ray_id)
    searcher.on_trial_complete("ray-a", {"error": "over the limit: 30,000 parameters > --max-params 20,000; "
                                                  "not trained", "over_limit": True, "params": 30_000})
    searcher.on_trial_complete("ray-b", {"error": "NaN loss"})
    assert told == [0.0, None]


def test_under_a_metric_objective_a_model_over_a_limit_is_told_as_failed():
    strategy = get_strategy("random", TOY, seed=0)
    told = []
    strategy.tell = lambda trial, reward, objectives=None, over_limit=False: told.append(reward)
    searcher = StrategySearcher(strategy, over_limit_reward=None)  # val_loss has no worst value
    searcher.suggest("ray-a")
    searcher.on_trial_complete("ray-a", {"error": "over the limit", "over_limit": True})
    assert told == [None]


def test_an_exhausted_strategy_finishes_the_search():
    searcher = StrategySearcher(get_strategy("random", TOY, seed=0))
    suggestions = [searcher.suggest(f"ray-{index}") for index in range(7)]
    assert suggestions[-1] == StrategySearcher.FINISHED
    assert len({TOY.validate(s["arch"]).key for s in suggestions[:-1]}) == 6


def test_searcher_state_survives_save_and_restore(tmp_path):
    searcher = StrategySearcher(get_strategy("random", TOY, seed=0))
    searcher.suggest("ray-a")
    searcher.suggest("ray-b")
    searcher.on_trial_complete("ray-a", {"validation_accuracy": 0.7, "reward": 0.7})
    searcher.save(str(tmp_path / "searcher.json"))

    restored = StrategySearcher(get_strategy("random", TOY, seed=0))
    restored.restore(str(tmp_path / "searcher.json"))
    assert [trial.id for trial in restored.strategy.outstanding] == [1]
    restored.on_trial_complete("ray-b", {"validation_accuracy": 0.6, "reward": 0.6})  # the in-flight trial is still known
    assert restored.strategy.outstanding == []
    assert restored.suggest("ray-c")["trial"] == 2


STRATEGY_OPTIONS = {"random": {}, "evolution": {"population_size": 6, "sample_size": 3}, "bayes": {}, "rl": {}}


def search_in_flight(strategy_name: str, lag: int | None, timing_seed: int, trials: int = 30, slots: int = 3):
    """Run a search as Tune would with `slots` trials at once, each taking a random time (seeded by timing_seed) and
    scoring its toy accuracy; returns each trial number's architecture, and the order results were told in."""
    strategy = get_strategy(strategy_name, TOY_8, seed=0, **STRATEGY_OPTIONS[strategy_name])
    told = []
    tell = strategy.tell
    strategy.tell = lambda trial, *outcome, **options: (told.append(trial.id), tell(trial, *outcome, **options))
    searcher = StrategySearcher(strategy, lag=lag)
    durations = np.random.default_rng(timing_seed)
    proposed, running, now = {}, [], 0.0
    while len(proposed) < trials or running:
        while len(running) < slots and len(proposed) < trials:
            suggestion = searcher.suggest(f"ray-{len(proposed)}")
            if suggestion is None:  # the searcher waits for an older trial
                break
            proposed[suggestion["trial"]] = TOY_8.validate(suggestion["arch"]).key
            running.append((now + durations.exponential(1.0), f"ray-{len(proposed) - 1}", suggestion["arch"]))
        assert running, "the searcher waits for a trial that is not running"
        running.sort(key=lambda item: item[0])
        now, ray_id, arch = running.pop(0)
        accuracy = toy_accuracy(TOY_8.validate(arch))
        searcher.on_trial_complete(ray_id, {"reward": accuracy, "validation_accuracy": accuracy})
    return proposed, told


@pytest.mark.parametrize("strategy_name", list(STRATEGY_OPTIONS))
def test_with_a_lag_each_trial_number_gets_the_same_architecture_whatever_order_trials_finish_in(strategy_name):
    first, told = search_in_flight(strategy_name, lag=3, timing_seed=0)
    second, _ = search_in_flight(strategy_name, lag=3, timing_seed=1)
    assert first == second and len(first) == 30
    assert told == sorted(told)  # results reach the strategy in trial order


def test_without_a_lag_proposals_follow_the_order_trials_happen_to_finish_in():
    # The control of the test above: the simulated timings do change what a learning strategy proposes.
    first, told = search_in_flight("evolution", lag=None, timing_seed=0)
    second, _ = search_in_flight("evolution", lag=None, timing_seed=1)
    assert first != second and told != sorted(told)


def test_a_proposal_waits_for_a_trial_older_than_the_lag_and_hears_no_later_one():
    strategy = get_strategy("random", TOY, seed=0)
    searcher = StrategySearcher(strategy, lag=2)
    for number in range(2):
        assert searcher.suggest(f"ray-{number}")["trial"] == number
    searcher.on_trial_complete("ray-1", {"reward": 0.5})
    assert searcher.suggest("ray-2")["trial"] == 2  # needs trials before 0: none
    searcher.on_trial_complete("ray-2", {"reward": 0.6})
    assert searcher.suggest("ray-3") is None  # trial 3 needs trial 0, which still runs
    assert [trial.id for trial in strategy.outstanding] == [0, 1, 2]  # 1 and 2 are held, not told
    searcher.on_trial_complete("ray-0", {"reward": 0.4})
    assert searcher.suggest("ray-3")["trial"] == 3
    assert [trial.id for trial in strategy.outstanding] == [1, 2, 3]  # told 0, the trial before 3 - 2
    searcher.tell_all()
    assert [trial.id for trial in strategy.outstanding] == [3]


def test_a_resumed_run_tells_the_trials_that_finished_before_its_strategy_heard_them():
    strategy = get_strategy("evolution", TOY, seed=0, population_size=2, sample_size=1)
    first, second = strategy.ask(), strategy.ask()
    strategy.reissue_outstanding(finished=[first.id])
    StrategySearcher(strategy, finished=[(first, {"reward": 0.9, "validation_accuracy": 0.9})])
    assert [trial.id for trial in strategy.outstanding] == [second.id]
    assert strategy.ask() == second  # the trial that was in flight runs again; the finished one does not


def test_a_stored_trial_tells_a_resumed_strategy_what_its_last_result_said():
    from nas.estimator.objectives import Direction
    from nas.estimator.objectives import Objective
    from nas.runner.searcher import stored_result
    from results import TrialRecord, TrialStatus

    def row(**fields):
        return TrialRecord(run="r", number=0, status=fields.pop("status", TrialStatus.COMPLETED), arch_key="a",
                           arch={}, **fields)

    accuracy, loss = Objective(), Objective(name="val_loss", direction=Direction.MIN)
    assert stored_result(row(score=0.9, validation_accuracy=0.9, latency_ms=0.3, params=100), accuracy) == {
        "reward": 0.9, "validation_accuracy": 0.9, "latency_ms": 0.3, "params": 100}
    assert stored_result(row(score=0.25, validation_accuracy=0.8), loss)["reward"] == -0.25  # minimised
    assert stored_result(row(status=TrialStatus.FAILED, error="NaN loss"), accuracy) is None
    over = stored_result(row(status=TrialStatus.FAILED, params=30_000,
                             error="over the limit: 30,000 parameters > max_params 20,000; not trained"), accuracy)
    assert over["over_limit"] and over["params"] == 30_000
    strategy = get_strategy("evolution", TOY, seed=0)
    told = []
    strategy.tell = lambda trial, reward, objectives=None, over_limit=False: told.append((reward, over_limit))
    StrategySearcher(strategy, finished=[(strategy.ask(), over)])
    assert told == [(0.0, True)]


def test_only_a_trial_run_again_goes_on_from_a_checkpoint():
    strategy = get_strategy("random", TOY, seed=0)
    in_flight = strategy.ask()
    strategy.reissue_outstanding()
    searcher = StrategySearcher(strategy, checkpoints={in_flight.id: "/runs/t0/checkpoint_000003",
                                                       1: "/runs/old-run/checkpoint_000009"})
    assert searcher.suggest("ray-a") == {"trial": 0, "arch": in_flight.arch.to_dict(),
                                         "resume_from": "/runs/t0/checkpoint_000003"}
    assert "resume_from" not in searcher.suggest("ray-b")  # a new trial 1: no other trial's weights


def test_a_proposal_over_a_limit_is_recorded_and_told_in_the_driver_and_the_next_one_goes_to_tune():
    """Refused proposals never become Tune trials; the strategy hears each as over the limit (0 under an accuracy
    objective); the run's --trials counts them, so the searcher finishes when the proposals are spent."""
    strategy = get_strategy("random", WIDE, seed=0)
    recorded = []
    searcher = StrategySearcher(strategy, refusal=lambda arch: {"error": "over the limit: needs about 9 GB",
                                                                "over_limit": True} if arch["depth"] == 3 else None,
                                on_refused=lambda trial, figures: recorded.append(trial.id), proposals=12)
    configs = []
    while (config := searcher.suggest(f"ray-{len(configs)}")) not in (None, StrategySearcher.FINISHED):
        configs.append(config)
        searcher.on_trial_complete(f"ray-{len(configs) - 1}", {"validation_accuracy": 0.5, "reward": 0.5})
    assert recorded and all(config["arch"]["depth"] != 3 for config in configs)
    assert sorted([config["trial"] for config in configs] + recorded) == list(range(12))
    assert strategy.outstanding == []  # every trial told, the refused ones included


def test_a_strategy_that_proposes_only_refused_architectures_lets_tune_ask_again_instead_of_spinning():
    strategy = get_strategy("random", WIDE, seed=0)
    searcher = StrategySearcher(strategy, refusal=lambda arch: {"error": "over", "over_limit": True})
    assert searcher.suggest("ray-a") is None and strategy.next_id == 100  # MOST_REFUSED_AT_ONCE, then Tune
