"""The Ray Tune side of a search: the only module that imports Ray.

Ray Tune does the scheduling: a `tune.Tuner` runs the trials, asks our strategy for architectures through
`StrategySearcher` (Ray's `Searcher` interface, in the shape of Ray's own OptunaSearch adapter), limits how many
run at once with Ray's `ConcurrencyLimiter`, and tells `TrialRecorder` (a Tune `Callback`) as trials start and
end, which writes them to the store from the driver. The data reaches the workers once through Ray's object
store (`tune.with_parameters`, `ray.put`).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Protocol

from nas import cluster
from nas.cli_common import UsageError
from nas.config import SearchConfig
from nas.objectives import OVER_LIMIT_REWARD, Objective
from nas.trial import FinalEvaluation, TrialSettings, run_final_training, run_search_trial
from results import ResultStore, TrialRecord, TrialStatus
from strategies import Strategy, Trial

# Set before Ray Tune is imported. A failed trial reports an error instead of the metric; Tune would
# otherwise refuse that result.
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
# Tune's newer console output ignores RunConfig(verbose=0); the classic one honours it, and we draw our own.
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
# Tune's own Ctrl+C handler ends fit() as if the search were done; without it, Ctrl+C raises KeyboardInterrupt and
# the search stops as interrupted (completed trials are already stored; --resume continues).
os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")
import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.search import ConcurrencyLimiter, Searcher  # noqa: E402

logger = logging.getLogger(__name__)

# What the strategy, Tune's searcher and the ASHA scheduler maximise: the objective's reward (nas/objectives.py),
# which is validation accuracy unless --objective says otherwise.
METRIC = "reward"
# Ray keeps unix sockets under its temp folder; their paths must stay under the OS limit of 107 bytes.
_LONGEST_RAY_TEMP_DIR = 50


class SearchObserver(Protocol):
    """What the runner tells whoever displays progress (the CLI's progress bar, or nothing)."""

    def trial_started(self, record: TrialRecord) -> None: ...

    def trial_finished(self, record: TrialRecord) -> None: ...


class StrategySearcher(Searcher):
    """Ray `Searcher` over our ask/tell `Strategy`: suggest = ask, on_trial_complete = tell."""

    def __init__(self, strategy: Strategy):
        super().__init__(metric=METRIC, mode="max")
        self.strategy = strategy
        self._trials: dict[str, Trial] = {}  # Ray's trial id -> our trial

    def suggest(self, trial_id: str) -> dict | str | None:
        trial = self.strategy.ask()
        if trial is None:
            return Searcher.FINISHED
        self._trials[trial_id] = trial
        return {"trial": trial.id, "arch": trial.arch.to_dict()}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        trial = self._trials.pop(trial_id, None)
        if trial is None:
            return
        reward = None if error or not result or "error" in result else result.get(METRIC)
        objectives = None
        if reward is not None and self.strategy.multi_objective:
            objectives = Objective.values(result["validation_accuracy"], result["latency_ms"], result["params"])
        elif not error and result and result.get("over_limit") and not self.strategy.multi_objective:
            reward = OVER_LIMIT_REWARD  # a model over --max-params/--max-latency: worthless to this search
        self.strategy.tell(trial, reward, objectives)

    def save(self, checkpoint_path: str) -> None:
        """Tune checkpoints its searcher with the experiment: the strategy's state and Ray's trial ids."""
        state = {"strategy": self.strategy.state_dict(),
                 "trials": {trial_id: trial.id for trial_id, trial in self._trials.items()}}
        Path(checkpoint_path).write_text(json.dumps(state))

    def restore(self, checkpoint_path: str) -> None:
        state = json.loads(Path(checkpoint_path).read_text())
        self.strategy.load_state_dict(state["strategy"])
        outstanding = {trial.id: trial for trial in self.strategy.outstanding}
        self._trials = {trial_id: outstanding[number] for trial_id, number in state["trials"].items()
                        if number in outstanding}


class TrialRecorder(tune.Callback):
    """Writes each trial to the store as it starts and ends (on the driver), and keeps the strategy's state.

    It also accounts for what each trial cost: the CPUs and GPUs of the placement group Ray reserved for it, times
    the wall time between Tune starting it and it ending, summed over its attempts (Tune starts a trial again
    after its worker died, up to `FailureConfig.max_failures` times).
    """

    def __init__(self, store: ResultStore, run: str, strategy: Strategy, observer: SearchObserver | None):
        self.store, self.run, self.strategy, self.observer = store, run, strategy, observer
        self.records: dict[int, TrialRecord] = {}
        self.last_results: dict[int, dict] = {}  # each trial's latest report, as Tune handed it to the driver
        self._usage: dict[int, _Usage] = {}

    def __getstate__(self) -> dict:
        # Tune pickles its callbacks with the experiment; a progress display belongs to one process.
        return {**self.__dict__, "observer": None}

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        number = trial.config["trial"]
        resources = trial.placement_group_factory.required_resources
        usage = self._usage.setdefault(number, _Usage(resources.get("CPU", 0.0), resources.get("GPU", 0.0)))
        usage.attempt_started()
        arch = self.strategy.space.validate(trial.config["arch"])
        record = TrialRecord(run=self.run, number=number, status=TrialStatus.RUNNING, arch_key=arch.key,
                             arch=arch.to_dict(), started_at=self.records[number].started_at
                             if usage.attempts > 1 and number in self.records else _now(), attempts=usage.attempts)
        self._save(record)
        # The strategy's state, with this trial outstanding: a driver killed now resumes by running it again.
        self.store.update_run(self.run, strategy_state=self.strategy.state_dict())
        if self.observer and usage.attempts == 1:
            self.observer.trial_started(record)

    def on_trial_recover(self, iteration, trials, trial, **info) -> None:
        """The trial's worker died and Tune will start it again: its time so far still counts."""
        usage = self._usage.get(trial.config["trial"])
        if usage is not None:
            usage.attempt_ended()
        logger.warning("Trial %s failed (%s); Ray retries it.", trial.config["trial"], _ray_error(trial))

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        self.last_results[trial.config["trial"]] = result

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._finish(trial.config["trial"], trial.last_result or {}, error=None)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        number = trial.config["trial"]
        if number not in self.records:  # it failed before it could start, e.g. its worker could not import nas
            self.on_trial_start(iteration, trials, trial)
        self._finish(number, trial.last_result or {}, error=_ray_error(trial))

    def _finish(self, number: int, result: dict, error: str | None) -> None:
        started = self.records.get(number)
        if started is None or started.status is not TrialStatus.RUNNING:
            return  # never started (cut by the time budget while pending), or already recorded
        usage = self._usage[number]
        usage.attempt_ended()
        record = finished_record(started, result, error)
        self._save(dataclasses.replace(record, cpu_seconds=usage.cpus * usage.seconds,
                                       gpu_seconds=usage.gpus * usage.seconds))
        self.store.update_run(self.run, strategy_state=self.strategy.state_dict())
        if self.observer:
            self.observer.trial_finished(self.records[number])

    def finish_unrecorded(self, result) -> None:
        """Record a trial the time budget cut (Tune calls no callback for it) as stopped, from its last result."""
        number = (result.config or {}).get("trial")
        self._finish(number, self.last_results.get(number) or result.metrics or {}, error=None)

    def _save(self, record: TrialRecord) -> None:
        self.records[record.number] = record
        self.store.save_trial(record)


@dataclasses.dataclass
class _Usage:
    """A trial's resources and the wall time it has held them, over its attempts."""

    cpus: float
    gpus: float
    attempts: int = 0
    seconds: float = 0.0
    _since: float | None = None

    def attempt_started(self) -> None:
        self.attempts += 1
        self._since = time.monotonic()

    def attempt_ended(self) -> None:
        if self._since is not None:
            self.seconds += time.monotonic() - self._since
            self._since = None


def finished_record(started: TrialRecord, result: dict, error: str | None) -> TrialRecord:
    """The trial's final row from its last reported result."""
    error = error or result.get("error")
    epochs = result.get("epoch")
    if error:
        status = TrialStatus.FAILED
    elif epochs is not None and epochs >= result.get("epochs_planned", epochs):
        status = TrialStatus.COMPLETED
    else:  # stopped before its last epoch: by a scheduler or by the time budget
        status = TrialStatus.STOPPED
    return dataclasses.replace(
        started, status=status, error=error, validation_accuracy=result.get("validation_accuracy"),
        params=result.get("params"),
        flops=result.get("flops"), latency_ms=result.get("latency_ms"), train_seconds=result.get("train_seconds"),
        latency_device=result.get("latency_device"), latency_threads=result.get("latency_threads"),
        latency_batch_size=result.get("latency_batch_size"), latency_batch_ms=result.get("latency_batch_ms"),
        epochs=epochs, node=result.get("node"), host=result.get("host"), finished_at=_now())


class _DropTokenNotice(logging.Filter):
    """Ray 2.60 warns on every local start that token authentication is on; for a Ray we start, that is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Token authentication is enabled" not in record.getMessage()


def start_ray(config: SearchConfig) -> bool:
    """Join `--address` or start a local Ray for this run; returns whether we started it (and must stop it)."""
    if ray.is_initialized():
        return False
    logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_DropTokenNotice())
    # Tune's warnings (e.g. about trials the time budget cut before they wrote results) are about its own
    # bookkeeping; ours say what happened to each trial.
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    quiet = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    if config.address:
        # While Ray connects, its C++ client logs a line a second to the process's stderr for as long as the
        # cluster refuses it; those lines are held back, and shown only if the join succeeds after all.
        with _stderr_held_back() as held_back:
            try:
                ray.init(address=config.address, runtime_env=_code_for_the_cluster(),
                         **{k: v for k, v in quiet.items() if k != "include_dashboard"})
            except ConnectionError as error:  # Ray's own, after about 20 s: no head there, or a token it refused
                reason = str(error).splitlines()[0].rstrip(".")
                refused = " (it refused this machine's token)" if "InvalidAuthToken" in held_back() else ""
                raise UsageError(f"Cannot join the Ray cluster at {config.address}{refused}: {reason}. Expected a "
                                 f"running cluster that accepts this machine; {cluster.HINT}") from None
        return True
    ray.init(_temp_dir=ray_temp_dir(config.output_path), **quiet)
    return True


@contextlib.contextmanager
def _stderr_held_back():
    """Send what is written to file descriptor 2 (C++ logs included) to a temporary file; yields a function that
    reads it. When the block ends without an error, the held-back text is written to stderr after all."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)

        def read() -> str:
            held.seek(0)
            return held.read().decode(errors="replace")

        try:
            yield read
        except BaseException:
            raise
        else:
            text = read()
            if text:
                os.write(saved, text.encode())
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _code_for_the_cluster() -> dict:
    """Ray's runtime environment ships this driver's nas packages to the cluster's workers (Ray's `py_modules`),
    so nodes need only TensorFlow and Ray installed, and always run the driver's version of nas. The bundled
    datasets stay behind: the data travels through the object store."""
    import nas
    import results
    import search_spaces
    import strategies

    return {"py_modules": [nas, search_spaces, strategies, results], "excludes": ["*.npz"]}


def check_resources(config: SearchConfig, joined: bool) -> None:
    """Make sure a trial fits on some node, or Tune would wait for one forever.

    A Ray we started cannot grow: a trial bigger than its largest node is refused at once. A cluster we joined may
    autoscale (a `ray up` cluster with `min_workers: 0` has no GPU until asked), so it is asked, through Ray's
    autoscaler SDK, for a node the trial fits on, and given `config.resource_wait_s` to add one.
    """
    trial = {"CPU": config.cpus_per_trial, "GPU": config.gpus_per_trial}
    if _fits_on_a_node(trial):
        return
    if joined and config.resource_wait_s > 0:
        from ray.autoscaler.sdk import request_resources

        request_resources(bundles=[{name: amount for name, amount in trial.items() if amount > 0}])
        logger.warning("No node of the Ray cluster has %s for a trial; waiting up to %ds for the autoscaler to add "
                       "one.", _describe(trial), config.resource_wait_s)
        deadline = time.monotonic() + config.resource_wait_s
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            if _fits_on_a_node(trial):
                return
    largest = _largest_nodes()
    waited = f" after waiting {config.resource_wait_s:g}s" if joined and config.resource_wait_s > 0 else ""
    raise UsageError(f"No node of this Ray cluster has {_describe(trial)} for a trial{waited} (the largest have "
                     f"{largest}). Expected --cpus-per-trial and --gpus-per-trial that fit one node; ask for less, "
                     "or join a bigger cluster with --address")


def _alive_nodes() -> list[dict[str, float]]:
    return [node["Resources"] for node in ray.nodes() if node["Alive"]]


def _fits_on_a_node(trial: dict[str, float]) -> bool:
    return any(all(node.get(name, 0.0) >= amount for name, amount in trial.items()) for node in _alive_nodes())


def _largest_nodes() -> str:
    nodes = _alive_nodes()
    return _describe({name: max((node.get(name, 0.0) for node in nodes), default=0.0) for name in ("CPU", "GPU")})


def _describe(resources: dict[str, float]) -> str:
    return " and ".join(f"{amount:g} {name}{'s' if amount != 1 else ''}" for name, amount in resources.items())


def ray_temp_dir(output: Path) -> str:
    """Ray's session files go under the output folder, unless that path is too long for Ray's unix sockets."""
    preferred = output / "ray-tmp"
    if len(str(preferred)) <= _LONGEST_RAY_TEMP_DIR:
        preferred.mkdir(parents=True, exist_ok=True)
        return str(preferred)
    logger.info("Output path too long for Ray's sockets; Ray's session files go to the system temp folder.")
    return tempfile.mkdtemp(prefix="nas-ray-")


def run_trials(config: SearchConfig, run: str, strategy: Strategy, search_data, store: ResultStore,
               observer: SearchObserver | None, trials: int | None,
               time_budget_s: float | None = None) -> dict[int, TrialRecord]:
    """Run up to `trials` search trials through Ray Tune, for at most `time_budget_s` seconds (None: no limit);
    returns their records."""
    settings = TrialSettings(strategy.space, config.trial_recipe, _threads(config), config.seed,
                             config.objective_spec)
    trainable = tune.with_resources(
        tune.with_parameters(run_search_trial, data=search_data, settings=settings),
        {"cpu": config.cpus_per_trial, "gpu": config.gpus_per_trial})
    searcher: Searcher = StrategySearcher(strategy)
    if config.concurrency:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=config.concurrency)
    recorder = TrialRecorder(store, run, strategy, observer)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=_scheduler(config),
                                    num_samples=-1 if trials is None else trials,
                                    time_budget_s=time_budget_s, reuse_actors=True),
        run_config=tune.RunConfig(name=run, storage_path=str(config.output_path / "ray_results"), verbose=0,
                                  callbacks=[recorder],
                                  failure_config=tune.FailureConfig(max_failures=config.trial_retries)),
    )
    for result in tuner.fit():
        recorder.finish_unrecorded(result)
    return recorder.records


