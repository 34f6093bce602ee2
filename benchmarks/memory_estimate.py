"""The memory estimate of nas/estimator/footprint.py against the real peak memory of training, per built-in space.

    python benchmarks/memory_estimate.py                      # 32 architectures of mlp and of cnn, about 10 minutes
    python benchmarks/memory_estimate.py --space cnn --count 8
    python benchmarks/memory_estimate.py --fresh              # measure everything again

Each architecture is measured alone in a fresh Python process (one at a time, so that peaks do not mix), as a
search trial of the default settings trains it: one TensorFlow thread, the memory allocator of nas's Ray trial
workers (Ray's jemalloc with nas's settings, nas/runner/cluster.py; `--allocator glibc` for glibc's malloc), the
data a trial gets (the first subset of a default MNIST search: 5,000 training images of nas/data/mnist.npz, float32
shaped (28, 28, 1), and the 6,000 validation images; the driver prepares them once, with nas.data, and each
process loads the arrays), nas's own `train` with the default `Recipe()` (Adam, batches of 128) for one epoch,
validated on the held-out part after it. In that process:
1. TensorFlow is imported, the data loaded, and the mlp space's `perceptron` reference trained the same way, so
   that TensorFlow's runtime is warm; the resident set size (VmRSS) then is the baseline: TensorFlow's own and the
   data's, what `TENSORFLOW_WORKER_BYTES` + `DATA_COPIES` x the data stand for.
2. The architecture is built (`space.build(arch, (28, 28, 1), 10)`) and trained while a thread reads VmRSS every
   5 ms; its peak is the largest sample, or the process's `ru_maxrss` (getrusage) where that rose during the
   training and is larger. The measured architecture part is the peak minus the baseline. A second reading is the
   peak minus the warm-up's own peak, which leaves out what every `fit` takes whatever its model (the perceptron's
   own estimated part, about 2 MB, is then left out too).
3. The estimate is `footprint.estimate(space, arch, (28, 28, 1), 10, Recipe()).architecture_bytes`: weights and
   gradients, the optimizer's state, `ACTIVATION_COPIES` copies of the activations at the batch size, and what a
   training run holds besides (`TRAINING_RUN_BYTES`, `LAYER_BYTES` a layer).

The architectures are each space's references and then random ones (`space.sample`, seeded), without those the
estimate refuses (a ValueError: they do not fit 28x28). Every measurement is saved as it ends to
benchmarks/figures/memory_estimate.json (`--output`): the rows hold the measurements, and the estimates are
computed when the tables are printed, from footprint.py as it is then. A rerun measures only the architectures
missing there. Prints, per space, Markdown tables: measured / estimated (median, and the worst under-estimate: the
largest), the ACTIVATION_COPIES that would make each estimate equal its measurement and a least-squares fit of
them, the baseline against TENSORFLOW_WORKER_BYTES, the whole worker's peak against `Footprint.trial_bytes`, and the
3 worst under-estimates.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

import numpy as np

from nas.estimator import footprint
from nas.estimator.recipe import Recipe
from search_spaces import get_space

MNIST = REPOSITORY / "nas" / "data" / "mnist.npz"
DEFAULT_OUTPUT = REPOSITORY / "benchmarks" / "figures" / "memory_estimate.json"
INPUT_SHAPE, NUM_OUTPUTS = (28, 28, 1), 10
SAMPLE_SECONDS = 0.005
MB = 1024**2


# ----------------------------------------------------------------------------------------------- the child process

def resident_bytes() -> int:
    """VmRSS: the process's resident set now (/proc/self/statm's second field, in pages)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def max_resident_bytes() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class PeakSampler:
    """Reads VmRSS every `interval` seconds in a thread until stopped; `peak` is the largest reading."""

    def __init__(self, interval: float = SAMPLE_SECONDS):
        import threading

        self.interval, self.peak, self.samples = interval, resident_bytes(), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, resident_bytes())
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())


def allocator_in_use() -> str:
    with open("/proc/self/maps") as maps:
        return "jemalloc" if "libjemalloc" in maps.read() else "glibc"


