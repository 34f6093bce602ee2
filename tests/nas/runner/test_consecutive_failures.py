"""max_consecutive_failed_trials: after that many trials in a row failed, the search launches no more. The counting,
the recorder and the searcher without Ray; a search on Ray that stops (slow)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from ray.tune.search import Searcher

from nas.runner.consecutive_failures import ConsecutiveFailures
from nas.runner.recorder import TrialRecorder
from nas.runner.searcher import StrategySearcher
from results import ResultStore, RunRecord, RunStatus, TrialStatus
from search_spaces import Choice, SearchSpace
from strategies import get_strategy

TOY = SearchSpace("toy", [Choice("depth", [1, 2, 3]), Choice("width", [16, 32])])


def test_only_failures_in_a_row_count_and_the_limit_once_reached_stays():
    failures = ConsecutiveFailures(3)
    for number, error in enumerate(["NaN loss", "NaN loss", None, "out of memory", "cannot build"]):
        failures.trial_ended(number, error)
    assert (failures.streak, failures.reached) == (2, False)  # the success in between started the count again
    failures.trial_ended(5, "cannot build:\n  too deep")
    assert failures.reached and failures.reason == ("3 trials in a row failed (max_consecutive_failed_trials 3); "
                                                    "the last, trial 5: cannot build: too deep")
    failures.trial_ended(6, None)  # a trial in flight that completes afterwards
    assert failures.reached


def test_without_a_limit_no_run_of_failures_stops_the_search():
    failures = ConsecutiveFailures(None)
    for number in range(100):
        failures.trial_ended(number, "NaN loss")
    assert not failures.reached


class Ended:
    """A trial as Tune hands it to the callbacks when it ends, as far as the recorder reads it."""

    error_file = None

    class placement_group_factory:  # noqa: N801 (Tune's attribute name)
        required_resources = {"CPU": 1.0}

    def __init__(self, config: dict, last_result: dict):
        self.config, self.last_result = config, last_result


@pytest.fixture
def store(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(RunRecord("r", "toy", "random", "d", RunStatus.RUNNING, {}))
        yield store


def test_the_searcher_proposes_no_more_once_the_recorder_saw_the_limit_of_failures(store):
    strategy = get_strategy("random", TOY, seed=0)
    failures = ConsecutiveFailures(2)
    recorder = TrialRecorder(store, "r", strategy, observer=None, failures=failures)
    searcher = StrategySearcher(strategy, failures=failures)
    outcomes = [{"error": "NaN loss"}, {"epoch": 1, "epochs_planned": 1, "validation_accuracy": 0.5},
                {"error": "NaN loss"}, {"error": "cannot build"}]
    for number, outcome in enumerate(outcomes):
        config = searcher.suggest(f"ray-{number}")
        assert config["trial"] == number
        trial = Ended(config, outcome)
        recorder.on_trial_start(0, [], trial)
        searcher.on_trial_complete(f"ray-{number}", outcome)
        recorder.on_trial_complete(0, [], trial)
    assert searcher.suggest("ray-4") == Searcher.FINISHED
    assert [trial.status for trial in store.trials("r")] == [TrialStatus.FAILED, TrialStatus.COMPLETED,
                                                             TrialStatus.FAILED, TrialStatus.FAILED]


def test_proposals_refused_before_ray_count_as_failures_too(store):
    strategy = get_strategy("random", TOY, seed=0)
    failures = ConsecutiveFailures(3)
    recorder = TrialRecorder(store, "r", strategy, observer=None, failures=failures)
    refused = {"error": "over the limit: 9,000 parameters > max_params 100; not trained", "over_limit": True,
               "params": 9000}
    searcher = StrategySearcher(strategy, refusal=lambda arch: refused, on_refused=recorder.record_refused,
                                failures=failures)
    assert searcher.suggest("ray-0") == Searcher.FINISHED  # not the 100 refusals of one call, nor a trial for Ray
    assert len(store.trials("r")) == 3 and "max_params 100" in failures.reason


def build_nothing(arch, input_shape, num_outputs):
    raise ValueError("this builder builds nothing")


UNBUILDABLE = SearchSpace("unbuildable", [Choice("width", list(range(1, 17)))], builder=build_nothing)


@pytest.mark.slow  # about 20 s: a local Ray, and two trials that fail at once
def test_a_search_whose_trials_all_fail_stops_after_the_limit(tmp_path, caplog):
    import nas

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 4)).astype("float32"), rng.integers(0, 2, size=60)
    with caplog.at_level(logging.WARNING, logger="nas.runner.consecutive_failures"), \
            pytest.raises(nas.SearchFailedError, match="Every trial of run stops failed \\(2\\)"):
        nas.search(UNBUILDABLE, data=(x, y), trials=8, concurrency=1, max_consecutive_failed_trials=2,
                   output=str(tmp_path), name="stops", progress=False)
    assert "2 trials in a row failed (max_consecutive_failed_trials 2)" in caplog.text
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}", read_only=True) as store:
        assert [trial.status for trial in store.trials("stops")] == [TrialStatus.FAILED] * 2
