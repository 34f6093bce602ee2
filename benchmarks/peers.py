"""Side by side with what users would pick instead: nas against Keras Tuner, Optuna, AutoKeras and hand-made
baselines, on the same data, the same machine and the same wall-clock budget.

    python benchmarks/peers.py --task fashion_mnist --budget 10m --seeds 3      # the README's table and plot
    python benchmarks/peers.py --task fashion_mnist --budget 30m --seeds 1 --contenders nas-defaults autokeras
    python benchmarks/peers.py --task breast_cancer --budget 3m --seeds 3       # and --task diabetes (regression)
    python benchmarks/peers.py --task fashion_mnist --budget 10m --seeds 3 --table-only   # print what is measured

Every contender (benchmarks/peer_contenders/, one module per tool, each citing the documentation it follows) runs
in a process of its own, one after another, never two at once; its whole process tree is measured (wall time,
CPU-seconds, peak resident memory: benchmarks/peer_contenders/process_tree.py). Each gets the same training rows
and selects on its own validation data; the model each hands back is tested once on the same test rows. The
searches stop at the budget (each tool's way, said in its module); the baselines train one model.

The control: each peer's winner is retrained by `nas.train` under nas's final recipe, for as many epochs as nas's
winner got in its final training with the same seed, and tested once, so the table tells what comes from the
search and what from the recipe.

Results are saved as one JSON file per contender and seed under --results (default benchmarks/results/peers/), and
a rerun measures only what is missing, so the five hours of the whole benchmark run in parts. Prints a Markdown
table (mean ± standard deviation over seeds) and draws the anytime curves (best validation figure so far against
wall time, the mean over seeds; matplotlib).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.peer_contenders import CONTENDERS, Contender, for_task  # noqa: E402
from benchmarks.peer_contenders.process_tree import run_measured  # noqa: E402
from benchmarks.peer_contenders.report import draw_curves, print_tables  # noqa: E402
from benchmarks.peer_contenders.tasks import TASKS, Task  # noqa: E402
from benchmarks.seeds import measured_once  # noqa: E402
from nas.settings.checks import duration  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "benchmarks" / "results" / "peers"
VERSIONS = ("tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "optuna", "optuna-integration", "ray",
            "scikit-learn", "numpy")
OVERRUN_SECONDS = 600  # a contender still running this long after its budget is killed, and its row says so
# A control has no budget: it trains one network for nas's final epochs. Past this, it is killed and its cell says so
# (on 2 cores, 4 epochs of a Fashion-MNIST winner under nas's recipe took 790 s, and 11 epochs of another 2,570 s).
CONTROL_LIMIT_SECONDS = 3600


def cell(contender: Contender, task: Task, seed: int, budget: float, work: Path, folder: Path,
         epochs: int | None = None) -> dict:
    """The figures of one contender and seed, measured now in a process of its own or read from an earlier run."""
    path = folder / f"{contender.name}-seed{seed}.json"
    return measured_once(path, lambda: _measure(["--cell", contender.name], task, seed, budget, work, epochs,
                                                limit=budget + OVERRUN_SECONDS))


def control(contender: Contender, figures: dict, task: Task, seed: int, work: Path, folder: Path,
            epochs: int) -> dict:
    """The peer's winner retrained by nas.train under nas's final recipe for `epochs` epochs, tested once."""
    path = folder / f"control-{contender.name}-seed{seed}.json"
    return measured_once(path, lambda: _measure(["--control", contender.name], task, seed, 0, work, epochs,
                                                figures["arch"], limit=CONTROL_LIMIT_SECONDS))


def _measure(role: list[str], task: Task, seed: int, budget: float, work: Path, epochs: int | None,
             architecture: dict | None = None, *, limit: float) -> dict:
    """Run one cell or control in a process of its own, killed `limit` seconds after its start."""
    with tempfile.TemporaryDirectory(prefix="nas-peers-cell-") as scratch:
        result = Path(scratch) / "figures.json"
        command = [sys.executable, str(Path(__file__).resolve()), *role, "--task", task.name, "--seed", str(seed),
                   "--budget-seconds", f"{budget:g}", "--work", str(work), "--result", str(result)]
        if epochs is not None:
            command += ["--epochs", str(epochs)]
        if architecture is not None:
            command += ["--architecture", json.dumps(architecture)]
        print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
        usage = run_measured(command, cwd=str(REPOSITORY), timeout_seconds=limit)
        figures = json.loads(result.read_text()) if result.is_file() else {
            "error": f"the contender's process exited {usage.returncode} without figures"
                     + (f" (killed: still running {limit:g} s after its start)" if usage.wall_seconds > limit else "")}
    return {**figures, "budget_seconds": budget, "wall_seconds": round(usage.wall_seconds, 2),
            "cpu_seconds": round(usage.cpu_seconds, 1), "peak_rss_mb": round(usage.peak_rss_mb, 1),
            "seed": seed, "task": task.name, "commit": _commit(), "machine": _machine(), "versions": _versions()}


def _run_in_this_process(args) -> None:
    """--cell / --control: run one contender (or one control) here and write its figures to --result."""
    task = TASKS[args.task]
    name = args.cell or args.control
    try:
        if args.cell:
            more = {"epochs": args.epochs} if args.epochs is not None and name == "lenet" else {}
            figures = CONTENDERS[name].run(task, args.seed, args.budget_seconds, Path(args.work), **more)
        else:
            from benchmarks.peer_contenders.nas_rows import nas_train

            figures = nas_train(task, args.seed, Path(args.work), args.epochs,
                                architecture=json.loads(args.architecture), name=name)
    except Exception as error:  # a peer that crashes is a row with its error, not a missing row
        figures = {"error": f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error) else ''}"}
    from benchmarks.peer_contenders.tasks import ROWS_SEEN

    if ROWS_SEEN:
        figures["rows"] = ROWS_SEEN[-1]
    Path(args.result).write_text(json.dumps(figures, default=float))


def _commit() -> str:
    """The commit measured, `-dirty` where code differs from it: the benchmark's own results (the plot it redraws,
    the cells it adds) are not code, so they do not count."""
    found = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, cwd=REPOSITORY)
    changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                              f":!{RESULTS.relative_to(REPOSITORY)}"], capture_output=True, text=True, cwd=REPOSITORY)
    return (found.stdout.strip() or "unknown") + ("-dirty" if changed.stdout.strip() else "")


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _versions() -> dict[str, str]:
    found = {}
    for package in VERSIONS:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="fashion_mnist")
    parser.add_argument("--budget", default="10m", help="wall-clock budget of every search, e.g. 3m, 10m, 30m")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--contenders", nargs="+", choices=sorted(CONTENDERS), metavar="NAME",
                        help=f"default: every contender that runs on the task ({', '.join(CONTENDERS)})")
    parser.add_argument("--results", type=Path, default=RESULTS, help=f"default: {RESULTS.relative_to(REPOSITORY)}")
    parser.add_argument("--work", type=Path, help="the searches' stores and models (default: a temporary folder)")
    parser.add_argument("--no-controls", action="store_true", help="skip retraining the peers' winners")
    parser.add_argument("--table-only", action="store_true", help="print what is measured; measure nothing")
    for hidden in ("--cell", "--control", "--result", "--architecture"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--budget-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cell or args.control:
        return _run_in_this_process(args)
    try:
        budget = duration(args.budget)
    except ValueError as error:
        parser.error(f"--budget: {error}")
    if args.seeds < 1:
        parser.error("expected --seeds >= 1")
    task = TASKS[args.task]
    contenders = [CONTENDERS[name] for name in args.contenders] if args.contenders else for_task(task)
    unfit = [contender.name for contender in contenders if task.kind not in contender.kinds]
    if unfit:
        parser.error(f"{', '.join(unfit)} cannot run on {task.name} ({task.kind}); expected one of "
                     f"{', '.join(contender.name for contender in for_task(task))}")
    folder = args.results / f"{task.name}-{args.budget}"
    folder.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.gettempdir()) / "nas-peers-work"
    work.mkdir(parents=True, exist_ok=True)
    if "autokeras" in {contender.name for contender in contenders} and not args.table_only:
        _make_autokeras_venv(work)
    measured = {contender.name: {} for contender in contenders}
    controls = {contender.name: {} for contender in contenders}
    # nas first in each seed: LeNet and the controls train for as many epochs as nas's winner got.
    ordered = sorted(contenders, key=lambda contender: not contender.nas)
    for seed in range(args.seeds):
        for contender in ordered:
            path = folder / f"{contender.name}-seed{seed}.json"
            if args.table_only:
                if path.is_file():
                    measured[contender.name][seed] = json.loads(path.read_text())
                continue
            epochs = _final_epochs(folder, seed)
            if contender.name == "lenet" and epochs is None:
                print(f"(lenet, seed {seed}: waits for nas-defaults' final epochs)", file=sys.stderr)
                continue
            measured[contender.name][seed] = cell(contender, task, seed, budget, work, folder, epochs)
    for contender in contenders:
        for seed, figures in measured[contender.name].items():
            path = folder / f"control-{contender.name}-seed{seed}.json"
            epochs = _final_epochs(folder, seed)
            if contender.nas or "arch" not in figures or epochs is None:
                continue
            if path.is_file():
                controls[contender.name][seed] = json.loads(path.read_text())
            elif not (args.table_only or args.no_controls):
                controls[contender.name][seed] = control(contender, figures, task, seed, work, folder, epochs)
    print_tables(task, args.budget, contenders, measured, controls)
    plot = folder / "anytime.png"
    if draw_curves(task, args.budget, budget, contenders, measured, plot):
        print(f"\nanytime curves: {plot.relative_to(REPOSITORY) if plot.is_relative_to(REPOSITORY) else plot}")


def _make_autokeras_venv(work: Path) -> None:
    """AutoKeras's virtualenv, made before anything is measured (its install is no part of AutoKeras's time). If
    it cannot be made, AutoKeras's row says why: its process meets the same error."""
    from benchmarks.peer_contenders.autokeras_row import venv_folder
    from benchmarks.peer_contenders.autokeras_venv import AutoKerasUnavailable, autokeras_python

    try:
        autokeras_python(venv_folder(work))
    except AutoKerasUnavailable as error:
        print(f"AutoKeras is unavailable: {error}", file=sys.stderr)


def _final_epochs(folder: Path, seed: int) -> int | None:
    """The epochs of nas's winner in its final training with this seed (its defaults' search), once measured."""
    path = folder / f"nas-defaults-seed{seed}.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("final_epochs")


if __name__ == "__main__":
    main()
