"""What the Python API's path costs against the command line's, on the same search.

    python benchmarks/api_vs_cli.py                          # 3 seeds, 6 mlp trials each
    python benchmarks/api_vs_cli.py --seeds 1 --trials 2     # a quick check

For each seed S, the same search runs twice, each in a fresh Python process, on the bundled MNIST:
1. the command line: `python -m nas.search --space mlp --strategy random --epochs 1 --train-subset 2000 --top-k 1
   --final-epochs 1 --trials T --seed S --output DIR --name cli-S --json`;
2. the Python API: `python -c "import nas; nas.search(space='mlp', strategy='random', epochs=1, train_subset=2000,
   top_k=1, final_epochs=1, trials=T, seed=S, output=DIR, name='api-S', progress=False)"`.
Each command is timed from outside, imports, data loading and Ray's start and stop included. The order alternates
from seed to seed (the command line first for even seeds), so neither path always runs first.

Prints a Markdown table: per seed the two wall times and their ratio (API / command line), the mean and standard
deviation of each, and whether both paths stored the same number of trials and the same best architecture for that
seed (reported, not asserted).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
from results import ResultStore, leaderboard  # noqa: E402

# The search both paths run; each run adds its trial count, seed, output folder and name. One dict makes the flags
# and the keywords, so the two commands cannot drift apart.
SEARCH = {"space": "mlp", "strategy": "random", "epochs": 1, "train_subset": 2000, "top_k": 1, "final_epochs": 1}


@dataclass(frozen=True)
class Run:
    wall_seconds: float
    trials_stored: int
    best_architecture: str | None  # None: no trial was scored


def command_line(trials: int, seed: int, output: Path) -> list[str]:
    settings = {**SEARCH, "trials": trials, "seed": seed, "output": str(output), "name": f"cli-{seed}"}
    flags = [part for name, value in settings.items() for part in (f"--{name.replace('_', '-')}", str(value))]
    return [sys.executable, "-m", "nas.search", *flags, "--json"]


def python_api(trials: int, seed: int, output: Path) -> list[str]:
    settings = {**SEARCH, "trials": trials, "seed": seed, "output": str(output), "name": f"api-{seed}",
                "progress": False}
    keywords = ", ".join(f"{name}={value!r}" for name, value in settings.items())
    return [sys.executable, "-c", f"import nas; nas.search({keywords})"]


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return wall


def stored(output: Path, run: str, wall_seconds: float) -> Run:
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        trials = store.trials(run)
        ranked = leaderboard(store, run=run, top=1)  # best first by the run's objective, as nas.search ranks
    best = ranked[0].arch if ranked and ranked[0].ranking_score is not None else None
    return Run(wall_seconds, len(trials), best)


def first_interface(seed: int) -> str:
    return "command line" if seed % 2 == 0 else "Python API"


def run_both(trials: int, seed: int, output: Path) -> tuple[Run, Run]:
    """The command line's run and the API's, the one `first_interface` names first."""
    interfaces = {"command line": (command_line, f"cli-{seed}"), "Python API": (python_api, f"api-{seed}")}
    order = sorted(interfaces, key=lambda interface: interface != first_interface(seed))
    runs = {}
    for interface in order:
        make_command, run = interfaces[interface]
        wall = timed(make_command(trials, seed, output))
        runs[interface] = stored(output, run, wall)
        print(f"seed {seed}, {interface}: {wall:.1f} s", file=sys.stderr, flush=True)
    return runs["command line"], runs["Python API"]


def spread(values: list[float]) -> str:
    return f"{statistics.stdev(values):.2f}" if len(values) > 1 else "-"


def compare(args, output: Path) -> None:
    rows = []
    for seed in range(args.seeds):
        command_line_run, python_api_run = run_both(args.trials, seed, output)
        rows.append((seed, command_line_run, python_api_run))

    print(f"\n{args.seeds} seed(s); per seed the same search of {args.trials} random mlp trials of "
          f"{SEARCH['epochs']} epoch on {SEARCH['train_subset']:,} MNIST images, the best retrained for "
          f"{SEARCH['final_epochs']} epoch; wall seconds of the whole command, from outside.\n")
    print("| seed | first | command line s | Python API s | ratio API / command line | trials stored "
          "(command line / API) | same best architecture |")
    print("|---|---|---|---|---|---|---|")
    for seed, command_line_run, python_api_run in rows:
        same_best = command_line_run.best_architecture == python_api_run.best_architecture
        print(f"| {seed} | {first_interface(seed)} | {command_line_run.wall_seconds:.1f} | {python_api_run.wall_seconds:.1f} "
              f"| {python_api_run.wall_seconds / command_line_run.wall_seconds:.2f} "
              f"| {command_line_run.trials_stored} / {python_api_run.trials_stored} | {'yes' if same_best else 'no'} |")
    command_line_walls = [command_line_run.wall_seconds for _, command_line_run, _ in rows]
    python_api_walls = [python_api_run.wall_seconds for _, _, python_api_run in rows]
    ratios = [python_api_wall / command_line_wall
              for python_api_wall, command_line_wall in zip(python_api_walls, command_line_walls)]
    print(f"| mean | | {statistics.fmean(command_line_walls):.1f} | {statistics.fmean(python_api_walls):.1f} "
          f"| {statistics.fmean(ratios):.2f} | | |")
    print(f"| standard deviation | | {spread(command_line_walls)} | {spread(python_api_walls)} | {spread(ratios)} "
          "| | |")

    differing = [seed for seed, command_line_run, python_api_run in rows
                 if command_line_run.trials_stored != python_api_run.trials_stored
                 or command_line_run.best_architecture != python_api_run.best_architecture]
    if differing:
        print(f"\nThe two paths differ in trials stored or best architecture for seed(s) "
              f"{', '.join(map(str, differing))}:")
        for seed, command_line_run, python_api_run in rows:
            if seed in differing:
                print(f"- seed {seed}: command line `{command_line_run.best_architecture}`, "
                      f"Python API `{python_api_run.best_architecture}`")
    else:
        print("\nFor every seed, both paths stored the same number of trials and the same best architecture.")
    if args.output:
        print(f"\nstore: {output / 'nas.db'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, one search per path each (default: 3)")
    parser.add_argument("--trials", type=int, default=6, help="trials per search (default: 6)")
    parser.add_argument("--output", help="keep the store, models and reports here (default: a temporary folder)")
    args = parser.parse_args()
    if args.output:
        compare(args, Path(args.output).resolve())
        return
    with tempfile.TemporaryDirectory(prefix="nas-api-vs-cli-") as folder:
        compare(args, Path(folder))


if __name__ == "__main__":
    main()
