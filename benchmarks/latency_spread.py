"""How far repeated latency measurements of the same model agree: the lecture's 3 reference models on MNIST.

    python benchmarks/latency_spread.py                    # TensorFlow's default threads (as nas.train runs)
    python benchmarks/latency_spread.py --threads 1        # one thread, as a search trial with 1 CPU runs
    python benchmarks/latency_spread.py --repeats 5 --batch-size 64

Each measurement is one `nas.estimator.latency.measure_latency` call (batch 1 and `--batch-size`), as a trial makes it;
the models take turns (perceptron, mlp, lenet, perceptron, ...), so each model's measurements spread over the
whole run. Prints a Markdown table: per model and batch size, the median, fastest and slowest of the
measurements, their spread (slowest / fastest; the issue asks for at most 1.10), the device and thread count,
and the wall time of one measurement.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, without installing nas

MODELS = (("mlp", "perceptron"), ("mlp", "mlp"), ("cnn", "lenet"))
INPUT_SHAPE = (28, 28, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="measurements per model (10)")
    parser.add_argument("--batch-size", type=int, default=32, help="the batch measured besides batch 1 (32)")
    parser.add_argument("--threads", type=int, help="TensorFlow's intra- and inter-op threads (default: TF's)")
    args = parser.parse_args(argv)
    if args.threads:  # before TensorFlow starts, as nas.estimator.evaluator.prepare_tensorflow does
        os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(args.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from nas.estimator.evaluator import build_model
    from nas.estimator.latency import measure_latency
    from search_spaces import get_space

    models = {name: build_model(get_space(space), get_space(space).reference(name), INPUT_SHAPE, 10)
              for space, name in MODELS}
    load_before = os.getloadavg()[0]
    measurements = {name: [] for name in models}
    seconds = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            measurements[name].append(measure_latency(model, INPUT_SHAPE, batch_size=args.batch_size))
            seconds[name].append(time.perf_counter() - start)

    print("| model | batch | median ms | min ms | max ms | spread (max/min) | device | threads | s per measurement |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, runs in measurements.items():
        for batch, figures in ((1, [run.batch_1_ms for run in runs]), (args.batch_size, [run.batch_ms for run in runs])):
            print(f"| {name} | {batch} | {statistics.median(figures):.3f} | {min(figures):.3f} | {max(figures):.3f} "
                  f"| {max(figures) / min(figures):.3f} | {runs[0].device} | {runs[0].threads} "
                  f"| {statistics.median(seconds[name]):.2f} |")
    print(f"\n{args.repeats} measurements per model, models in turn; {os.cpu_count()} cores, 1-minute load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
