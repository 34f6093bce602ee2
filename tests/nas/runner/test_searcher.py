"""nas.runner.searcher, without starting Ray: our strategy behind Ray Tune's Searcher interface."""
from __future__ import annotations

from nas.runner.searcher import StrategySearcher
from search_spaces import Choice, SearchSpace
from strategies import get_strategy

TOY = SearchSpace("toy", [Choice("depth", [1, 2, 3]), Choice("width", [16, 32])])


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
