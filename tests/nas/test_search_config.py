"""How command-line flags become a SearchConfig, and what a SearchConfig refuses."""
from __future__ import annotations

import pytest

from nas.config import DEFAULT_FINAL_SHARE, DEFAULT_TRIALS, MAX_FITTED_FINAL_EPOCHS, SearchConfig
from nas.search import build_parser, make_config


def config_of(*argv: str) -> SearchConfig:
    return make_config(build_parser().parse_args(list(argv)), store=None)


def test_defaults_are_the_documented_ones():
    config = config_of()
    assert (config.space, config.strategy, config.dataset, config.trials, config.time_budget_s) == \
        ("cnn", "random", "mnist", DEFAULT_TRIALS, None)


def test_a_time_budget_alone_lifts_the_trial_limit():
    assert config_of("--time-budget", "30m").trials is None
    assert config_of("--time-budget", "30m").time_budget_s == 1800
    assert config_of("--time-budget", "1h", "--trials", "7").trials == 7


def test_a_time_budget_covers_the_final_training_which_fits_its_epochs_in_its_share():
    config = config_of("--time-budget", "30m")
    assert config.final_epochs is None and config.final_recipe.epochs == MAX_FITTED_FINAL_EPOCHS
    assert config.final_recipe.augment == "shift" and config.trial_recipe.augment == "none"
    assert config.search_budget_s(elapsed_s=20) == pytest.approx(1800 * (1 - DEFAULT_FINAL_SHARE) - 20)
    assert config_of("--time-budget", "30m", "--top-k", "0").search_budget_s(0) == 1800  # no final training
    assert config_of("--time-budget", "30m", "--final-epochs", "12").final_recipe.epochs == 12
    assert config_of("--time-budget", "30m", "--final-share", "0.5").search_budget_s(0) == 900
    assert config_of().final_epochs == 2 and config_of().search_budget_s(0) is None


def test_runs_stored_before_the_recipe_settings_existed_keep_their_recipe():
    stored = {key: value for key, value in SearchConfig().to_dict().items() if key not in ("lr_schedule", "augment")}
    config = SearchConfig.from_dict(stored)
    assert (config.trial_recipe.schedule, config.final_recipe.augment) == ("constant", "none")
    assert (SearchConfig().trial_recipe.schedule, SearchConfig().final_recipe.augment) == ("cosine", "shift")


def test_flags_reach_the_config():
    config = config_of("--space", "mlp", "--epochs", "3", "--train-subset", "100", "--top-k", "0",
                       "--cpus-per-trial", "0.5", "--concurrency", "2", "--seed", "4", "--output", "x")
    assert (config.space, config.epochs, config.train_subset, config.top_k, config.cpus_per_trial,
            config.concurrency, config.seed, config.output) == ("mlp", 3, 100, 0, 0.5, 2, 4, "x")


def test_the_learning_rate_and_batch_size_train_trials_and_final_training_alike():
    config = config_of("--learning-rate", "0.01", "--batch-size", "64", "--final-epochs", "5")
    for recipe in (config.trial_recipe, config.final_recipe):
        assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size) == ("adam", 0.01, 64)
    assert (config.trial_recipe.epochs, config.final_recipe.epochs) == (config.epochs, 5)


def test_strategy_options_are_read_as_json_values_else_strings():
    config = config_of("--strategy", "evolution", "--strategy-option", "population_size=8",
                       "--strategy-option", "sample_size=3", "--strategy-option", "note=a b")
    assert config.strategy_options == {"population_size": 8, "sample_size": 3, "note": "a b"}
    assert config_of().strategy_options == {}


def test_a_config_round_trips_through_its_dict():
    config = config_of("--time-budget", "90s", "--space", "mlp", "--strategy-option", "learning_rate=0.001")
    assert SearchConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("values, message", [
    ({"trials": None}, "Expected a number of trials or a time budget"),
    ({"trials": 0}, "Expected trials >= 1"),
    ({"cpus_per_trial": 0}, "Expected cpus_per_trial > 0"),
    ({"optimizer": "lbfgs"}, "Expected optimizer in"),
    ({"final_epochs": None}, "Expected a number of final epochs or a time budget"),
    ({"final_share": 1.0, "time_budget_s": 60}, "Expected final_share between 0 and 1"),
    ({"lr_schedule": "step"}, "Expected lr_schedule in"),
    ({"augment": "mixup"}, "Expected augment in"),
])
def test_a_config_refuses_impossible_settings(values, message):
    with pytest.raises(ValueError, match=message):
        SearchConfig(**values)


@pytest.fixture
def store_with_run(tmp_path):
    from results import ResultStore, RunRecord, RunStatus

    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        config = SearchConfig(space="mlp", trials=3, epochs=1)
        store.create_run(RunRecord("r1", "mlp", "random", "mnist", RunStatus.INTERRUPTED, config.to_dict()))
        yield store


def test_resume_takes_the_stored_config_and_the_new_budget(store_with_run):
    args = build_parser().parse_args(["--resume", "--name", "r1", "--trials", "9", "--top-k", "0"])
    config = make_config(args, store_with_run)
    assert (config.space, config.epochs, config.trials, config.top_k) == ("mlp", 1, 9, 0)


@pytest.mark.parametrize("flag, value", [("--space", "cnn"), ("--strategy", "rl"), ("--epochs", "4"), ("--seed", "2"),
                                         ("--learning-rate", "0.5"), ("--batch-size", "7")])
def test_resume_refuses_to_change_what_is_searched(store_with_run, flag, value):
    from nas.cli_common import UsageError

    args = build_parser().parse_args(["--resume", "--name", "r1", flag, value])
    with pytest.raises(UsageError, match=f"continues run 'r1' as it was started.*Received {flag} {value}"):
        make_config(args, store_with_run)
    changed = build_parser().parse_args(["--resume", "--name", "r1", "--strategy-option", "population_size=4"])
    with pytest.raises(UsageError, match="with strategy_options {}. Received --strategy-option {'population_size': 4}"):
        make_config(changed, store_with_run)
    # Repeating the stored value is no change.
    same = build_parser().parse_args(["--resume", "--name", "r1", "--space", "mlp", "--epochs", "1"])
    assert make_config(same, store_with_run).space == "mlp"