def _scheduler(config: SearchConfig):
    """Ray Tune's trial scheduler: FIFO (every trial trains all its epochs) or ASHA (Li et al., "A System for
    Massively Parallel Hyperparameter Tuning", 2020), which stops trials whose validation accuracy trails their
    peers' after 1, 3, 9... epochs. A stopped trial keeps the accuracy it reached, for the strategy and the store."""
    if config.scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        return ASHAScheduler(metric=METRIC, mode="max", time_attr="epoch", max_t=config.epochs, grace_period=1,
                             reduction_factor=3)
    return None  # Tune's FIFO


def run_final_trainings(config: SearchConfig, strategy: Strategy, dataset, winners: list[TrialRecord],
                        on_done: Callable[[FinalEvaluation], None], deadline: float | None = None) -> None:
    """Retrain the winners in parallel on Ray workers, calling `on_done` as each gets its test accuracy; with a
    `deadline` (a `time.time()`), each trains as many of its recipe's epochs as fit before it."""
    if not winners:
        return
    cpus = final_training_cpus(config, len(winners))
    settings = TrialSettings(strategy.space, config.final_recipe, max(1, int(cpus)), config.seed, deadline=deadline)
    data_ref, settings_ref = ray.put(dataset), ray.put(settings)
    remote = ray.remote(run_final_training).options(num_cpus=cpus, num_gpus=config.gpus_per_trial)
    pending = [remote.remote(winner.number, winner.arch, data_ref, settings_ref) for winner in winners]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        on_done(ray.get(done[0]))


def final_training_cpus(config: SearchConfig, winners: int) -> float:
    """The search is over, so the winners share the CPUs: each gets an equal share of the largest node (a task
    cannot span nodes), and never less than a search trial had."""
    largest_node = max((node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node["Alive"]), default=0.0)
    return max(config.cpus_per_trial, float(int(largest_node // winners)))


def stop_ray() -> None:
    ray.shutdown()


def _threads(config: SearchConfig) -> int:
    return max(1, int(config.cpus_per_trial))


def _ray_error(trial) -> str:
    error_file = getattr(trial, "error_file", None)
    if error_file and Path(error_file).exists():
        lines = [line for line in Path(error_file).read_text().splitlines() if line.strip()]
        if lines:
            return f"Ray reported the trial failed: {lines[-1][:400]}"
    return "Ray reported the trial failed (its worker died or was killed)"


def _now() -> datetime:
    return datetime.now(timezone.utc)
