"""`python -m nas.search`: search a space with a strategy on Ray Tune, store every trial, end with the leaderboard.

Exit codes: 0 done, 1 the search itself failed, 2 bad input (one line on stderr), 130 interrupted.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Sequence

from nas import cli_common as cli
from nas.config import (DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_FINAL_EPOCHS, DEFAULT_FINAL_SHARE,
                        DEFAULT_LEARNING_RATE, DEFAULT_TOP_K, DEFAULT_TRAIN_SUBSET, DEFAULT_TRIAL_RETRIES,
                        DEFAULT_TRIALS, MAX_FITTED_FINAL_EPOCHS, SCHEDULERS, SearchConfig)
from nas.estimator import AUGMENTATIONS, SCHEDULES
from nas.datasets import DATASETS
from nas.objectives import MNAS_CONSTRAINTS, OBJECTIVES
from search_spaces import SPACES
from strategies import STRATEGIES

PROG = "nas.search"


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0].split(": ", 1)[1])
    what = parser.add_argument_group("what to search")
    what.add_argument("--space", choices=sorted(SPACES), help="search space (default: cnn)")
    what.add_argument("--strategy", choices=sorted(STRATEGIES), help="default: random")
    what.add_argument("--strategy-option", type=cli.option_assignment, action="append", metavar="NAME=VALUE",
                      help="a strategy's own setting, e.g. population_size=50 for evolution (repeatable)")
    what.add_argument("--dataset", choices=DATASETS, help="default: mnist, bundled")
    what.add_argument("--data", metavar="PATH.npz", help="any .npz in the keras layout (x_train, y_train, ...)")
    budget = parser.add_argument_group("budget")
    budget.add_argument("--trials", type=cli.positive_int,
                        help=f"trials to run (default: {DEFAULT_TRIALS}; with --time-budget alone, no limit)")
    budget.add_argument("--time-budget", type=cli.duration_seconds, metavar="DURATION",
                        help="wall-clock limit of the whole search, trials and final training, e.g. 90s, 30m, 1h30m")
    budget.add_argument("--epochs", type=cli.positive_int, help=f"epochs per trial (default: {DEFAULT_EPOCHS})")
    budget.add_argument("--train-subset", type=cli.positive_int, metavar="N",
                        help=f"train trials on N examples (default: {DEFAULT_TRAIN_SUBSET}; validation stays full)")
    budget.add_argument("--final-epochs", type=cli.positive_int,
                        help=f"epochs of the final training on the full training set (default: {DEFAULT_FINAL_EPOCHS}; "
                             f"with --time-budget, as many as fit in its final share, up to {MAX_FITTED_FINAL_EPOCHS})")
    budget.add_argument("--final-share", type=cli.fraction, metavar="F",
                        help=f"share of --time-budget kept for the final training (default: {DEFAULT_FINAL_SHARE})")
    budget.add_argument("--top-k", type=cli.non_negative_int, metavar="K",
                        help=f"architectures retrained and tested at the end; 0 skips it (default: {DEFAULT_TOP_K})")
    recipe = parser.add_argument_group("training recipe")
    recipe.add_argument("--learning-rate", type=cli.positive_float, metavar="LR",
                        help=f"Adam's learning rate for trials and final training (default: {DEFAULT_LEARNING_RATE:g})")
    recipe.add_argument("--batch-size", type=cli.positive_int, metavar="N",
                        help=f"training batch size for trials and final training (default: {DEFAULT_BATCH_SIZE})")
    recipe.add_argument("--lr-schedule", choices=SCHEDULES,
                        help="learning rate of trials and final training: cosine (falls to 0 along a half cosine, "
                             "default) or constant")
    recipe.add_argument("--augment", choices=AUGMENTATIONS,
                        help="final training only: shift (random shifts of up to 2 pixels in 28, default) or none")
    goal = parser.add_argument_group("objective and limits")
    goal.add_argument("--objective", choices=OBJECTIVES,
                      help="accuracy (default); mnas: accuracy traded against latency (MnasNet's reward, needs "
                           "--latency-target); pareto: accuracy, latency and params together, ending with the front")
    goal.add_argument("--latency-target", type=cli.positive_float, metavar="MS",
                      help="T of the mnas reward ACC * (LAT/T)^w, in batch-1 milliseconds")
    goal.add_argument("--mnas-constraint", choices=sorted(MNAS_CONSTRAINTS),
                      help="soft (w = -0.07, default) or hard (w = 0 below T, -1 above), as in MnasNet")
    goal.add_argument("--max-params", type=cli.positive_int, metavar="N",
                      help="never train a model of more than N parameters")
    goal.add_argument("--max-latency", type=cli.positive_float, metavar="MS",
                      help="never train a model slower than MS milliseconds at batch 1")
    resources = parser.add_argument_group("resources")
    resources.add_argument("--cpus-per-trial", type=cli.positive_float, metavar="C", help="default: 1")
    resources.add_argument("--gpus-per-trial", type=cli.non_negative_float, metavar="G", help="default: 0")
    resources.add_argument("--concurrency", type=cli.positive_int, metavar="K",
                           help="trials at once (default: as many as the resources allow)")
    resources.add_argument("--scheduler", choices=SCHEDULERS,
                           help="fifo, or asha to stop trailing trials early (default: fifo)")
    resources.add_argument("--trial-retries", type=cli.non_negative_int, metavar="R",
                           help="times Ray starts a trial again after its worker or node died; then it is stored "
                                f"as failed (default: {DEFAULT_TRIAL_RETRIES})")
    resources.add_argument("--resource-wait", type=cli.duration_seconds, metavar="DURATION",
                           help="on a cluster joined with --address, how long the autoscaler gets to add a node a "
                                "trial fits on before the search gives up (default: 10m)")
    resources.add_argument("--address", help="join this Ray cluster (host:port of its head, or auto) instead of "
                                             "starting a local Ray; RAY_ADDRESS works too")
    where = parser.add_argument_group("results")
    where.add_argument("--storage", metavar="URL", help="SQLAlchemy URL of the result store "
                                                         "(default: SQLite under --output)")
    where.add_argument("--output", default=cli.DEFAULT_OUTPUT, metavar="DIR",
                       help=f"folder for the store, Ray's files and reports (default: ./{cli.DEFAULT_OUTPUT})")
    where.add_argument("--name", type=cli.run_name, metavar="RUN",
                       help="name of the run (default: SPACE-STRATEGY-TIME)")
    where.add_argument("--resume", action="store_true", help="continue the stored run --name")
    where.add_argument("--seed", type=cli.non_negative_int, help="default: 0")
    where.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")
    return parser


# Command-line names of the settings, as SearchConfig calls them; a flag not given keeps SearchConfig's default.
_SETTINGS = {"space": "space", "strategy": "strategy", "dataset": "dataset", "data": "data_path",
             "trials": "trials", "time_budget": "time_budget_s", "epochs": "epochs", "train_subset": "train_subset",
             "final_epochs": "final_epochs", "final_share": "final_share", "top_k": "top_k",
             "learning_rate": "learning_rate", "batch_size": "batch_size", "lr_schedule": "lr_schedule",
             "augment": "augment", "objective": "objective",
             "latency_target": "latency_target_ms", "mnas_constraint": "mnas_constraint", "max_params": "max_params",
             "max_latency": "max_latency_ms",
             "cpus_per_trial": "cpus_per_trial", "gpus_per_trial": "gpus_per_trial", "concurrency": "concurrency",
             "scheduler": "scheduler", "trial_retries": "trial_retries", "resource_wait": "resource_wait_s",
             "address": "address", "seed": "seed", "output": "output"}
# What a resume may change: how long the run goes on, where it runs, and how its winners are retrained.
_RESUMABLE = {"trials", "time_budget_s", "final_epochs", "final_share", "augment", "top_k", "address", "concurrency",
              "cpus_per_trial", "gpus_per_trial", "trial_retries", "resource_wait_s", "output"}


def make_config(args, store) -> SearchConfig:
    given = {setting: getattr(args, flag) for flag, setting in _SETTINGS.items() if getattr(args, flag) is not None}
    given["address"] = given.get("address") or os.environ.get("RAY_ADDRESS")
    if args.strategy_option:
        given["strategy_options"] = dict(args.strategy_option)
    if "time_budget_s" in given and "trials" not in given:
        given["trials"] = None  # a time budget alone runs trials until it ends, like Ray Tune's num_samples=-1
    if "time_budget_s" in given and "final_epochs" not in given:
        given["final_epochs"] = None  # as many as fit in the final share of the budget
    if args.resume:
        return resumed_config(store, args.name, given)
    return SearchConfig(**given)


def resumed_config(store, name: str | None, given: dict) -> SearchConfig:
    """The stored run's config, with what a resume may change; a flag that would change what is searched is refused."""
    from nas.experiment import stored_run

    stored = stored_run(store, name).config
    for flag, setting in _SETTINGS.items():
        if setting in given and setting not in _RESUMABLE and given[setting] != stored.get(setting):
            raise _changed_on_resume(name, flag, setting, stored.get(setting), given[setting])
    if "strategy_options" in given and given["strategy_options"] != stored.get("strategy_options", {}):
        raise _changed_on_resume(name, "strategy_option", "strategy_options", stored.get("strategy_options", {}),
                                 given["strategy_options"])
    return SearchConfig.from_dict({**stored, **{key: given[key] for key in given.keys() & _RESUMABLE}})


