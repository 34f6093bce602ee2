"""Leaderboards rank stored trials best first, filter them, and refuse an unknown sort key."""
from __future__ import annotations

import pytest

from results import leaderboard


def ranking(rows):
    return [(row.run, row.trial) for row in rows]


def test_best_validation_accuracy_first_ties_to_fewer_params_failures_last(filled_store):
    assert ranking(leaderboard(filled_store)) == \
        [("mlp-run", 0), ("cnn-run", 1), ("cnn-run", 0), ("mlp-run", 1), ("cnn-run", 2)]


def test_sorting_by_a_cost_puts_the_cheapest_first(filled_store):
    assert ranking(leaderboard(filled_store, sort="latency_ms")) == \
        [("mlp-run", 1), ("mlp-run", 0), ("cnn-run", 0), ("cnn-run", 1), ("cnn-run", 2)]
    assert ranking(leaderboard(filled_store, sort="test_accuracy"))[0] == ("cnn-run", 1)


def test_filters_and_top(filled_store):
    assert ranking(leaderboard(filled_store, run="cnn-run", top=2)) == [("cnn-run", 1), ("cnn-run", 0)]
    assert ranking(leaderboard(filled_store, dataset="digits")) == [("mlp-run", 0), ("mlp-run", 1)]
    assert ranking(leaderboard(filled_store, space="mlp", strategy="bayes", top=1)) == [("mlp-run", 0)]
    assert leaderboard(filled_store, strategy="rl") == []


def test_rows_carry_their_runs_details(filled_store):
    row = leaderboard(filled_store, top=1)[0]
    assert (row.space, row.strategy, row.dataset, row.arch, row.params) == ("mlp", "bayes", "digits", "depth=0", 3000)


def test_an_unknown_sort_key_is_refused(filled_store):
    with pytest.raises(ValueError, match="Unknown sort key 'speed'. Expected one of: score, validation_accuracy"):
        leaderboard(filled_store, sort="speed")
