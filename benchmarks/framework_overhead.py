"""What nas costs on top of the training it schedules, and how its throughput grows from one Ray node to two.

    python benchmarks/framework_overhead.py                  # 12 cnn trials of 1 epoch on 5,000 MNIST images
    python benchmarks/framework_overhead.py --trials 6 --skip-nodes

1. `python -m nas.search --strategy random --trials N --top-k 0` runs N architectures (the lecture's LeNet and N-1
   random ones, fixed by the seed) as Ray Tune trials, two at a time with one thread each on this 2-core machine.
2. A plain Python loop trains the same architectures on the same data in one process, one after the other, with
   the same work per architecture as a trial (build, cost measurement, training, validation after each epoch):
   once with TensorFlow on every core (the baseline a user would write), once on one thread (a trial's share).
   Both commands are timed from outside, imports and data loading included.
3. Per-trial overhead: each trial's wall time as the search's driver saw it (started to finished, from the store)
   minus the same architecture's time in the one-thread loop; the median over the architectures.
4. The same search joins a local Ray cluster (benchmarks/local_cluster.py) of one node with 2 CPUs, then of two
   nodes with 1 CPU each; throughput is trials per minute between the first trial's start and the last one's end.

Prints Markdown tables.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))
from results import ResultStore  # noqa: E402

RUN = "overhead"


def search_command(args, output: Path, address: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "nas.search", "--space", "cnn", "--strategy", "random", "--trials",
               str(args.trials), "--epochs", str(args.epochs), "--train-subset", str(args.train_subset),
               "--top-k", "0", "--seed", str(args.seed), "--output", str(output), "--name", RUN, "--json"]
    if args.data:
        command += ["--data", args.data]
    return command + (["--address", address] if address else [])


def timed(command: list[str], env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, cwd=REPOSITORY, env=env)
    wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return wall, finished.stdout


def stored_trials(output: Path) -> list:
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        return store.trials(RUN)


def trial_walls(trials) -> dict[str, float]:
    return {trial.arch_key: (trial.finished_at - trial.started_at).total_seconds() for trial in trials}


def throughput(trials) -> float:
    """Trials per minute between the first start and the last end."""
    span = (max(trial.finished_at for trial in trials) - min(trial.started_at for trial in trials)).total_seconds()
    return 60 * len(trials) / span


def plain_loop(arch_keys: list[str], args, threads: int | None) -> dict:
    """Train the architectures one after the other in this process, as a trial would; returns seconds per key."""
    import os

    if threads:  # TensorFlow reads its thread counts once, at import (STACK-NOTES.md)
        os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from nas.estimator.cost import measure_cost
    from nas.data.sources import VALIDATION_FRACTION, load_data
    from nas.estimator.evaluator import build_model
    from nas.settings.search_config import SearchConfig
    from nas.estimator.training import train
    from search_spaces import get_space

    config = SearchConfig(space="cnn", data=args.data, epochs=args.epochs, train_subset=args.train_subset,
                          seed=args.seed)
    dataset = load_data(data=config.data, dataset=config.dataset, seed=config.seed,
                        validation_fraction=VALIDATION_FRACTION)
    data, space = dataset.without_test().training_subset(config.train_subset, config.seed), get_space("cnn")
    recipe = config.recipe(final=False)
    seconds = {}
    for number, key in enumerate(arch_keys):
        start = time.perf_counter()
        model = build_model(space, space.from_key(key), data.input_shape, data.num_outputs, data.task,
                            seed=config.seed + number)
        measure_cost(model, data.input_shape)
        train(model, data.x_train, data.y_train, recipe, data.task, held_out=(data.x_validation, data.y_validation),
              seed=config.seed + number)
        seconds[key] = time.perf_counter() - start
    return seconds


def run_loop(arch_keys: list[str], args, threads: int | None, folder: Path) -> tuple[float, dict]:
    keys_file = folder / "keys.json"
    keys_file.write_text(json.dumps(arch_keys))
    command = [sys.executable, __file__, "--loop", str(keys_file), "--trials", str(args.trials), "--epochs",
               str(args.epochs), "--train-subset", str(args.train_subset), "--seed", str(args.seed)]
    command += (["--data", args.data] if args.data else []) + (["--threads", str(threads)] if threads else [])
    wall, stdout = timed(command)
    return wall, json.loads(stdout.strip().splitlines()[-1])


def compare_with_the_loop(args, folder: Path) -> None:
    search_wall, _ = timed(search_command(args, folder / "search"))
    trials = stored_trials(folder / "search")
    keys = [trial.arch_key for trial in trials]
    loop_wall, _ = run_loop(keys, args, None, folder)
    one_thread_wall, one_thread = run_loop(keys, args, 1, folder)
    walls = trial_walls(trials)
    overheads = [walls[key] - one_thread[key] for key in keys]
    print(f"\n{len(trials)} cnn architectures, {args.epochs} epoch(s) on {args.train_subset:,} images each "
          f"({sum(trial.status.value == 'completed' for trial in trials)} completed)\n")
    print("| command | wall s | ratio to the loop |")
    print("|---|---|---|")
    print(f"| `nas.search` (Ray Tune, 2 trials of 1 thread at once) | {search_wall:.1f} | "
          f"{search_wall / loop_wall:.2f} |")
    print(f"| plain loop, one process, TensorFlow on every core | {loop_wall:.1f} | 1.00 |")
    print(f"| plain loop, one process, 1 thread | {one_thread_wall:.1f} | {one_thread_wall / loop_wall:.2f} |")
    print(f"\nPer-trial overhead (a trial's wall time in the store minus the 1-thread loop's time for the same "
          f"architecture): median {1000 * statistics.median(overheads):.0f} ms, "
          f"min {1000 * min(overheads):.0f} ms, max {1000 * max(overheads):.0f} ms")


def compare_nodes(args, folder: Path) -> None:
    from benchmarks.local_cluster import local_cluster

    print("\n| Ray cluster | wall s of the command | trials per minute | trials per node |")
    print("|---|---|---|---|")
    for nodes, cpus in ((1, 2), (2, 1)):
        output = folder / f"nodes-{nodes}"
        with local_cluster(nodes=nodes, cpus_per_node=cpus) as cluster:
            wall, _ = timed(search_command(args, output, cluster.address), env=cluster.driver_env())
        trials = stored_trials(output)
        per_node = sorted((sum(trial.node == node for trial in trials) for node in {t.node for t in trials}),
                          reverse=True)
        print(f"| {nodes} node(s) x {cpus} CPU(s) | {wall:.1f} | {throughput(trials):.1f} "
              f"| {' / '.join(map(str, per_node))} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-subset", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", help="a keras-layout .npz (default: the bundled MNIST)")
    parser.add_argument("--skip-nodes", action="store_true", help="leave out the one- versus two-node comparison")
    parser.add_argument("--loop", metavar="KEYS.json", help=argparse.SUPPRESS)  # the plain loop's own process
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        print(json.dumps(plain_loop(json.loads(Path(args.loop).read_text()), args, args.threads)))
        return
    with tempfile.TemporaryDirectory(prefix="nas-overhead-") as folder:
        compare_with_the_loop(args, Path(folder))
        if not args.skip_nodes:
            compare_nodes(args, Path(folder))


if __name__ == "__main__":
    main()
