"""Two searches on one machine, the second running out of memory on purpose: the first must lose no trial.

    python benchmarks/memory_neighbours.py                    # 240 rl trials of mlp beside a search that grows
    python benchmarks/memory_neighbours.py --trials 60 --hungry-limit 8GB

The steady search is the README's long memory run: `python -m nas.search --space mlp --strategy rl` on MNIST,
1 epoch on 500 images per trial, `--top-k 0`. Once it has finished `--start-after` trials, a second search starts
in its own process on the space of tests/nas/hungry_space.py, whose 'grows' architectures take 64 MB every 20 ms
while they are built until something stops them, with `--max-memory` at `--hungry-limit` (by default, enough to
push the machine past the 95% at which Ray's memory monitor would kill workers, nas's included, had nas left it
on); two such trials at once (nas's default concurrency on 2 cores) outgrow the machine together, and the kernel's
OOM killer ends one of them. Every 0.2 s psutil reads the machine's used memory. Prints each search's exit code and trials (completed,
failed, and the failures' reasons), and the machine's peak memory use while both ran.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from nas.settings.checks import memory_size  # noqa: E402
from results import ResultStore, StoreError, TrialStatus  # noqa: E402

STEADY, HUNGRY = "steady", "hungry"


def trials(output: Path, run: str) -> list:
    try:
        with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
            return store.trials(run)
    except StoreError:  # not created yet
        return []


def search(run: str, output: Path, arguments: list[str]) -> subprocess.Popen:
    """The search as a user starts it; what it says goes to OUTPUT.log (a pipe would fill and stop it)."""
    output.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "nas.search", *arguments, "--top-k", "0", "--epochs", "1",
                             "--output", str(output), "--name", run], cwd=REPOSITORY,
                            env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, stdout=subprocess.DEVNULL,
                            stderr=(output / "search.log").open("w"))


def describe(run: str, process: subprocess.Popen, stored: list) -> str:
    statuses = collections.Counter(trial.status.value for trial in stored)
    reasons = collections.Counter(re.sub(r" \(the machine had .*|, the limit is .*", "", trial.error)
                                  for trial in stored if trial.status is TrialStatus.FAILED)
    said = "; ".join(f"{count} x {reason}" for reason, count in reasons.most_common()) or "-"
    return (f"| {run} | {process.returncode} | {len(stored)} | {statuses.get('completed', 0)} | "
            f"{statuses.get('failed', 0)} | {said} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=240)
    parser.add_argument("--start-after", type=int, default=40)
    parser.add_argument("--hungry-trials", type=int, default=6)
    parser.add_argument("--hungry-concurrency", type=int, default=None,
                        help="trials of the hungry search at once (default: nas's, as many as the cores allow); "
                             "each may take --hungry-limit, so two together outgrow the machine and the kernel's "
                             "OOM killer ends one")
    total = psutil.virtual_memory().total
    parser.add_argument("--hungry-limit", type=memory_size, default=None,
                        help="the hungry search's --max-memory (default: what takes the machine to 96%% used)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nas-neighbours-") as folder:
        steady_output, hungry_output = Path(folder) / STEADY, Path(folder) / HUNGRY
        steady = search(STEADY, steady_output, ["--space", "mlp", "--strategy", "rl", "--dataset", "mnist",
                                                "--train-subset", "500", "--trials", str(args.trials)])
        hungry = None
        peak_used, started = 0.0, time.monotonic()
        while steady.poll() is None or (hungry is not None and hungry.poll() is None):
            time.sleep(0.2)
            memory = psutil.virtual_memory()
            if hungry is None and len(trials(steady_output, STEADY)) >= args.start_after:
                limit = args.hungry_limit or int(0.96 * total - (memory.total - memory.available))
                print(f"[{time.monotonic() - started:5.0f}s] the hungry search starts, max_memory "
                      f"{limit / 1024**3:.1f} GB, machine {100 * (1 - memory.available / total):.0f}% used",
                      flush=True)
                hungry = search(HUNGRY, hungry_output, ["--space", "tests.nas.hungry_space:SPACE", "--dataset",
                                                        "mnist", "--train-subset", "500", "--trials",
                                                        str(args.hungry_trials), "--max-memory", str(limit),
                                                        *(["--concurrency", str(args.hungry_concurrency)]
                                                          if args.hungry_concurrency else [])])
            if hungry is not None and hungry.poll() is None:
                peak_used = max(peak_used, 1 - memory.available / total)
        print(f"\nBoth ended after {time.monotonic() - started:.0f} s; the machine's peak use while both ran: "
              f"{100 * peak_used:.1f}% of {total / 1024**3:.1f} GB\n")
        print("| search | exit code | trials | completed | failed | failures |")
        print("|---|---|---|---|---|---|")
        print(describe(STEADY, steady, trials(steady_output, STEADY)))
        if hungry is not None:
            print(describe(HUNGRY, hungry, trials(hungry_output, HUNGRY)))
        for name, process, output in ((STEADY, steady, steady_output), (HUNGRY, hungry, hungry_output)):
            if process is not None and process.returncode:
                print(f"\n{name} said: {(output / 'search.log').read_text()[-600:]}")


if __name__ == "__main__":
    main()
