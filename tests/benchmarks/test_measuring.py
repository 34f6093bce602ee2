"""The helpers the long benchmarks measure with: figures saved once and reused, and ASHA's best-so-far curve."""
from __future__ import annotations

import numpy as np

from benchmarks.asha_vs_fifo import best_so_far
from benchmarks.seeds import measured_once, spread


def test_figures_are_measured_once_and_then_read_back(tmp_path):
    calls = []

    def measure():
        calls.append(1)
        return {"test_accuracy": 0.99, "seed": len(calls)}

    path = tmp_path / "lenet-seed0.json"
    first = measured_once(path, measure)
    again = measured_once(path, measure)
    assert calls == [1] and first == again == {"test_accuracy": 0.99, "seed": 1}
    assert measured_once(tmp_path / "lenet-seed1.json", measure)["seed"] == 2  # another file is measured anew


def test_best_so_far_counts_only_trials_finished_by_each_time():
    run = {"trials": [{"seconds": 30.0, "validation_accuracy": 0.80},
                      {"seconds": 10.0, "validation_accuracy": 0.50},
                      {"seconds": 20.0, "validation_accuracy": None},  # failed: no score
                      {"seconds": 40.0, "validation_accuracy": 0.70}]}
    curve = best_so_far(run, np.array([0.0, 9.9, 10.0, 29.0, 30.0, 100.0]))
    np.testing.assert_allclose(curve, [0.0, 0.0, 0.50, 0.50, 0.80, 0.80])
    np.testing.assert_allclose(best_so_far({"trials": []}, np.array([5.0])), [0.0])


def test_spread_gives_mean_and_sample_standard_deviation():
    assert spread([0.9910, 0.9920, 0.9930], 100) == "99.20 ± 0.10"
    assert spread([17962.0], digits=0) == "17,962 (1 seed)"
