"""Work redone after a kill: a search's driver is killed (SIGKILL, with the Ray it started) while trials are in
flight, then resumed; how many epochs of the in-flight trials are trained again.

    python benchmarks/resume_after_kill.py                   # 3 kills, mlp on 5,000 MNIST images, 8 epochs a trial
    python benchmarks/resume_after_kill.py --kills 1 --epochs 4

Each round runs `python -m nas.search --space mlp --trials 10 --epochs E --concurrency 2` in its own process group,
kills the group once two trials are in flight and one of them has saved at least two epochs, and runs the same
command with `--resume`. Counted from Ray Tune's trial folders (params.json, result.json and the checkpoints):
- reached: the epochs the in-flight trials had finished when the driver died. Before trials kept checkpoints, a
  resume trained every in-flight trial again from its first epoch: all of these were trained again.
- trained again: the epochs the resumed trials trained that they had finished before (their first epoch reported
  after the resume, against the epoch they had reached).
Prints a Markdown table: mean ± standard deviation over the rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from benchmarks.seeds import spread  # noqa: E402
from nas.runner.tune import latest_checkpoints  # noqa: E402
from nas.estimator.training import saved_epoch  # noqa: E402
from results import ResultStore, StoreError, TrialStatus  # noqa: E402

RUN = "killed"


def running_trials(output: Path) -> set[int]:
    try:
        with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
            return {trial.number for trial in store.trials(RUN) if trial.status is TrialStatus.RUNNING}
    except StoreError:  # not created yet
        return set()


def reported_epochs(experiment: Path) -> dict[Path, tuple[int, list[int]]]:
    """Each Tune trial folder of the experiment: (its trial number, the epochs it reported)."""
    folders = {}
    for params in experiment.glob("*/params.json"):
        result = params.parent / "result.json"
        lines = [json.loads(line) for line in (result.read_text().splitlines() if result.exists() else [])
                 if line.strip()]
        folders[params.parent] = (json.loads(params.read_text())["trial"],
                                  [line["epoch"] for line in lines if "epoch" in line])
    return folders


def one_round(seed: int, args) -> tuple[int, int]:
    output = Path(tempfile.mkdtemp(prefix="nas-resume-after-kill-"))
    experiment = output / "ray_results" / RUN
    command = [sys.executable, "-m", "nas.search", "--space", "mlp", "--dataset", "mnist", "--train-subset",
               str(args.train_subset), "--trials", "10", "--epochs", str(args.epochs), "--concurrency", "2",
               "--top-k", "0", "--seed", str(seed), "--output", str(output), "--name", RUN]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    driver = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
            running = running_trials(output)
            saved = {number: saved_epoch(Path(folder)) for number, folder in latest_checkpoints(experiment).items()}
            if len(running) == 2 and any((saved.get(number) or 0) >= 2 for number in running):
                break
        else:
            raise SystemExit("the search ended (or took 10 minutes) before it could be killed mid-trial")
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray it started
        except ProcessLookupError:
            pass
        driver.wait()
    time.sleep(2)  # Ray's workers, in their own sessions, notice and end
    in_flight = running_trials(output)
    before = reported_epochs(experiment)
    reached = {number: max((max(epochs) for trial, epochs in before.values() if trial == number and epochs),
                           default=0) for number in in_flight}
    resumed = subprocess.run([*command, "--resume"], cwd=REPOSITORY, capture_output=True, text=True)
    if resumed.returncode != 0:
        raise SystemExit(f"the resume failed:\n{resumed.stderr[-2000:]}")
    after = {folder: figures for folder, figures in reported_epochs(experiment).items() if folder not in before}
    again = 0
    for number, epoch in reached.items():  # the resumed session's first epoch: where it went on from
        first = min((min(epochs) for trial, epochs in after.values() if trial == number and epochs), default=1)
        again += max(0, epoch - (first - 1))
    return sum(reached.values()), again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--train-subset", type=int, default=5000)
    args = parser.parse_args()
    rounds = [one_round(seed, args) for seed in range(args.kills)]
    print(f"{args.kills} kills, mlp trials of {args.epochs} epochs on {args.train_subset} MNIST images, 2 in flight.\n")
    print("| epochs of the in-flight trials | per kill |\n|---|---|")
    print(f"| reached when the driver died (all trained again before checkpoints) "
          f"| {spread([reached for reached, _ in rounds], digits=1)} |")
    print(f"| trained again after the resume | {spread([again for _, again in rounds], digits=1)} |")


if __name__ == "__main__":
    main()
