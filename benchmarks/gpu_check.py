"""A check for a machine with a GPU: two trials share it with --gpus-per-trial 0.5, their memory grows as they need
it instead of each taking the whole device, and how many trials a minute the GPU runs against the CPU alone.

    python benchmarks/gpu_check.py                  # cnn, random, 12 trials of 1 epoch on 5,000 MNIST images
    python benchmarks/gpu_check.py --trials 6 --skip-cpu

Each search is the command a user types (`python -m nas.search ... --top-k 0`, in its own process, a fresh store):
once with `--gpus-per-trial 0.5` (two trials at a time on one GPU), once with `--gpus-per-trial 0` (the CPUs
alone, as many trials at once as they allow). While the GPU search runs, `nvidia-smi` is read every half second:
the processes on the GPU and the memory each holds. Checked, each a line of PASS or FAIL:
1. every trial of the GPU search completed, and its latency was measured on the GPU (the store's latency_device);
2. two trials ran at the same time (their started/finished spans in the store overlap);
3. two processes held GPU memory at the same moment, and none held more than half of the device's memory (with
   memory growth off, TensorFlow takes nearly all of it at once and the second trial fails or waits).
Prints the figures as a Markdown table; exits 1 when a check fails, 2 when there is no GPU (nvidia-smi or
TensorFlow cannot see one).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from results import ResultStore, TrialStatus  # noqa: E402


def gpu_memory_total_mib() -> float | None:
    try:
        answer = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return float(answer.splitlines()[0]) if answer.strip() else None


def gpu_processes() -> dict[int, float]:
    """pid -> MiB of GPU memory, as nvidia-smi reports them now."""
    try:
        answer = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    used = {}
    for line in answer.splitlines():
        pid, _, memory = line.partition(",")
        if pid.strip().isdigit():
            used[int(pid)] = float(memory.strip() or 0)
    return used


def run_search(name: str, gpus: float, args, output: Path, watch: list | None = None) -> tuple[float, list]:
    command = [sys.executable, "-m", "nas.search", "--space", "cnn", "--strategy", "random", "--trials",
               str(args.trials), "--epochs", "1", "--train-subset", str(args.train_subset), "--top-k", "0",
               "--gpus-per-trial", str(gpus), "--seed", "0", "--output", str(output), "--name", name]
    print(f"$ {' '.join(command[1:])}", file=sys.stderr, flush=True)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            watch.append(gpu_processes())

    sampler = threading.Thread(target=sample, daemon=True) if watch is not None else None
    if sampler:
        sampler.start()
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True)
    wall = time.perf_counter() - started
    stop.set()
    if finished.returncode != 0:
        raise SystemExit(f"the search failed (exit {finished.returncode}):\n{finished.stderr[-3000:]}")
    with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
        return wall, store.trials(name)


def trials_per_minute(trials: list) -> float:
    span = (max(trial.finished_at for trial in trials) - min(trial.started_at for trial in trials)).total_seconds()
    return 60 * len(trials) / span


def overlapping(trials: list) -> bool:
    spans = sorted((trial.started_at, trial.finished_at) for trial in trials)
    return any(later_start < earlier_end for (_, earlier_end), (later_start, _) in zip(spans, spans[1:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--train-subset", type=int, default=5000)
    parser.add_argument("--skip-cpu", action="store_true", help="no CPU-only search to compare with")
    args = parser.parse_args()
    total = gpu_memory_total_mib()
    if total is None:
        print("no GPU: nvidia-smi cannot be run or reports none", file=sys.stderr)
        return 2
    output = Path(tempfile.mkdtemp(prefix="nas-gpu-check-"))
    samples: list[dict[int, float]] = []
    gpu_wall, gpu_trials = run_search("gpu-half", 0.5, args, output, samples)
    checks = {
        "every trial completed, its latency measured on the GPU":
            all(trial.status is TrialStatus.COMPLETED for trial in gpu_trials)
            and all("GPU" in (trial.latency_device or "") for trial in gpu_trials),
        "two trials ran at once": overlapping(gpu_trials),
        "two processes held GPU memory at once": any(len(sample) >= 2 for sample in samples),
        f"no process held more than half the GPU's {total:,.0f} MiB":
            all(memory <= total / 2 for sample in samples for memory in sample.values()),
    }
    rows = [f"| --gpus-per-trial 0.5 | {len(gpu_trials)} | {trials_per_minute(gpu_trials):.1f} | {gpu_wall:.0f} "
            f"| {max((max(sample.values(), default=0) for sample in samples), default=0):,.0f} |"]
    if not args.skip_cpu:
        cpu_wall, cpu_trials = run_search("cpu-only", 0.0, args, output)
        rows.append(f"| CPUs only | {len(cpu_trials)} | {trials_per_minute(cpu_trials):.1f} | {cpu_wall:.0f} | - |")
    print("| search | trials | trials a minute | wall s | most GPU MiB of one process |\n|---|---|---|---|---|")
    print("\n".join(rows) + "\n")
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}: {check}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