def measure(space_name: str, arch_json: str, data_path: str, epochs: int) -> dict:
    """In a fresh process: the baseline after a warm-up training, then the peak of training `arch`."""
    from nas.estimator.evaluator import prepare_tensorflow

    prepare_tensorflow(1)  # one thread, as a trial on this machine; set before TensorFlow's first op
    import keras
    import tensorflow as tf

    from nas.data.task_data import Task
    from nas.estimator.training import train
    from search_spaces import get_space

    with np.load(data_path) as arrays:
        x_train, y_train = arrays["x_train"], arrays["y_train"]
        held_out = (arrays["x_validation"], arrays["y_validation"])
    rss_loaded = resident_bytes()
    space = get_space(space_name)
    arch = space.from_json(arch_json)
    recipe = dataclasses.replace(Recipe(), epochs=epochs).for_architecture(dict(arch))

    # 1. Warm-up: the perceptron, trained the same way, so that TensorFlow's runtime and Keras' are loaded.
    mlp = get_space("mlp")
    warm = mlp.build(mlp.reference("perceptron"), INPUT_SHAPE, NUM_OUTPUTS)
    with PeakSampler() as warm_up:
        train(warm, x_train, y_train, dataclasses.replace(Recipe(), epochs=1), Task.CLASSIFICATION, held_out=held_out)
    del warm
    keras.backend.clear_session()
    baseline = resident_bytes()
    max_before = max_resident_bytes()

    # 2. The architecture, built and trained while a thread samples the resident set.
    keras.utils.set_random_seed(0)
    started = time.perf_counter()
    with PeakSampler() as sampler:
        model = space.build(arch, INPUT_SHAPE, NUM_OUTPUTS)
        train(model, x_train, y_train, recipe, Task.CLASSIFICATION, held_out=held_out)
    seconds = time.perf_counter() - started
    max_after = max_resident_bytes()
    # ru_maxrss is the process's lifetime peak: it tells about the training only where the training raised it.
    rusage_peak = max_after if max_after > max_before else None
    peak = max(sampler.peak, rusage_peak or 0)
    return {"rss_loaded": rss_loaded, "warm_up_peak": warm_up.peak, "baseline": baseline,
            "peak_sampled": sampler.peak, "peak_rusage": rusage_peak, "peak": peak, "measured": peak - baseline,
            "samples": sampler.samples, "built_params": int(model.count_params()), "train_seconds": seconds,
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "threads": int(os.environ["TF_NUM_INTRAOP_THREADS"]), "allocator": allocator_in_use()}


# ---------------------------------------------------------------------------------------------- the driver process

def architectures(space, count: int, seed: int) -> list[tuple[str, object]]:
    """(name, architecture): the space's references, then random ones up to `count`, all that fit 28x28."""
    chosen, seen = [], set()
    for name, arch in space.references.items():
        chosen.append((name, arch))
        seen.add(arch.key)
    rng = np.random.default_rng(seed)
    attempts = 0
    while len(chosen) < count:
        attempts += 1
        if attempts > 100 * count:
            raise SystemExit(f"could not draw {count} distinct {space.name} architectures that fit {INPUT_SHAPE}")
        arch = space.sample(rng)
        if arch.key in seen:
            continue
        seen.add(arch.key)
        try:
            footprint.estimate(space, arch, INPUT_SHAPE, NUM_OUTPUTS, Recipe())
        except ValueError:  # it does not fit 28x28
            continue
        chosen.append(("random", arch))
    return chosen[:max(count, len(space.references))]


def trial_data(folder: Path, train_images: int, seed: int) -> tuple[Path, int]:
    """The arrays a trial worker of a default MNIST search holds, saved once for the children; and their bytes."""
    from nas.data.sources import load_data

    data = load_data(data=str(MNIST), seed=seed).without_test().training_subset(train_images, seed)
    arrays = {"x_train": data.x_train, "y_train": data.y_train, "x_validation": data.x_validation,
              "y_validation": data.y_validation}
    path = folder / "trial_data.npz"
    np.savez(path, **arrays)
    return path, sum(array.nbytes for array in arrays.values())


def allocator_environment(allocator: str) -> dict[str, str]:
    """The children's environment: with `jemalloc`, the allocator and settings nas's Ray trial workers run with
    (nas/runner/cluster.py: Ray's bundled ray/core/libjemalloc.so, preloaded, and WORKER_ALLOCATOR_SETTINGS)."""
    environment = {name: value for name, value in os.environ.items() if name not in ("LD_PRELOAD", "MALLOC_CONF")}
    if allocator == "glibc":
        return environment
    import importlib.util

    from nas.runner.cluster import WORKER_ALLOCATOR_SETTINGS

    ray = importlib.util.find_spec("ray")
    library = Path(ray.origin).parent / "core" / "libjemalloc.so" if ray and ray.origin else None
    if library is None or not library.is_file():
        raise SystemExit("Ray's jemalloc (ray/core/libjemalloc.so) is not installed; use --allocator glibc")
    return {**environment, "LD_PRELOAD": str(library), **WORKER_ALLOCATOR_SETTINGS}


