"""Show, on real MNIST, where a search's trials run on a two-node Ray cluster and what a SIGKILL of the driver loses.

    python benchmarks/cluster_demo.py                # both parts
    python benchmarks/cluster_demo.py --part nodes   # or: --part kill

`nodes`: starts two Ray nodes on this machine (one CPU each, token authentication on; benchmarks/local_cluster.py),
runs `nas.search --address` on them and prints each node's trials. `kill`: runs a search, kills its driver with
SIGKILL once some trials are done and others in flight, resumes it with `--resume`, and compares the stored trials
before and after. Output goes under --output (default benchmarks/results/cluster-demo).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.local_cluster import local_cluster  # noqa: E402
from results import ResultStore, TrialStatus  # noqa: E402

SEARCH = [sys.executable, "-m", "nas.search", "--space", "mlp", "--epochs", "3", "--top-k", "1"]


def nas_search(argv: list[str], env: dict | None = None, **options) -> subprocess.Popen:
    env = {**(env or os.environ), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([*SEARCH, *argv], cwd=REPO, env=env, **options)


def show_placement(output: Path) -> None:
    with local_cluster(nodes=2, cpus_per_node=1) as cluster:
        start = time.perf_counter()
        search = nas_search(["--address", cluster.address, "--trials", "8", "--concurrency", "2", "--output",
                             str(output), "--name", "two-nodes", "--json"], env=cluster.driver_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        out, _ = search.communicate()
        wall = time.perf_counter() - start
    if search.returncode != 0:
        raise SystemExit(f"the search failed with exit code {search.returncode}")
    summary = json.loads(out.strip().splitlines()[-1])
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        trials = store.trials("two-nodes")
    by_node = defaultdict(list)
    for trial in trials:
        by_node[trial.node].append(trial)
    print(f"Two-node run on {cluster.address}: {len(trials)} trials in {wall:.0f}s, {summary['cpu_hours']:.4f} "
          f"CPU-hours\n\n| node (Ray node id) | host | trials | CPU-seconds |\n|---|---|---|---|")
    for node, ran in by_node.items():
        print(f"| {node[:12]}... | {ran[0].host} | {', '.join(str(trial.number) for trial in ran)} | "
              f"{sum(trial.cpu_seconds or 0 for trial in ran):.1f} |")


def kill_and_resume(output: Path) -> None:
    common = ["--output", str(output), "--name", "killed"]
    driver = nas_search(["--trials", "10", *common], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        start_new_session=True)
    store_url, before = f"sqlite:///{output / 'nas.db'}", []
    while driver.poll() is None:
        time.sleep(0.5)
        if not (output / "nas.db").exists():
            continue
        with ResultStore(store_url) as store:
            before = store.trials("killed") if store.get_run("killed") else []
        statuses = [trial.status for trial in before]
        if statuses.count(TrialStatus.COMPLETED) >= 3 and TrialStatus.RUNNING in statuses:
            driver.send_signal(signal.SIGKILL)
            break
    driver.wait()
    if _group_alive(driver.pid):  # the Ray processes the killed driver had started
        os.killpg(driver.pid, signal.SIGKILL)
    if driver.returncode != -signal.SIGKILL:
        raise SystemExit("the search ended before it could be killed; rerun")
    done = {trial.number: trial for trial in before if trial.status is TrialStatus.COMPLETED}
    in_flight = {trial.number: trial for trial in before if trial.status is TrialStatus.RUNNING}
    resumed = nas_search(["--resume", "--trials", "10", *common], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    resumed.wait()
    with ResultStore(store_url) as store:
        after = {trial.number: trial for trial in store.trials("killed")}
    lost = [number for number, trial in done.items() if after.get(number) != trial]
    numbers = sorted(after)
    archs = [trial.arch_key for trial in after.values()]
    print(f"\nKilled with SIGKILL after trials {sorted(done)} completed, with {sorted(in_flight)} in flight; "
          f"resumed (exit {resumed.returncode}).\n")
    print("| | count |\n|---|---|")
    print(f"| completed trials before the kill | {len(done)} |")
    print(f"| of those, changed or missing after the resume (lost) | {len(lost)} |")
    print(f"| in-flight trials run again with the same architecture | "
          f"{sum(after[number].arch_key == trial.arch_key for number, trial in in_flight.items())} of "
          f"{len(in_flight)} |")
    print(f"| trials stored after the resume | {len(after)} (numbers {numbers[0]}..{numbers[-1]}) |")
    print(f"| architectures run twice (repeated) | {len(archs) - len(set(archs))} |")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
        return True
    except ProcessLookupError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("nodes", "kill", "both"), default="both")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "cluster-demo"))
    args = parser.parse_args()
    output = Path(args.output).resolve()
    if output.exists() and any(output.iterdir()):
        raise SystemExit(f"{output} is not empty: pass another --output, or remove it")
    if args.part in ("nodes", "both"):
        show_placement(output / "nodes")
    if args.part in ("kill", "both"):
        kill_and_resume(output / "kill")


if __name__ == "__main__":
    main()
