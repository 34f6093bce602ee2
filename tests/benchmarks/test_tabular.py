"""The shipped tabular benchmarks cover their spaces with plausible figures, and the comparison replays a search as
it runs: several trials in flight, failures, and the best architecture told so far."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from benchmarks import compare_strategies
from benchmarks.compare_strategies import parse_strategy, run_one
from benchmarks.tabular import BENCHMARKS, TabularBenchmark
from strategies import get_strategy


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_each_table_holds_every_architecture_of_its_space_once(name):
    benchmark = TabularBenchmark(name)
    assert len(benchmark) == benchmark.space.size >= 600
    assert set(benchmark.results) == {arch.key for arch in benchmark.space.enumerate()}
    assert all(0 < result.latency_ms and result.flops > 0 and result.params > 0
               for result in benchmark.results.values())


def test_the_mnist_figures_are_plausible():
    benchmark = TabularBenchmark("mnist-mlp")
    perceptron = benchmark.evaluate(benchmark.space.validate({"depth": 0}))
    assert perceptron.params == 7850 and 0.8 < perceptron.validation_accuracy < 0.95
    assert 0.93 < benchmark.best_validation_accuracy < 0.99  # 4 epochs on 5,000 images: 94.64% here


def test_the_fashion_cnn_table_has_the_interaction_it_is_built_for():
    # A global-average-pooling head trains poorly in 2 epochs, worst without batch norm (measured: 35.7% mean
    # validation accuracy, 49.1% with it); batch norm matters far less to a flatten head (75.4%, 79.5%).
    benchmark = TabularBenchmark("fashion-cnn")
    def mean_accuracy(head, batch_norm):
        return np.mean([result.validation_accuracy for key, result in benchmark.results.items()
                        if f"head={head}" in key and f"batch_norm={str(batch_norm).lower()}" in key])
    assert mean_accuracy("gap", False) + 0.1 < mean_accuracy("gap", True) < mean_accuracy("flatten", False) - 0.2
    assert abs(mean_accuracy("flatten", False) - mean_accuracy("flatten", True)) < 0.06
    assert 0.75 < benchmark.best_validation_accuracy < 0.9


class Recording:
    """A strategy that records what it is asked and told, to check the replay against."""

    def __init__(self, strategy):
        self.strategy, self.told, self.most_outstanding = strategy, [], 0

    def ask(self):
        trial = self.strategy.ask()
        self.most_outstanding = max(self.most_outstanding, len(self.strategy.outstanding))
        return trial

    def tell(self, trial, reward):
        self.told.append((trial.arch, reward))
        self.strategy.tell(trial, reward)


def replay(monkeypatch, **settings):
    recorded = []
    monkeypatch.setattr(compare_strategies, "get_strategy",
                        lambda *args, **options: recorded.append(Recording(get_strategy(*args, **options)))
                        or recorded[-1])
    benchmark = TabularBenchmark("mnist-mlp")
    return benchmark, run_one(benchmark, "evolution", seed=0, trials=60, **settings), recorded[0]


def test_the_curve_is_the_best_architecture_told_so_far_and_its_test_accuracy(monkeypatch):
    benchmark, curve, recording = replay(monkeypatch)
    assert len(curve) == len(recording.told) == 60 and recording.most_outstanding == 1
    for count, (validation, test) in enumerate(curve, start=1):
        scored = [(reward, arch) for arch, reward in recording.told[:count] if reward is not None]
        best_reward, best_arch = max(scored, key=lambda pair: pair[0])
        assert (validation, test) == (best_reward, benchmark.evaluate(best_arch).test_accuracy)
    assert all(reward == benchmark.evaluate(arch).validation_accuracy for arch, reward in recording.told)


def test_trials_run_several_at_a_time_and_failures_are_told_as_failed(monkeypatch):
    _, curve, recording = replay(monkeypatch, in_flight=4, failures=0.25)
    failed = sum(reward is None for _, reward in recording.told)
    assert recording.most_outstanding == 4 and len(curve) == 60 and 8 <= failed <= 22


def test_an_exhausted_space_ends_at_the_tables_best():
    benchmark = TabularBenchmark("fashion-cnn")
    curve = run_one(benchmark, "random", seed=0, trials=len(benchmark) + 5)
    best_key = max(benchmark.results, key=lambda key: benchmark.results[key].validation_accuracy)
    assert curve[-1] == (benchmark.best_validation_accuracy, benchmark.results[best_key].test_accuracy)


def test_strategy_options_are_parsed_and_bad_ones_refused():
    assert parse_strategy("rl(batch_size=1, learning_rate=0.03)") == ("rl", {"batch_size": 1, "learning_rate": 0.03})
    assert parse_strategy("random") == ("random", {})
    with pytest.raises(ValueError, match="expected a strategy among"):
        parse_strategy("annealing")


def test_the_comparison_writes_its_curves_and_a_plot_and_reads_them_back(tmp_path, monkeypatch, capsys):
    curves_file, plot_file = tmp_path / "curves.csv", tmp_path / "curves.png"
    command = ["compare_strategies.py", "--strategies", "random", "evolution", "--seeds", "2", "--trials", "12",
               "--to", str(curves_file), "--plot", str(plot_file)]
    monkeypatch.setattr(sys, "argv", command)
    compare_strategies.main()
    table = capsys.readouterr().out
    assert "| random | " in table and "| evolution | " in table and "10 trials" in table
    assert "After 12 trials, mean ± standard deviation over 2 seeds" in table
    assert plot_file.read_bytes().startswith(b"\x89PNG")
    curves = compare_strategies.read_csv(curves_file)
    assert set(curves) == {"random", "evolution"} and curves["random"].shape == (2, 12, 2)
    assert curves["random"][0].tolist() == [list(point) for point in
                                            compare_strategies.run_one(TabularBenchmark(), "random", 0, 12)]
