"""`SearchConfig`: every setting of a search, validated once and stored with the run so that `resume` can rebuild it.

It is the one source of truth for settings: each field says its group, its help text, how a value is read (the
same check for a Python keyword and for a command-line flag), and whether a resume may change it. `nas.search`
takes the fields as keywords, and `python -m nas.search` makes one flag per field (`time_budget` is
`--time-budget`), grouped as below.
"""
from __future__ import annotations

import dataclasses
import enum
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nas.data.task_data import Task
from nas.errors import SettingError
from nas.estimator.objectives import ACCURACY_OBJECTIVES, Direction, MnasConstraint, Objective
from nas.estimator.recipe import Augment, Optimizer, Recipe, Schedule
from nas.settings import checks
from nas.settings.checks import values


class Scheduler(str, enum.Enum):
    """How Ray Tune schedules a search's trials: in order, or with ASHA stopping the unpromising early."""

    FIFO = "fifo"
    ASHA = "asha"


GROUPS = {"what": "what to search", "budget": "budget", "recipe": "training recipe",
          "objective": "objective and limits", "resources": "resources", "results": "results"}

# Defaults sized so the default search finishes in about 5 minutes on 2 CPU cores (README, "Figures").
DEFAULT_TRIALS = 10
DEFAULT_EPOCHS = 2
DEFAULT_TRAIN_SUBSET = 5000
DEFAULT_FINAL_EPOCHS = 2
# With a time budget, the budget covers the whole search: the final training keeps this share of it, and trains as
# many epochs as fit there, up to MAX_FITTED_FINAL_EPOCHS (or final_epochs).
DEFAULT_FINAL_SHARE = 0.4
MAX_FITTED_FINAL_EPOCHS = 30
# Adam's step and batch, for trials and final training. Against 1e-3 on batches of 128, 3e-3 on batches of 32 takes
# 4x the steps for about the same time per trial, ranks small networks about as well and trains them further
# (benchmarks/trial_fidelity.py), and leaves a final training more accurate on validation: by 0.1% on MNIST and
# 2.4% on Fashion-MNIST (benchmarks/recipe_ablation.py; README, "Beating the lecture's CNN in 30 minutes").
DEFAULT_LEARNING_RATE = 3e-3
DEFAULT_BATCH_SIZE = 32
DEFAULT_TOP_K = 1
# With weight sharing, architectures judged when no trials or time budget are given.
DEFAULT_JUDGED_CHILDREN = 1000
# With weight sharing, the best judged trained alone before the final training picks among them
# (nas/weight_sharing/shortlist.py).
DEFAULT_SHORTLIST = 10
DEFAULT_TRIAL_RETRIES = 2
# With weight sharing, a supernet's state (67 MB on MNIST: 8.8 million shared weights and their momentum) is kept as
# a Ray checkpoint at the end of a round at most this often, and after its last round; a resume judges again the
# children judged since.
DEFAULT_SUPERNET_CHECKPOINT_EVERY_S = 30.0
# ASHA keeps the best 1/F of the trials at each rung, whose epochs grow F-fold (Li et al. 2020 use 3, as Ray does).
DEFAULT_REDUCTION_FACTOR = 3
DEFAULT_RESOURCE_WAIT_S = 600.0
DEFAULT_OUTPUT = "nas-runs"


def _setting(default: Any = None, *, group: str, help: str, check: Callable[[Any], Any] | None = None,
             metavar: str | None = None, resumable: bool = False, repeatable: bool = False,
             choices: list[str] | None = None, factory: Callable[[], Any] | None = None, switch: bool = False) -> Any:
    """A field of SearchConfig with what the command line and `resume` need to know about it (`switch`: a flag
    without a value, that turns the setting on)."""
    metadata = {"group": group, "help": help, "check": check, "metavar": metavar, "resumable": resumable,
                "repeatable": repeatable, "choices": choices, "switch": switch}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _strategy_names() -> list[str]:
    from strategies import STRATEGIES  # imports no TensorFlow

    return sorted(STRATEGIES)


def _dataset_names() -> list[str]:
    from nas.data.datasets import DATASETS

    return list(DATASETS)


