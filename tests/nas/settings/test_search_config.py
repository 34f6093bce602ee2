"""nas.settings: one field per setting, from which the command line's flags are made; what a SearchConfig refuses;
and how a resume keeps a run's settings."""
from __future__ import annotations

import dataclasses

import pytest

from nas.search import prepare_search
from nas.estimator.recipe import Augment, Optimizer, Schedule
from nas.errors import SettingError
from nas.commands.search import build_parser
from nas.settings.search_config import (DEFAULT_FINAL_SHARE, DEFAULT_TRIALS, MAX_FITTED_FINAL_EPOCHS, SearchConfig,
                                        fields_by_group)
from nas.commands import cli


def config_of(*argv: str, store=None, **prepare) -> SearchConfig:
    args = build_parser().parse_args(list(argv))
    fields = [field for group in fields_by_group().values() for field in group]
    return prepare_search(cli.given_settings(args, fields), store, args.name, args.resume, **prepare)[0]


def test_every_setting_is_a_flag_of_the_same_name_in_its_group():
    parser = build_parser()
    flags = {action.dest: action.option_strings for action in parser._actions}
    for group, fields in fields_by_group().items():
        for field in fields:
            assert flags[field.name] == [cli.flag_name(field.name)], field.name
    assert flags["time_budget"] == ["--time-budget"] and flags["strategy_options"] == ["--strategy-option"]
    titles = {group.title for group in parser._action_groups}
    assert {"budget", "training recipe", "objective and limits", "resources"} <= titles


def test_defaults_are_the_documented_ones():
    config = config_of()
    assert (config.space, config.strategy, config.dataset, config.trials, config.time_budget) == \
        ("cnn", "random", None, DEFAULT_TRIALS, None)
    assert (config.optimizer, config.lr_schedule, config.augment) == (Optimizer.ADAM, Schedule.COSINE, Augment.SHIFT)


def test_a_time_budget_alone_lifts_the_trial_limit():
    assert config_of("--time-budget", "30m").trials is None
    assert config_of("--time-budget", "30m").time_budget == 1800
    assert config_of("--time-budget", "1h", "--trials", "7").trials == 7


def test_a_time_budget_covers_the_final_training_which_fits_its_epochs_in_its_share():
    config = config_of("--time-budget", "30m")
    assert config.final_epochs is None and config.recipe(final=True).epochs == MAX_FITTED_FINAL_EPOCHS
    assert config.recipe(final=True).augment == "shift" and config.recipe(final=False).augment == "none"
    assert config.search_budget_s(elapsed_s=20) == pytest.approx(1800 * (1 - DEFAULT_FINAL_SHARE) - 20)
    assert config_of("--time-budget", "30m", "--top-k", "0").search_budget_s(0) == 1800  # no final training
    assert config_of("--time-budget", "30m", "--final-epochs", "12").recipe(final=True).epochs == 12
    assert config_of("--time-budget", "30m", "--final-share", "0.5").search_budget_s(0) == 900
    assert config_of().final_epochs == 2 and config_of().search_budget_s(0) is None


def test_python_keywords_take_values_and_the_flags_text_alike():
    assert SearchConfig(time_budget="1h30m").time_budget == SearchConfig(time_budget=5400).time_budget == 5400
    assert SearchConfig(optimizer="SGD", lr_schedule="constant").optimizer == Optimizer.SGD
    assert SearchConfig(trials="4").trials == 4


def test_runs_stored_by_an_older_nas_keep_their_names_and_recipe():
    stored = {"space": "mlp", "time_budget_s": 90.0, "latency_target_ms": 0.5, "objective": "mnas",
              "data_path": "/data/x.npz", "resource_wait_s": 30.0, "final_epochs": None, "trials": None}
    config = SearchConfig.from_dict(stored)
    assert (config.time_budget, config.latency_target, config.data, config.resource_wait) == \
        (90.0, 0.5, "/data/x.npz", 30.0)
    assert (config.recipe(final=False).schedule, config.recipe(final=True).augment) == ("constant", "none")


def test_flags_reach_the_config():
    config = config_of("--space", "mlp", "--epochs", "3", "--train-subset", "100", "--top-k", "0",
                       "--cpus-per-trial", "0.5", "--concurrency", "2", "--seed", "4", "--output", "x",
                       "--optimizer", "rmsprop", "--loss", "huber", "--metrics", "mae", "--metrics", "mse",
                       "--objective", "mae", "--task", "regression")
    assert (config.space, config.epochs, config.train_subset, config.top_k, config.cpus_per_trial,
            config.concurrency, config.seed, config.output) == ("mlp", 3, 100, 0, 0.5, 2, 4, "x")
    assert (config.optimizer, config.loss, config.metrics) == (Optimizer.RMSPROP, "huber", ("mae", "mse"))
    assert (config.objective_spec.name, config.objective_spec.direction) == ("val_mae", "min")


def test_the_learning_rate_and_batch_size_train_trials_and_final_training_alike():
    config = config_of("--learning-rate", "0.01", "--batch-size", "64", "--final-epochs", "5")
    for recipe in (config.recipe(final=False), config.recipe(final=True)):
        assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size) == ("adam", 0.01, 64)
    assert (config.recipe(final=False).epochs, config.recipe(final=True).epochs) == (config.epochs, 5)


def test_strategy_options_are_read_as_json_values_else_strings():
    config = config_of("--strategy", "evolution", "--strategy-option", "population_size=8",
                       "--strategy-option", "sample_size=3", "--strategy-option", "note=a b")
    assert config.strategy_options == {"population_size": 8, "sample_size": 3, "note": "a b"}
    assert config_of().strategy_options == {}


