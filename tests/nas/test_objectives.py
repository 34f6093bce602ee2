"""Objectives: MnasNet's reward, hard limits that keep a model from training, and a Pareto search's front."""
from __future__ import annotations

import json

import pytest

from nas import search
from nas.objectives import Objective
from results import ResultStore, TrialStatus
from results.pareto import dominates, objectives_of


def test_mnas_soft_reward_trades_about_five_points_of_accuracy_for_twice_the_latency():
    soft = Objective("mnas", latency_target_ms=1.0)
    assert soft.reward(0.9, 1.0, 100) == pytest.approx(0.9)
    assert soft.reward(0.9, 2.0, 100) == pytest.approx(0.9 * 2 ** -0.07)  # Tan et al. 2019: alpha = beta = -0.07
    assert soft.reward(0.9, 0.5, 100) == pytest.approx(0.9 * 0.5 ** -0.07)
    assert soft.reward(0.9 * 2 ** 0.07, 2.0, 100) == pytest.approx(0.9)


def test_mnas_hard_reward_ignores_speed_below_the_target_and_punishes_above_it():
    hard = Objective("mnas", latency_target_ms=1.0, mnas_constraint="hard")
    assert hard.reward(0.9, 0.5, 100) == pytest.approx(0.9)  # alpha = 0
    assert hard.reward(0.9, 2.0, 100) == pytest.approx(0.45)  # beta = -1


def test_accuracy_is_the_default_reward_and_limits_say_what_they_refused():
    assert Objective().reward(0.93, 5.0, 10**6) == 0.93
    limits = Objective(max_params=20_000, max_latency_ms=0.5)
    assert limits.violation(19_999, 0.4) is None
    assert limits.violation(20_001, 0.4) == "over the limit: 20,001 parameters > --max-params 20,000; not trained"
    assert "latency 0.600 ms > --max-latency 0.5 ms" in limits.violation(100, 0.6)


def test_the_pareto_scalarisation_prefers_smaller_and_faster_at_equal_accuracy():
    pareto = Objective("pareto")
    assert pareto.reward(0.9, 0.3, 10_000) > pareto.reward(0.9, 0.6, 10_000) > pareto.reward(0.9, 0.6, 50_000)


@pytest.mark.parametrize("values, message", [
    ({"name": "mnas"}, "Expected --latency-target MS"),
    ({"name": "speed"}, "Expected objective in"),
    ({"mnas_constraint": "strict"}, "Expected mnas_constraint in"),
])
def test_an_objective_refuses_what_it_cannot_compute(values, message):
    with pytest.raises(ValueError, match=message):
        Objective(**values)


def test_a_pareto_search_never_trains_models_over_the_limit_and_ends_with_its_front(tiny_8x8, tmp_path, capsys):
    argv = ["--space", "mlp", "--strategy", "bayes", "--objective", "pareto", "--max-params", "30000",
            "--data", tiny_8x8, "--trials", "8", "--epochs", "1", "--top-k", "2", "--output", str(tmp_path),
            "--name", "front", "--json"]
    assert search.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        trials = store.trials("front")
        run = store.get_run("front")
    over = [trial for trial in trials if trial.params and trial.params > 30_000]
    assert over and all(trial.status is TrialStatus.FAILED and trial.epochs is None
                        and "--max-params 30,000; not trained" in trial.error for trial in over)
    scored = [trial for trial in trials if trial.status is TrialStatus.COMPLETED]
    front = {member["trial"] for member in summary["pareto_front"]}
    assert front and front <= {trial.number for trial in scored}
    for trial in scored:  # the front is exactly the trials no other scored trial dominates
        dominated = any(dominates(objectives_of(other), objectives_of(trial)) for other in scored)
        assert (trial.number in front) is not dominated
    assert run.strategy_state["state"]["history"] and all(  # bayes learned the three objectives of each trial
        reward is None or len(reward) == 3 for _, reward in run.strategy_state["state"]["history"])
