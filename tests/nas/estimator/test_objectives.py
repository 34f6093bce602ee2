"""Objectives: MnasNet's reward, hard limits that keep a model from training, and a Pareto search's front."""
from __future__ import annotations

import json

import pytest

from nas.commands import search
from nas.data.task_data import Task
from nas.errors import SettingError
from nas.estimator.objectives import Objective
from results import ResultStore, TrialStatus
from results.pareto import dominates, objectives_of


def accuracy(value: float) -> dict:
    return {"val_accuracy": value}


def test_mnas_soft_reward_trades_about_five_points_of_accuracy_for_twice_the_latency():
    soft = Objective.from_settings("mnas", None, Task.CLASSIFICATION, latency_target=1.0)
    assert soft.score(accuracy(0.9), 1.0, 100) == pytest.approx(0.9)
    assert soft.score(accuracy(0.9), 2.0, 100) == pytest.approx(0.9 * 2 ** -0.07)  # Tan et al. 2019: -0.07
    assert soft.score(accuracy(0.9), 0.5, 100) == pytest.approx(0.9 * 0.5 ** -0.07)
    assert soft.score(accuracy(0.9 * 2 ** 0.07), 2.0, 100) == pytest.approx(0.9)


def test_mnas_hard_reward_ignores_speed_below_the_target_and_punishes_above_it():
    hard = Objective.from_settings("mnas", None, Task.CLASSIFICATION, latency_target=1.0, mnas_constraint="hard")
    assert hard.score(accuracy(0.9), 0.5, 100) == pytest.approx(0.9)  # alpha = 0
    assert hard.score(accuracy(0.9), 2.0, 100) == pytest.approx(0.45)  # beta = -1


def test_accuracy_is_the_default_reward_and_limits_say_what_they_refused():
    assert Objective().score(accuracy(0.93), 5.0, 10**6) == Objective().reward(0.93) == 0.93
    limits = Objective(max_params=20_000, max_latency_ms=0.5)
    assert limits.violation(19_999, 0.4) is None
    assert limits.violation(20_001, 0.4) == "over the limit: 20,001 parameters > max_params 20,000; not trained"
    assert "latency 0.600 ms > max_latency 0.5 ms" in limits.violation(100, 0.6)
    assert Objective().bounded and not Objective.from_settings("val_loss", None, Task.CLASSIFICATION).bounded


def test_the_pareto_scalarisation_prefers_smaller_and_faster_at_equal_accuracy():
    pareto = Objective("pareto")
    assert pareto.score(accuracy(0.9), 0.3, 10_000) > pareto.score(accuracy(0.9), 0.6, 10_000) > \
        pareto.score(accuracy(0.9), 0.6, 50_000)


@pytest.mark.parametrize("name, metric, direction", [
    ("val_loss", "val_loss", "min"), ("loss", "val_loss", "min"), ("mae", "val_mae", "min"),
    ("val_mean_squared_error", "val_mean_squared_error", "min"), ("auc", "val_auc", "max"),
    ("val_accuracy", "val_accuracy", "max"), ("sparse_categorical_accuracy", "val_sparse_categorical_accuracy", "max"),
])
def test_a_metric_objective_reads_validation_in_the_direction_its_name_says(name, metric, direction):
    objective = Objective.from_settings(name, None, Task.REGRESSION if "accuracy" not in name else
                                        Task.CLASSIFICATION)
    assert (objective.metric, objective.direction) == (metric, direction)
    assert objective.reward(2.0) == (2.0 if direction == "max" else -2.0)


def test_a_regression_defaults_to_val_loss_and_an_unknown_metric_needs_its_direction():
    assert Objective.from_settings(None, None, Task.REGRESSION).name == "val_loss"
    assert Objective.from_settings("my_score", "max", Task.REGRESSION).direction == "max"
    with pytest.raises(SettingError, match="cannot tell whether objective 'val_my_score'"):
        Objective.from_settings("my_score", None, Task.REGRESSION)
    with pytest.raises(SettingError, match="objective 'accuracy' is maximised; received direction 'min'"):
        Objective.from_settings("accuracy", "min", Task.CLASSIFICATION)


@pytest.mark.slow  # about 15 s, a search of 8 trials; the scalarisation and dominance have fast tests above
def test_a_pareto_search_never_trains_models_over_the_limit_and_ends_with_its_front(shared_ray, tiny_8x8, tmp_path,
                                                                                     capsys):
    argv = ["--space", "mlp", "--strategy", "bayes", "--objective", "pareto", "--max-params", "30000",
            "--data", tiny_8x8, "--trials", "8", "--epochs", "1", "--top-k", "0", "--output", str(tmp_path),
            "--name", "front", "--json"]
    assert search.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        trials = store.trials("front")
        run = store.get_run("front")
    over = [trial for trial in trials if trial.params and trial.params > 30_000]
    assert over and all(trial.status is TrialStatus.FAILED and trial.epochs is None
                        and "max_params 30,000; not trained" in trial.error for trial in over)
    scored = [trial for trial in trials if trial.status is TrialStatus.COMPLETED]
    front = {member["trial"] for member in summary["pareto_front"]}
    assert front and front <= {trial.number for trial in scored}
    for trial in scored:  # the front is exactly the trials no other scored trial dominates
        dominated = any(dominates(objectives_of(other), objectives_of(trial)) for other in scored)
        assert (trial.number in front) is not dominated
    history = run.strategy_state["state"]["history"]  # bayes learned the three objectives of each trial...
    assert history and all(reward is None or len(reward) == 3 for _, reward, _ in history)
    # ...and each model over the limit as infeasible (Optuna's constraints), not as a failure it ignores
    assert sum(infeasible and reward is not None for _, reward, infeasible in history) >= len(over)