def run_child(space_name: str, arch, data_path: Path, epochs: int, timeout: float, environment: dict) -> dict:
    command = [sys.executable, __file__, "--child", space_name, arch.to_json(), str(data_path), str(epochs)]
    finished = subprocess.run(command, check=False, cwd=REPOSITORY, capture_output=True, text=True, timeout=timeout,
                              env=environment)
    if finished.returncode != 0:
        raise RuntimeError(f"the measuring process failed (exit {finished.returncode}):\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def with_estimate(space, row: dict) -> dict:
    """A measured row with footprint.py's estimate of its architecture as footprint.py is now (the JSON keeps the
    measurements only, so that a changed estimate is compared with the same measurements)."""
    estimate = footprint.estimate(space, space.validate(row["arch"]), INPUT_SHAPE, NUM_OUTPUTS, Recipe())
    return {**row, "params": estimate.params, "weights": estimate.weights,
            "optimizer_state": estimate.optimizer_state, "activations": estimate.activations,
            "estimated": estimate.architecture_bytes, "trial_bytes": estimate.trial_bytes(row["data_bytes"]),
            "batch_size": estimate.batch_size}


def load_rows(path: Path, settings: dict, fresh: bool) -> list[dict]:
    if fresh or not path.is_file():
        return []
    saved = json.loads(path.read_text())
    if saved.get("settings") != settings:
        raise SystemExit(f"{path} was measured with other settings ({saved.get('settings')}); rerun with --fresh "
                         f"or another --output")
    return saved["rows"]


def save_rows(path: Path, settings: dict, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.part")
    temporary.write_text(json.dumps({"settings": settings, "rows": rows}, indent=1))
    temporary.replace(path)


def describe(size: float) -> str:
    return f"{size / MB:,.1f} MB"


def describe_arch(row: dict) -> str:
    values = {name: value for name, value in row["arch"].items()}
    return row["name"] if row["name"] != "random" else ", ".join(f"{name}={value}" for name, value in values.items())


def copies_needed(row: dict, part: str) -> float:
    """The ACTIVATION_COPIES at which this architecture's estimate equals its measured `part`."""
    per_copy = row["activations"] / footprint.ACTIVATION_COPIES
    return (row[part] - row["weights"] - row["optimizer_state"]) / per_copy


def fitted_copies(rows: list[dict], part: str) -> tuple[float, float]:
    """Least squares of the measured `part` - weights - optimizer state = overhead + copies x one copy of the
    activations: (overhead bytes, copies)."""
    per_copy = np.array([row["activations"] / footprint.ACTIVATION_COPIES for row in rows], dtype=float)
    rest = np.array([row[part] - row["weights"] - row["optimizer_state"] for row in rows], dtype=float)
    copies, overhead = np.polyfit(per_copy, rest, 1)
    return float(overhead), float(copies)


# The two readings of the architecture's part: above the resident set before its training (the baseline), and above
# the peak of the warm-up's training (the perceptron's), which leaves out what every `fit` takes whatever the model.
PARTS = {"measured": "peak - baseline", "above_warm_up": "peak - warm-up peak"}


def report(space_name: str, rows: list[dict], data_bytes: int) -> None:
    rows = [{**row, "above_warm_up": row["peak"] - row["warm_up_peak"]} for row in rows]
    median = statistics.median
    baseline, warm_up = median(row["baseline"] for row in rows), median(row["warm_up_peak"] for row in rows)
    trial_ratios = [row["peak"] / row["trial_bytes"] for row in rows]
    first = rows[0]
    print(f"\n### {space_name}: {len(rows)} architectures, {first['epochs']} epoch(s) of {first['train_images']:,} "
          f"MNIST images, batch {first['batch_size']}, TensorFlow {first['tensorflow']}, {first['threads']} thread, "
          f"{first['allocator']}\n")
    print("| measured part | median measured / estimated | worst (largest) | under-estimated | median measured | "
          "median estimated | ACTIVATION_COPIES to equal it: median | largest | least squares: overhead + copies |")
    print("|---|---|---|---|---|---|---|---|---|")
    for part, label in PARTS.items():
        ratios = [row[part] / row["estimated"] for row in rows]
        needed = [copies_needed(row, part) for row in rows]
        overhead, copies = fitted_copies(rows, part)
        print(f"| {label} | {median(ratios):.2f} | {max(ratios):.2f} | {sum(r > 1 for r in ratios)} of {len(rows)} "
              f"| {describe(median(row[part] for row in rows))} | {describe(median(row['estimated'] for row in rows))} "
              f"| {median(needed):.1f} | {max(needed):.1f} | {describe(overhead)} + {copies:.2f} x |")
    print("\n| median baseline (TF + data) | baseline range | median loaded, before the warm-up | median warm-up peak "
          "| data held | baseline - data | baseline - 2 x data | TENSORFLOW_WORKER_BYTES | whole worker: peak / "
          "trial_bytes, median | largest |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {describe(baseline)} | {describe(min(row['baseline'] for row in rows))} - "
          f"{describe(max(row['baseline'] for row in rows))} | {describe(median(row['rss_loaded'] for row in rows))} | "
          f"{describe(warm_up)} | {describe(data_bytes)} | {describe(baseline - data_bytes)} | "
          f"{describe(baseline - 2 * data_bytes)} | {describe(footprint.TENSORFLOW_WORKER_BYTES)} | "
          f"{median(trial_ratios):.2f} | {max(trial_ratios):.2f} |")
    print("\nThe 3 worst under-estimates (largest measured / estimated, peak - baseline):\n")
    print("| architecture | params | measured part | estimated part | measured / estimated | above the warm-up peak "
          "| weights + gradients | optimizer state | activations | peak: sampled / getrusage | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in sorted(rows, key=lambda row: row["measured"] / row["estimated"], reverse=True)[:3]:
        rusage = describe(row["peak_rusage"]) if row["peak_rusage"] else "-"
        print(f"| {describe_arch(row)} | {row['params']:,} | {describe(row['measured'])} | "
              f"{describe(row['estimated'])} | {row['measured'] / row['estimated']:.2f} | "
              f"{describe(row['above_warm_up'])} | {describe(row['weights'])} | {describe(row['optimizer_state'])} | "
              f"{describe(row['activations'])} | {describe(row['peak_sampled'])} / {rusage} | "
              f"{row['train_seconds']:.0f} |")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        space_name, arch_json, data_path, epochs = argv[1:5]
        print(json.dumps(measure(space_name, arch_json, data_path, int(epochs))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", nargs="+", default=["mlp", "cnn"], choices=["mlp", "cnn"])
    parser.add_argument("--count", type=int, default=32, help="architectures per space, references included")
    parser.add_argument("--seed", type=int, default=0, help="draws the random architectures")
    parser.add_argument("--train-images", type=int, default=5000, help="a trial's training subset (default 5,000)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds one architecture may take")
    parser.add_argument("--allocator", choices=["jemalloc", "glibc"], default="jemalloc",
                        help="the children's malloc (default: jemalloc, as nas's Ray trial workers)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the rows, as JSON (resumed from)")
    parser.add_argument("--fresh", action="store_true", help="measure again what --output holds")
    args = parser.parse_args(argv)

    settings = {"allocator": args.allocator, "seed": args.seed, "train_images": args.train_images,
                "epochs": args.epochs, "recipe": {"optimizer": "adam", "batch_size": Recipe().batch_size}, "threads": 1,
                "machine": f"{platform.system()} {platform.machine()}"}
    rows = load_rows(args.output, settings, args.fresh)
    environment = allocator_environment(args.allocator)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nas-memory-estimate-") as folder:
        data_path, data_bytes = trial_data(Path(folder), args.train_images, args.seed)
        for space_name in args.space:
            space = get_space(space_name)
            done = {(row["space"], row["key"]): row for row in rows}
            chosen = architectures(space, args.count, args.seed)
            for number, (name, arch) in enumerate(chosen, 1):
                if (space_name, arch.key) in done:
                    continue
                measured = run_child(space_name, arch, data_path, args.epochs, args.timeout, environment)
                rows.append({"space": space_name, "name": name, "key": arch.key, "arch": arch.to_dict(), **measured,
                             "train_images": args.train_images, "epochs": args.epochs, "data_bytes": data_bytes})
                save_rows(args.output, settings, rows)
                row = with_estimate(space, rows[-1])
                print(f"{space_name} {number}/{len(chosen)}: measured {describe(row['measured'])}, estimated "
                      f"{describe(row['estimated'])} ({row['measured'] / row['estimated']:.2f}), baseline "
                      f"{describe(row['baseline'])}, {row['train_seconds']:.0f} s  {arch.key}", file=sys.stderr,
                      flush=True)
    print(f"Measured in {(time.perf_counter() - started) / 60:.1f} min (rows measured earlier are read from "
          f"{args.output.relative_to(REPOSITORY) if args.output.is_relative_to(REPOSITORY) else args.output}).")
    for space_name in args.space:
        keys = {arch.key for _, arch in architectures(get_space(space_name), args.count, args.seed)}
        space = get_space(space_name)
        space_rows = [with_estimate(space, row) for row in rows if row["space"] == space_name and row["key"] in keys]
        if space_rows:
            report(space_name, space_rows, space_rows[0]["data_bytes"])


if __name__ == "__main__":
    main()
