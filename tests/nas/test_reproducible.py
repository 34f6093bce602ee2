"""The same seed and concurrency propose the same architecture for each trial number, run after run, although
parallel trials finish in a different order each time (nas/runner/searcher.py)."""
from __future__ import annotations

import pytest

from nas.commands import search
from results import ResultStore


@pytest.mark.slow  # two searches through Ray, about a minute; CI runs it after the default suite
def test_two_runs_with_the_same_seed_and_concurrency_propose_the_same_architectures(tmp_path):
    common = ["--space", "tests.nas.user_space:SPACE", "--data", "tests.nas.user_space:load_data",
              "--train-fn", "tests.nas.user_space:jittered_train", "--strategy", "evolution",
              "--strategy-option", "population_size=4", "--strategy-option", "sample_size=2", "--trials", "14",
              "--concurrency", "2", "--top-k", "0", "--seed", "5", "--output", str(tmp_path)]
    for name in ("first", "second"):
        assert search.main([*common, "--name", name]) == 0
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}", read_only=True) as store:
        first, second = store.trials("first"), store.trials("second")
    assert [trial.number for trial in first] == list(range(14))
    assert [trial.arch_key for trial in first] == [trial.arch_key for trial in second]
    finished = [sorted(first, key=lambda trial: trial.finished_at), sorted(second, key=lambda trial: trial.finished_at)]
    # The control: the trials did finish in another order (else this test would show nothing).
    assert [trial.number for trial in finished[0]] != [trial.number for trial in finished[1]]
