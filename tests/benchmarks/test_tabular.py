"""The shipped tabular benchmark covers its whole space with plausible figures, and answers trials instantly."""
from __future__ import annotations

import sys

from benchmarks import compare_strategies
from benchmarks.compare_strategies import run_one
from benchmarks.tabular import TABULAR_SPACE, TabularBenchmark


def test_the_table_holds_every_architecture_of_its_space_once():
    benchmark = TabularBenchmark()
    assert len(benchmark) == TABULAR_SPACE.size >= 1000
    assert set(benchmark.results) == {arch.key for arch in TABULAR_SPACE.enumerate()}


def test_the_figures_are_plausible_for_mnist():
    benchmark = TabularBenchmark()
    perceptron = benchmark.evaluate(TABULAR_SPACE.validate({"depth": 0}))
    assert perceptron.params == 7850 and 0.8 < perceptron.validation_accuracy < 0.95
    assert 0.93 < benchmark.best_validation_accuracy < 0.99  # 4 epochs on 5,000 images: 94.64% here
    assert all(0 < result.latency_ms and result.flops > 0 for result in benchmark.results.values())


def test_a_strategy_runs_on_the_table_and_its_best_never_drops():
    curve = run_one(TabularBenchmark(), "evolution", seed=0, trials=60)
    best = [validation for validation, _ in curve]
    assert len(curve) == 60 and best == sorted(best)


def test_the_comparison_writes_its_curves_and_a_plot_and_reads_them_back(tmp_path, monkeypatch, capsys):
    curves_file, plot_file = tmp_path / "curves.csv", tmp_path / "curves.png"
    command = ["compare_strategies.py", "--strategies", "random", "evolution", "--seeds", "2", "--trials", "12",
               "--to", str(curves_file), "--plot", str(plot_file)]
    monkeypatch.setattr(sys, "argv", command)
    compare_strategies.main()
    table = capsys.readouterr().out
    assert "| random | " in table and "| evolution | " in table and "10 trials" in table
    assert plot_file.read_bytes().startswith(b"\x89PNG")
    curves = compare_strategies.read_csv(curves_file)
    assert set(curves) == {"random", "evolution"} and curves["random"].shape == (2, 12, 2)
    assert curves["random"][0].tolist() == [list(point) for point in
                                            compare_strategies.run_one(TabularBenchmark(), "random", 0, 12)]
