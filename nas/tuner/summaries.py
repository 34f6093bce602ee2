"""Tuner.results_summary and Tuner.search_space_summary: printed line for line as Keras Tuner prints them
(keras_tuner/src/engine/base_tuner.py and trial.py), since a Keras Tuner script prints them itself. They are the
one place of the library that prints besides nas/commands/: the drop-in's promise.
"""
from __future__ import annotations

from typing import Any

from nas.errors import SpaceError
from nas.runner.summary import trial_score
from nas.tuner.keywords import is_hypermodel
from results import RunRecord, TrialRecord


def print_results(project_dir: str, num_trials: int, objective: str | None, run: RunRecord,
                  ranked: list[TrialRecord]) -> None:
    """The best `num_trials` of `ranked`; `objective` as the tuner was given it (the run's own when it was not)."""
    print("Results summary")
    print(f"Results in {project_dir}")
    print("Showing %d best trials" % num_trials)
    print(f'Objective(name="{objective or run.objective}", direction="{run.direction}")')
    width = len(str(run.config.get("trials")))  # keras-tuner's trial ids: zero-padded as long as max_trials
    for trial in ranked[:num_trials]:
        print()
        print(f"Trial {trial.number:0{width}d} summary")
        print("Hyperparameters:")
        for name, value in trial.arch.items():
            print(f"{name}:", value)
        if not trial.arch:
            print("default configuration")
        print(f"Score: {trial_score(trial)}")


def print_search_space(hypermodel: Any, overrides: dict[str, Any]) -> None:
    """The hyperparameters nas finds in `hypermodel` (search_spaces/hypermodel.py: discover, as a search finds
    them), in keras-tuner's own terms. With tune_new_entries=False, those of `hyperparameters` alone: the others
    keep their defaults, and Keras Tuner leaves them out of its space."""
    from search_spaces.hypermodel import HyperModelError, discover

    build = hypermodel.build if is_hypermodel(hypermodel) else hypermodel
    name = getattr(hypermodel, "name", None) or getattr(hypermodel, "__name__", None) or type(hypermodel).__name__
    try:
        declared = list(discover(name, build).values())
    except HyperModelError as error:
        raise SpaceError(str(error)) from None
    given = overrides.get("hyperparameters")
    if not overrides.get("tune_new_entries", True) and given is not None:
        kept = {declared_hp.name for declared_hp in given.space}
        declared = [declared_hp for declared_hp in declared if declared_hp.name in kept]
    print("Search space summary")
    print(f"Default search space size: {len(declared)}")
    for declared_hp in declared:
        config = declared_hp.get_config()
        hp_name = config.pop("name")
        print(f"{hp_name} ({declared_hp.__class__.__name__})")
        print(config)