def _changed_on_resume(name: str, flag: str, setting: str, stored, given) -> cli.UsageError:
    return cli.UsageError(f"--resume continues run {name!r} as it was started, with {setting} {stored!r}. "
                          f"Received --{flag.replace('_', '-')} {given}; drop it, or start a new run with --name")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.quiet_libraries()
    from nas.experiment import default_run_name, run_search
    from nas.progress import SearchProgress
    from results import ResultStore, RunExistsError, StoreError, leaderboard, render
    from strategies import StateDictError

    try:
        store = ResultStore(cli.storage_url(args.storage, args.output))
        config = make_config(args, store)
    except (cli.UsageError, StoreError, ValueError) as error:  # SearchConfig says what it refuses
        cli.fail(PROG, str(error))
    name = args.name or default_run_name(config)
    try:
        with SearchProgress(config.trials) as progress:
            summary = run_search(config, store, name, args.resume, progress)
    except (cli.UsageError, RunExistsError, StateDictError) as error:
        cli.fail(PROG, str(error))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; completed trials are stored. Continue with --resume --name {name}",
              file=sys.stderr)
        return 130
    except Exception as error:  # the search itself failed: one line, the traceback only on request
        if os.environ.get("NAS_DEBUG"):
            raise
        cli.fail(PROG, f"the search failed: {type(error).__name__}: {error} (NAS_DEBUG=1 shows the traceback)",
                 code=cli.EXIT_SEARCH_FAILED)

    stream = sys.stderr if args.json else sys.stdout
    if summary.pareto_front:  # a Pareto search ends with its front, not one winner
        board = leaderboard(store, run=summary.run, pareto=True)
        print(f"Pareto front of run {summary.run} (validation accuracy, latency, params): {len(board)} trial(s)",
              file=stream)
    else:
        board = leaderboard(store, run=summary.run, top=10)
    print(render(board, "table", width=cli.table_width(stream), color=cli.use_color(stream)), file=stream)
    report = write_run_report(store, summary.run, config.output_path)
    print(f"run {summary.run}: {summary.trials_completed} completed, {summary.trials_failed} failed, "
          f"{summary.trials_stopped} stopped in {summary.wall_seconds:.0f}s; used {summary.cost.describe()}; "
          f"store: {store.url}", file=sys.stderr)
    if report:
        print(f"report: {report}", file=sys.stderr)
    if args.json:
        print(json.dumps({**summary_json(summary), "report": report}))
    return cli.EXIT_OK