@dataclass(frozen=True)
class SearchConfig:
    # What to search
    space: str = _setting("cnn", group="what", metavar="SPACE", check=checks.space_reference,
                          help="mlp, cnn, or your own: package.module:attribute naming a SearchSpace, a keras-tuner "
                               "build(hp) function or HyperModel (default: cnn)")
    strategy: str = _setting("random", group="what", check=checks.text, choices=_strategy_names(),
                             help="default: random")
    strategy_options: dict = _setting(group="what", factory=dict, check=checks.options, metavar="NAME=VALUE",
                                      repeatable=True,
                                      help="a strategy's own setting, e.g. population_size=50 for evolution "
                                           "(on the command line one per flag, repeated; in Python a dict)")
    dataset: str | None = _setting(group="what", check=checks.optional(checks.text), choices=_dataset_names(),
                                   help="a bundled or known data set (default: mnist, bundled)")
    data: str | None = _setting(group="what", metavar="PATH.npz|module:attribute", check=checks.optional(checks.text),
                                help="your data: a .npz (x_train, y_train; x_validation, y_validation, x_test, y_test "
                                     "optional), or a function that returns the data, called in each worker")
    task: Task = _setting(Task.AUTO, group="what", check=checks.member_of(Task), choices=values(Task),
                          help="classification (integer or one-hot labels), regression (float targets), or auto "
                               "(default): decided by the labels")
    weight_sharing: bool = _setting(False, group="what", check=checks.boolean, switch=True,
                                    help="judge architectures with the shared weights of one supernet instead of "
                                         "training each (ENAS): thousands in the time of tens; trials counts "
                                         f"architectures judged (default: {DEFAULT_JUDGED_CHILDREN:,}). The cnn "
                                         "space only; the best judged are trained alone (shortlist), and the "
                                         "best of those retrained at the end")
    num_classes: int | None = _setting(group="what", check=checks.optional(checks.integer(2)), metavar="K",
                                       help="classes of a classification (default: the largest training label + 1)")
    # Budget
    trials: int | None = _setting(DEFAULT_TRIALS, group="budget", check=checks.optional(checks.integer(1)),
                                  metavar="N", resumable=True,
                                  help=f"trials to run (default: {DEFAULT_TRIALS}; with time_budget alone, no limit)")
    time_budget: float | None = _setting(group="budget", check=checks.optional(checks.duration), metavar="DURATION",
                                         resumable=True, help="wall-clock limit of the whole search, trials and "
                                                              "final training: seconds, or 90s, 30m, 1h30m")
    epochs: int = _setting(DEFAULT_EPOCHS, group="budget", check=checks.integer(1), metavar="E",
                           help=f"epochs per trial (default: {DEFAULT_EPOCHS})")
    executions_per_trial: int = _setting(1, group="budget", check=checks.integer(1), metavar="N",
                                         help="trainings of each trial from fresh weights, their figures averaged "
                                              "(Keras Tuner's executions_per_trial; default: 1)")
    train_subset: int | None = _setting(DEFAULT_TRAIN_SUBSET, group="budget", check=checks.optional(checks.integer(1)),
                                        metavar="N", help="train trials on N examples (default: "
                                                          f"{DEFAULT_TRAIN_SUBSET}; validation stays whole)")
    final_epochs: int | None = _setting(DEFAULT_FINAL_EPOCHS, group="budget", metavar="E", resumable=True,
                                        check=checks.optional(checks.integer(1)),
                                        help=f"epochs of the final training (default: {DEFAULT_FINAL_EPOCHS}; with "
                                             f"time_budget, as many as fit in its final share, up to "
                                             f"{MAX_FITTED_FINAL_EPOCHS})")
    final_share: float = _setting(DEFAULT_FINAL_SHARE, group="budget", check=checks.fraction, metavar="F",
                                  resumable=True, help="share of time_budget kept for the final training "
                                                       f"(default: {DEFAULT_FINAL_SHARE})")
    top_k: int = _setting(DEFAULT_TOP_K, group="budget", check=checks.integer(0), metavar="K", resumable=True,
                          help="architectures retrained, saved and tested at the end; 0 skips it "
                               f"(default: {DEFAULT_TOP_K})")
    shortlist: int = _setting(DEFAULT_SHORTLIST, group="budget", check=checks.integer(0), metavar="N",
                              resumable=True,
                              help="with weight_sharing: the N best judged are trained alone with the trial recipe, "
                                   "and the final training retrains the top_k of those; 0 retrains the best judged "
                                   f"directly (default: {DEFAULT_SHORTLIST})")
    max_consecutive_failed_trials: int | None = _setting(
        group="budget", check=checks.optional(checks.integer(1)), metavar="N", resumable=True,
        help="launch no more trials once N trials in a row have failed, whatever the reason; the trials in flight "
             "finish and the search goes on to its final training (default: never; keras-tuner stops at 3)")
    # Training recipe
    optimizer: Any = _setting(Optimizer.ADAM, group="recipe", check=checks.optimizer, choices=values(Optimizer),
                              metavar="NAME", help="a Keras optimizer: " + ", ".join(o.value for o in Optimizer)
                                                   + " (default: adam; Python also takes an optimizer object)")
    learning_rate: float = _setting(DEFAULT_LEARNING_RATE, group="recipe", check=checks.positive_number,
                                    metavar="LR", help=f"for trials and final training (default: "
                                                       f"{DEFAULT_LEARNING_RATE:g}; a space's learning_rate wins)")
    batch_size: int = _setting(DEFAULT_BATCH_SIZE, group="recipe", check=checks.integer(1), metavar="N",
                               help=f"default: {DEFAULT_BATCH_SIZE}; a space's batch_size wins")
    weight_decay: float | None = _setting(group="recipe", check=checks.optional(checks.non_negative_number),
                                          metavar="W", help="the optimizer's weight decay (default: none; a space's "
                                                            "weight_decay wins)")
    lr_schedule: Schedule = _setting(Schedule.COSINE, group="recipe", check=checks.member_of(Schedule), choices=values(Schedule),
                                     help="cosine (falls to 0 along a half cosine, default) or constant")
    augment: Augment = _setting(Augment.SHIFT, group="recipe", check=checks.member_of(Augment), choices=values(Augment), resumable=True,
                                help="final training of image data: shift (random shifts of up to 2 pixels in 28, "
                                     "default) or none")
    loss: Any = _setting(group="recipe", check=checks.optional(checks.keras_object), metavar="NAME",
                         help="a Keras loss (default: cross-entropy for a classification, mse for a regression)")
    metrics: tuple = _setting(group="recipe", factory=tuple, check=checks.keras_objects, metavar="NAME",
                              repeatable=True, help="Keras metrics to report besides the loss (accuracy for a "
                                                    "classification and mae for a regression always are; on the "
                                                    "command line one per flag, repeated)")
    train_fn: str | None = _setting(group="recipe", check=checks.optional(checks.reference), metavar="module:attribute",
                                    help="your training loop, train_fn(model, data, report), instead of Keras' fit")
    # Objective and limits
    objective: str | None = _setting(group="objective", check=checks.optional(checks.text), metavar="NAME",
                                     help="accuracy; mnas (accuracy traded against latency, needs latency_target); "
                                          "pareto (accuracy, latency and params together); or any validation metric "
                                          "the training reports, e.g. val_loss (default: accuracy for a "
                                          "classification, val_loss for a regression)")
    direction: Direction | None = _setting(group="objective", check=checks.optional(checks.member_of(Direction)), choices=values(Direction),
                                           help="max or min, for an objective metric nas cannot tell by its name")
    latency_target: float | None = _setting(group="objective", check=checks.optional(checks.positive_number),
                                            metavar="MS", help="T of the mnas reward ACC * (LAT/T)^w, in batch-1 ms")
    mnas_constraint: MnasConstraint = _setting(MnasConstraint.SOFT, group="objective",
                                               check=checks.member_of(MnasConstraint), choices=values(MnasConstraint),
                                               help="soft (w = -0.07, default) or hard (w = 0 below T, -1 above)")
    max_params: int | None = _setting(group="objective", check=checks.optional(checks.integer(1)), metavar="N",
                                      help="never train a model of more than N parameters")
    max_latency: float | None = _setting(group="objective", check=checks.optional(checks.positive_number),
                                         metavar="MS", help="never train a model slower than MS ms at batch 1")
    # Resources
    cpus_per_trial: float = _setting(1.0, group="resources", check=checks.cpus_per_trial, metavar="C",
                                     resumable=True, help="default: 1")
    gpus_per_trial: float = _setting(0.0, group="resources", check=checks.non_negative_number, metavar="G",
                                     resumable=True, help="default: 0; a fraction lets trials share a GPU")
    concurrency: int | None = _setting(group="resources", check=checks.optional(checks.integer(1)), metavar="K",
                                       resumable=True,
                                       help="trials at once, and reproducible proposals (default: as many as "
                                            "resources allow)")
    max_memory: int | None = _setting(group="resources", check=checks.optional(checks.memory_size), metavar="SIZE",
                                      resumable=True,
                                      help="memory per trial, e.g. 4GB: a proposal estimated above it is not "
                                           "trained, and a trial that grows past it is stopped (default: the "
                                           "memory available when the search starts, shared by the trials that "
                                           "run at once)")
    scheduler: Scheduler = _setting(Scheduler.FIFO, group="resources", check=checks.member_of(Scheduler), choices=values(Scheduler),
                                    help="fifo, or asha to stop trailing trials early (default: fifo)")
    reduction_factor: int = _setting(DEFAULT_REDUCTION_FACTOR, group="resources", check=checks.integer(2),
                                     metavar="F", help="with scheduler asha: the best 1/F of the trials at each "
                                                       "rung go on, for F times the epochs (default: "
                                                       f"{DEFAULT_REDUCTION_FACTOR})")
    trial_retries: int = _setting(DEFAULT_TRIAL_RETRIES, group="resources", check=checks.integer(0), metavar="R",
                                  resumable=True, help="times Ray starts a trial again after its worker or node "
                                                       f"died (default: {DEFAULT_TRIAL_RETRIES})")
    address: str | None = _setting(group="resources", check=checks.optional(checks.text), resumable=True,
                                   help="join this Ray cluster (host:port of its head, or auto) instead of starting "
                                        "a local Ray; RAY_ADDRESS works too")
    resource_wait: float = _setting(DEFAULT_RESOURCE_WAIT_S, group="resources", check=checks.duration,
                                    metavar="DURATION", resumable=True,
                                    help="on a joined cluster, how long the autoscaler gets to add a node a trial "
                                         "fits on (default: 10m)")
    # Results
    output: str = _setting(DEFAULT_OUTPUT, group="results", check=checks.text, metavar="DIR", resumable=True,
                           help=f"folder for the store, models, Ray's files and reports (default: ./{DEFAULT_OUTPUT})")
    tensorboard: str | None = _setting(group="results", check=checks.optional(checks.text), metavar="DIR",
                                       resumable=True,
                                       help="also write the run for TensorBoard under DIR/RUN: each trial's per-epoch "
                                            "curves and the HParams view (tensorboard --logdir DIR)")
    keep_checkpoints: bool = _setting(False, group="results", check=checks.boolean, switch=True, resumable=True,
                                      help="keep Ray's trial checkpoints (OUTPUT/ray_results/RUN) once the run is "
                                           "complete; they are removed then by default, and an interrupted run "
                                           "always keeps them for --resume")
    checkpoint_every: float = _setting(DEFAULT_SUPERNET_CHECKPOINT_EVERY_S, group="results", check=checks.duration,
                                       metavar="DURATION", resumable=True,
                                       help="with weight sharing: how often, at most, a supernet keeps its state (67 "
                                            "MB on MNIST) as a Ray checkpoint; a resumed search judges again the "
                                            "children judged since (default: 30s)")
    seed: int = _setting(0, group="results", check=checks.integer(0), help="default: 0")

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check = field.metadata["check"]
            try:
                value = check(getattr(self, field.name)) if check else getattr(self, field.name)
            except ValueError as error:
                raise SettingError(field.name, str(error)) from None
            choices = field.metadata["choices"]
            if choices and isinstance(value, str) and value not in choices:
                raise SettingError(field.name, f"expected one of {', '.join(choices)}, received {value!r}")
            object.__setattr__(self, field.name, value)
        _expect("final_epochs", self.final_epochs is not None or self.time_budget is not None,
                "expected a number of final epochs or a time budget they fit in, received neither")
        _expect("trials", self.trials is not None or self.time_budget is not None,
                "expected a number of trials or a time budget (or both), received neither")
        _expect("dataset", not (self.dataset and self.data), "expected dataset or data, received both")
        taken = sorted({"name", "space", "seed"} & set(self.strategy_options))
        _expect("strategy_options", not taken, "expected strategy options other than name, space and seed (the "
                                               f"strategy, space and seed settings set them), received {taken}")
        self.objective_spec  # validates the objective and its limits

    @property
    def objective_spec(self) -> Objective:
        """The objective these settings name. Until the data has said what the task is (task auto), it is read as
        a classification's; `for_task` then settles both."""
        task = Task.CLASSIFICATION if self.task == Task.AUTO else self.task
        return Objective.from_settings(self.objective, self.direction, task, self.latency_target,
                                       self.mnas_constraint, self.max_params, self.max_latency)

    def for_task(self, task: Task) -> SearchConfig:
        """These settings for data of `task`, with the objective and its direction spelled out (as stored)."""
        settled = self.replace(task=task)
        objective = settled.objective_spec
        return settled.replace(objective=objective.name, direction=objective.direction)

    def recipe(self, final: bool) -> Recipe:
        """How trials train (final=False: few epochs on the training subset) or how the top-k are retrained (the
        recipe's epochs are a ceiling under a time budget without final_epochs: the training fits them to it)."""
        epochs = (self.final_epochs or MAX_FITTED_FINAL_EPOCHS) if final else self.epochs
        return Recipe(optimizer=self.optimizer, learning_rate=self.learning_rate, batch_size=self.batch_size,
                      epochs=epochs, weight_decay=self.weight_decay, schedule=self.lr_schedule,
                      augment=self.augment if final else Augment.NONE, loss=self.loss, metrics=tuple(self.metrics))

    def search_budget_s(self, elapsed_s: float) -> float | None:
        """The trials' share of the time budget, `elapsed_s` of which went to setting up the search."""
        if self.time_budget is None:
            return None
        share = 1.0 if self.top_k == 0 else 1.0 - self.final_share
        return max(1.0, self.time_budget * share - elapsed_s)

    @property
    def output_path(self) -> Path:
        return Path(self.output).expanduser().resolve()

    def to_dict(self) -> dict[str, Any]:
        return {field.name: _plain(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchConfig:
        """A stored config; one stored by an older nas is read with the names and defaults it meant."""
        values = {_RENAMED.get(name, name): value for name, value in values.items()}
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**_BEFORE_SETTINGS_EXISTED, **{name: value for name, value in values.items() if name in known}})

    def replace(self, **changes: Any) -> SearchConfig:
        return dataclasses.replace(self, **changes)


