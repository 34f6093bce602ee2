"""`SearchConfig`: everything one search needs, validated once, stored with the run so `--resume` can reuse it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nas.estimator import AUGMENTATIONS, SCHEDULES, TrainingRecipe
from nas.objectives import Objective

SCHEDULERS = ("fifo", "asha")

# Defaults sized so the default search finishes in about 5 minutes on 2 CPU cores (README, "Figures").
DEFAULT_TRIALS = 10
DEFAULT_EPOCHS = 2
DEFAULT_TRAIN_SUBSET = 5000
DEFAULT_FINAL_EPOCHS = 2
# With --time-budget, the budget covers the whole command: the final training keeps this share of it, and trains as
# many epochs as fit there, up to MAX_FITTED_FINAL_EPOCHS (or --final-epochs).
DEFAULT_FINAL_SHARE = 0.4
MAX_FITTED_FINAL_EPOCHS = 30
# Adam's step and batch, for trials and final training. Against 1e-3 on batches of 128, 3e-3 on batches of 32 takes
# 4x the steps for about the same time per trial, ranks small networks about as well and trains them further
# (benchmarks/trial_fidelity.py), and leaves a final training more accurate on validation: by 0.1% on MNIST and
# 2.4% on Fashion-MNIST (benchmarks/recipe_ablation.py; README, "Beating the lecture's CNN in 30 minutes").
DEFAULT_LEARNING_RATE = 3e-3
DEFAULT_BATCH_SIZE = 32
DEFAULT_TOP_K = 1
DEFAULT_TRIAL_RETRIES = 2
DEFAULT_RESOURCE_WAIT_S = 600.0
VALIDATION_FRACTION = 0.1  # of the training set, stratified; 6,000 images of MNIST


@dataclass(frozen=True)
class SearchConfig:
    space: str = "cnn"
    strategy: str = "random"
    strategy_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # get_strategy checks them
    dataset: str = "mnist"
    data_path: str | None = None
    trials: int | None = DEFAULT_TRIALS  # None: until the time budget ends (or the strategy runs out of ideas)
    time_budget_s: float | None = None  # wall-clock limit of the whole search: trials and final training
    epochs: int = DEFAULT_EPOCHS
    train_subset: int | None = DEFAULT_TRAIN_SUBSET  # None: the whole training split
    final_epochs: int | None = DEFAULT_FINAL_EPOCHS  # None: as many as fit in the final share of the time budget
    final_share: float = DEFAULT_FINAL_SHARE  # of time_budget_s, kept for the final training
    top_k: int = DEFAULT_TOP_K
    objective: str = "accuracy"  # nas/objectives.py: accuracy, mnas or pareto
    latency_target_ms: float | None = None
    mnas_constraint: str = "soft"
    max_params: int | None = None  # hard limits: a model over one is never trained
    max_latency_ms: float | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    concurrency: int | None = None  # None: as many trials as the cluster's resources allow
    scheduler: str = "fifo"
    trial_retries: int = DEFAULT_TRIAL_RETRIES  # times Ray starts a trial again after its worker or node died
    address: str | None = None
    resource_wait_s: float = DEFAULT_RESOURCE_WAIT_S  # on a joined cluster: how long the autoscaler gets to grow
    output: str = "nas-runs"
    seed: int = 0
    optimizer: str = "adam"
    learning_rate: float = DEFAULT_LEARNING_RATE  # of trials and of the final training
    batch_size: int = DEFAULT_BATCH_SIZE
    lr_schedule: str = "cosine"  # of trials and of the final training
    augment: str = "shift"  # of the final training only: trials are too short to gain from it

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            _expect(getattr(self, name) >= 1, f"Expected {name} >= 1. Received: {getattr(self, name)}")
        _expect(self.final_epochs is None or self.final_epochs >= 1,
                f"Expected final_epochs >= 1. Received: {self.final_epochs}")
        _expect(self.final_epochs is not None or self.time_budget_s is not None,
                "Expected a number of final epochs or a time budget they fit in. Received: neither")
        _expect(0 < self.final_share < 1, f"Expected final_share between 0 and 1. Received: {self.final_share}")
        _expect(self.lr_schedule in SCHEDULES, f"Expected lr_schedule in {SCHEDULES}. Received: {self.lr_schedule!r}")
        _expect(self.augment in AUGMENTATIONS, f"Expected augment in {AUGMENTATIONS}. Received: {self.augment!r}")
        _expect(self.trials is None or self.trials >= 1, f"Expected trials >= 1. Received: {self.trials}")
        _expect(self.trials is not None or self.time_budget_s is not None,
                "Expected a number of trials or a time budget (or both). Received: neither")
        _expect(self.top_k >= 0, f"Expected top_k >= 0. Received: {self.top_k}")
        _expect(self.resource_wait_s >= 0, f"Expected resource_wait_s >= 0. Received: {self.resource_wait_s}")
        _expect(self.trial_retries >= 0, f"Expected trial_retries >= 0. Received: {self.trial_retries}")
        _expect(self.train_subset is None or self.train_subset >= 1,
                f"Expected train_subset >= 1. Received: {self.train_subset}")
        _expect(self.time_budget_s is None or self.time_budget_s > 0,
                f"Expected time_budget_s > 0. Received: {self.time_budget_s}")
        _expect(self.cpus_per_trial > 0, f"Expected cpus_per_trial > 0. Received: {self.cpus_per_trial}")
        _expect(self.gpus_per_trial >= 0, f"Expected gpus_per_trial >= 0. Received: {self.gpus_per_trial}")
        _expect(self.concurrency is None or self.concurrency >= 1,
                f"Expected concurrency >= 1. Received: {self.concurrency}")
        _expect(self.scheduler in SCHEDULERS, f"Expected scheduler in {SCHEDULERS}. Received: {self.scheduler!r}")
        self.objective_spec  # validates the objective and its limits
        taken = sorted({"name", "space", "seed"} & set(self.strategy_options))
        _expect(not taken, "Expected strategy options other than name, space and seed (--strategy, --space and "
                           f"--seed set them). Received: {', '.join(taken)}")
        self.trial_recipe  # validates optimizer and learning rate

    @property
    def objective_spec(self) -> Objective:
        return Objective(self.objective, self.latency_target_ms, self.mnas_constraint, self.max_params,
                         self.max_latency_ms)

    @property
    def trial_recipe(self) -> TrainingRecipe:
        """How each search trial trains (cheap: few epochs on the training subset)."""
        return TrainingRecipe(self.optimizer, self.learning_rate, self.batch_size, self.epochs,
                              schedule=self.lr_schedule)

    @property
    def final_recipe(self) -> TrainingRecipe:
        """How the top-k architectures are retrained on the full training set before the test. Without
        --final-epochs under a time budget, the recipe's epochs are a ceiling: the training fits them to the time."""
        return dataclasses.replace(self.trial_recipe, epochs=self.final_epochs or MAX_FITTED_FINAL_EPOCHS,
                                   augment=self.augment)

    def search_budget_s(self, elapsed_s: float) -> float | None:
        """The trials' share of the time budget, `elapsed_s` of which went to setting up the search."""
        if self.time_budget_s is None:
            return None
        share = 1.0 if self.top_k == 0 else 1.0 - self.final_share
        return max(1.0, self.time_budget_s * share - elapsed_s)

    @property
    def output_path(self) -> Path:
        return Path(self.output).resolve()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SearchConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        # A run stored before a setting existed keeps training as it did then.
        return cls(**{**_BEFORE_SETTINGS_EXISTED, **{name: value for name, value in values.items() if name in known}})


# Settings added after runs were already stored, with the value that reproduces those runs.
_BEFORE_SETTINGS_EXISTED = {"lr_schedule": "constant", "augment": "none"}


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)