def write_run_report(store, run: str, folder) -> str | None:
    """The run's HTML report, RUN.html in the output folder; a report that cannot be written is a note, since the
    search itself is done and stored."""
    from results import leaderboard
    from results.report import write_report

    path = folder / f"{run}.html"
    try:
        write_report(store, path, leaderboard(store, run=run), title=f"nas run {run}")
    except OSError as error:
        print(f"{PROG}: note: could not write the report {path}: {error.strerror}", file=sys.stderr)
        return None
    return str(path)


def summary_json(summary) -> dict:
    return {
        "run": summary.run, "trials_completed": summary.trials_completed, "trials_failed": summary.trials_failed,
        "trials_stopped": summary.trials_stopped, "wall_seconds": round(summary.wall_seconds, 3),
        "cpu_hours": round(summary.cost.cpu_hours, 6), "gpu_hours": round(summary.cost.gpu_hours, 6),
        "best": None if summary.best is None else _trial_json(summary.best),
        "pareto_front": [_trial_json(trial) for trial in summary.pareto_front],
        "final_training": [{"trial": final.trial, "epochs": final.epochs, "test_accuracy": final.test_accuracy,
                            "train_seconds": round(final.train_seconds, 3)} for final in summary.final_trainings],
    }


def _trial_json(trial) -> dict:
    return {"trial": trial.number, "arch": trial.arch_key, "validation_accuracy": trial.validation_accuracy,
            "test_accuracy": trial.test_accuracy, "params": trial.params, "flops": trial.flops,
            "latency_ms": trial.latency_ms, "latency_batch_ms": trial.latency_batch_ms,
            "latency_batch_size": trial.latency_batch_size, "latency_device": trial.latency_device,
            "latency_threads": trial.latency_threads}


if __name__ == "__main__":
    raise SystemExit(main())