def test_a_config_round_trips_through_its_dict():
    config = config_of("--time-budget", "90s", "--space", "mlp", "--strategy-option", "learning_rate=0.001",
                       "--metrics", "mse")
    assert SearchConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("values, setting, message", [
    ({"trials": None}, "trials", "expected a number of trials or a time budget"),
    ({"trials": 0}, "trials", "expected an integer >= 1, received 0"),
    ({"cpus_per_trial": 0}, "cpus_per_trial", "expected a number of CPUs >= 0.25"),
    ({"optimizer": "lbfgs"}, "optimizer", "expected one of adam, adamw, sgd"),
    ({"final_epochs": None}, "final_epochs", "expected a number of final epochs or a time budget"),
    ({"final_share": 1.0, "time_budget": 60}, "final_share", "expected a number between 0 and 1"),
    ({"lr_schedule": "step"}, "lr_schedule", "expected one of constant, cosine, received 'step'"),
    ({"augment": "mixup"}, "augment", "expected one of none, shift"),
    ({"strategy": "grid"}, "strategy", "expected one of bayes, evolution, random, rl, received 'grid'"),
    ({"objective": "mnas"}, "latency_target", "expected a latency target"),
    ({"objective": "f1_weird"}, "direction", "cannot tell whether objective 'val_f1_weird' is to be maximised"),
    ({"objective": "accuracy", "task": "regression"}, "objective", "'accuracy' needs a classification"),
    ({"dataset": "digits", "data": "x.npz"}, "dataset", "expected dataset or data, received both"),
])
def test_a_config_refuses_impossible_settings_naming_the_setting(values, setting, message):
    with pytest.raises(SettingError, match=message) as caught:
        SearchConfig(**values)
    assert caught.value.setting == setting and str(caught.value).startswith(f"{setting}: ")


def test_the_objective_and_its_direction_are_settled_once_the_data_says_what_the_task_is():
    config = SearchConfig()
    assert config.objective is None and config.objective_spec.name == "accuracy"
    settled = config.for_task("regression")
    assert (settled.task, settled.objective, settled.direction) == ("regression", "val_loss", "min")
    assert config.for_task("classification").objective == "accuracy"


@pytest.fixture
def store_with_run(tmp_path):
    from results import ResultStore, RunRecord, RunStatus

    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        config = SearchConfig(space="mlp", trials=3, epochs=1)
        store.create_run(RunRecord("r1", "mlp", "random", "mnist", RunStatus.INTERRUPTED, config.to_dict()))
        yield store


def test_resume_takes_the_stored_config_and_the_new_budget(store_with_run):
    config = config_of("--resume", "--name", "r1", "--trials", "9", "--top-k", "0", store=store_with_run)
    assert (config.space, config.epochs, config.trials, config.top_k) == ("mlp", 1, 9, 0)


@pytest.mark.parametrize("flag, value, shown", [
    ("--space", "cnn", "space 'mlp'; received 'cnn'"), ("--strategy", "rl", "strategy 'random'; received 'rl'"),
    ("--epochs", "4", "epochs 1; received 4"), ("--seed", "2", "seed 0; received 2"),
    ("--learning-rate", "0.5", "learning_rate 0.003; received 0.5"), ("--batch-size", "7", "batch_size 32; "
                                                                                          "received 7"),
    ("--strategy-option", "population_size=4", "strategy_options {}; received {'population_size': 4}")])
def test_resume_refuses_to_change_what_is_searched(store_with_run, flag, value, shown):
    with pytest.raises(SettingError, match=f"resume continues run 'r1' as it was started, with {shown}"):
        config_of("--resume", "--name", "r1", flag, value, store=store_with_run)


def test_resume_accepts_the_stored_values_again(store_with_run):
    assert config_of("--resume", "--name", "r1", "--space", "mlp", "--epochs", "1", store=store_with_run).space == \
        "mlp"


def test_resume_reads_the_objective_given_again_as_the_stored_one_was_settled(tmp_path):
    from nas.data.task_data import Task
    from results import ResultStore, RunRecord, RunStatus

    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        config = SearchConfig(space="mlp", trials=3, objective="val_accuracy").for_task(Task.CLASSIFICATION)
        store.create_run(RunRecord("r1", "mlp", "random", "mnist", RunStatus.INTERRUPTED, config.to_dict()))
        assert config_of("--resume", "--name", "r1", "--objective", "val_accuracy", store=store).objective == \
            "accuracy"  # stored as accuracy: the same objective
        with pytest.raises(SettingError, match="with objective 'accuracy'; received 'val_loss'"):
            config_of("--resume", "--name", "r1", "--objective", "val_loss", store=store)


def test_unknown_python_keywords_are_refused_with_the_closest_setting():
    import nas

    with pytest.raises(SettingError, match="nas.search has no setting 'time_budjet'; did you mean 'time_budget'"):
        nas.search("mlp", time_budjet=60)


def test_every_field_says_its_group_help_and_check():
    for field in dataclasses.fields(SearchConfig):
        assert field.metadata["group"] and field.metadata["help"] and field.metadata["check"], field.name


@pytest.mark.parametrize("given, size", [("4GB", 4 * 1024**3), ("512MB", 512 * 1024**2), ("1.5g", int(1.5 * 1024**3)),
                                         (" 2 GiB ", 2 * 1024**3), (1_000_000, 1_000_000)])
def test_max_memory_reads_sizes_as_free_shows_them(given, size):
    assert SearchConfig(max_memory=given, trials=1).max_memory == size


@pytest.mark.parametrize("given", ["4 parsecs", "GB", "-1GB", 0, "0.1"])
def test_a_max_memory_that_is_not_a_size_is_refused_in_one_line(given):
    with pytest.raises(SettingError, match="max_memory.*expected a size"):
        SearchConfig(max_memory=given, trials=1)