def fields_by_group() -> dict[str, list[dataclasses.Field]]:
    groups: dict[str, list[dataclasses.Field]] = {group: [] for group in GROUPS}
    for field in dataclasses.fields(SearchConfig):
        groups[field.metadata["group"]].append(field)
    return groups


def resumable_settings() -> set[str]:
    return {field.name for field in dataclasses.fields(SearchConfig) if field.metadata["resumable"]}


# Settings added after runs were already stored, with the value that reproduces those runs.
_BEFORE_SETTINGS_EXISTED = {"lr_schedule": "constant", "augment": "none"}
# Settings stored under other names by nas before schema version 5.
_RENAMED = {"time_budget_s": "time_budget", "latency_target_ms": "latency_target", "max_latency_ms": "max_latency",
            "resource_wait_s": "resource_wait", "data_path": "data"}


def _plain(value: Any) -> Any:
    """JSON-ready: enums as their strings, tuples as lists."""
    if hasattr(value, "value") and isinstance(value, str):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _expect(setting: str, condition: bool, message: str) -> None:
    if not condition:
        raise SettingError(setting, message)


def storage_url(storage: str | None, output: str | os.PathLike) -> str:
    """The store's SQLAlchemy URL: `storage` when given, else the SQLite file under the output folder."""
    if storage:
        return storage
    return "sqlite:///" + str((Path(output).expanduser() / "nas.db").resolve())


def check_weight_sharing(config, space) -> None:
    """Refuse, with one line, a weight-sharing search of something a supernet cannot share weights for."""
    from search_spaces.cnn import CNN_SPACE

    if space.name != CNN_SPACE.name or space.builder is not CNN_SPACE.builder \
            or space.to_dict() != CNN_SPACE.to_dict():
        raise SettingError("weight_sharing", f"shares weights among the built-in cnn space's architectures only; "
                                             f"received space {space.name!r}. Expected space cnn, or a search "
                                             "without weight sharing")
    if config.train_fn is not None:
        raise SettingError("weight_sharing", "trains a supernet its own way, so it takes no train_fn; expected "
                                             "one or the other")
    if config.scheduler != Scheduler.FIFO:
        raise SettingError("weight_sharing", "judges architectures without training them, so a scheduler has "
                                             "nothing to stop; expected scheduler fifo")
    if config.objective is not None and config.objective not in ACCURACY_OBJECTIVES:
        raise SettingError("weight_sharing", f"judges architectures by validation accuracy; expected objective "
                                             f"{', '.join(ACCURACY_OBJECTIVES)}, received {config.objective!r}")
