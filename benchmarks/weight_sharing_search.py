"""Weight sharing against training each architecture, as a user runs them: architectures judged, and the winner.

    python benchmarks/weight_sharing_search.py                          # every case below, 3 seeds
    python benchmarks/weight_sharing_search.py --cases mnist-10m-shared mnist-10m-alone --seeds 1

Each case is one `python -m nas.search --space cnn --strategy rl --seed S --json ...` in a fresh process with a
fresh store, timed from outside; the cases with and without `--weight-sharing` differ in that flag only, so each is
the other's control. Reported per case, mean ± standard deviation over seeds: wall time, architectures judged (with
shared weights) or trained (alone), the weight-sharing search's shortlist trained alone, the retrained winner's test
accuracy and parameters, and how often the winner is the lecture's LeNet (trial 0); with weight sharing, how far
the judged children's estimated latencies are off.
Each search's JSON summary is kept under --output, so a rerun measures only what is missing
(benchmarks.seeds.measured_once).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.seeds import measured_once, print_table, spread  # noqa: E402

CASES = {
    "mnist-10m-shared": ["--time-budget", "10m", "--max-params", "20000", "--weight-sharing"],
    "mnist-10m-alone": ["--time-budget", "10m", "--max-params", "20000"],
    "card-shared": ["--weight-sharing"],
    "card": [],
    "fashion-10m-shared": ["--dataset", "fashion_mnist", "--time-budget", "10m", "--max-params", "100000",
                           "--weight-sharing"],
    "fashion-10m-alone": ["--dataset", "fashion_mnist", "--time-budget", "10m", "--max-params", "100000"],
}


def run_search(case: str, seed: int) -> dict:
    command = [sys.executable, "-m", "nas.search", "--space", "cnn", "--strategy", "rl", "--seed", str(seed),
               "--json", *CASES[case]]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="nas-ws-bench-") as folder:
        start = time.perf_counter()
        finished = subprocess.run([*command, "--output", folder, "--name", f"{case}-{seed}"], capture_output=True,
                                  text=True)
        wall = time.perf_counter() - start
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    # Each supernet prints how far its latency estimate is off (nas.runner.progress: "within N% (median,
    # leave-one-out)").
    latency_errors = [int(percent)
                      for percent in re.findall(r"within (\d+)% \(median, leave-one-out\)", finished.stderr)]
    return {"command": " ".join(command[1:]), "wall_s": wall, "summary": summary, "latency_error_pct": latency_errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/weight-sharing"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in args.cases:
        runs = [measured_once(args.output / f"{case}-seed{seed}.json", lambda: run_search(case, seed))
                for seed in range(args.seeds)]
        bests = [run["summary"]["best"] for run in runs]
        rows.append(f"| {case} | `{' '.join(CASES[case]) or '(defaults)'}` "
                    f"| {spread([r['wall_s'] for r in runs], digits=0)} "
                    f"| {spread([_judged_or_trained(r['summary']) for r in runs], digits=0)} "
                    f"| {spread([_shortlisted(r['summary']) for r in runs], digits=0)} "
                    f"| {spread([best['test_accuracy'] for best in bests], 100)}% "
                    f"| {spread([best['params'] for best in bests], digits=0)} "
                    f"| {sum(best['trial'] == 0 for best in bests)} of {len(runs)} "
                    f"| {_latency_error(runs)} |")
        print(rows[-1], file=sys.stderr, flush=True)
    print_table(["case", "nas.search --space cnn --strategy rl ...", "wall s", "architectures judged or trained",
                 "shortlist trained alone",
                 "winner's test acc", "winner's params", "winner is LeNet (trial 0)",
                 "latency estimate off by (median, leave-one-out)"], rows, args.seeds)


def _judged_or_trained(summary: dict) -> int:
    """Architectures judged with shared weights, or trained when the search has no weight sharing."""
    return summary.get("architectures_judged") or summary["architectures_evaluated"]


def _shortlisted(summary: dict) -> int:
    """A weight-sharing search's trials trained alone (its shortlist); 0 without weight sharing."""
    judged = summary.get("architectures_judged") or 0
    return summary["architectures_evaluated"] - judged if judged else 0


def _latency_error(runs: list[dict]) -> str:
    errors = [error for run in runs for error in run.get("latency_error_pct", [])]
    return f"{spread(errors, digits=0)}%" if errors else ""


if __name__ == "__main__":
    main()
