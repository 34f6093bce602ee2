"""A weight-sharing search's shortlist: its best judged children trained alone before the final training picks."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from nas.runner.summary import ranked_trials
from nas.estimator.objectives import Objective
from nas.weight_sharing.shortlist import shortlist_to_train, shortlisted
from results import JudgedWith, TrialRecord, TrialStatus
from search_spaces.cnn import CNN_SPACE

REPO = Path(__file__).resolve().parents[3]


def _architectures(count: int, blocks: int | None = None):
    """`count` distinct architectures of the cnn space (of `blocks` conv blocks, if given)."""
    rng = np.random.default_rng(0)
    found = {}
    while len(found) < count:
        arch = CNN_SPACE.sample(rng)
        if blocks is None or arch["blocks"] == blocks:
            found.setdefault(arch.key, arch)
    return list(found.values())


def _row(number, arch, accuracy, judged_with=JudgedWith.SHARED_WEIGHTS, status=TrialStatus.COMPLETED, params=1000):
    now = datetime.now(timezone.utc)
    return TrialRecord(run="run", number=number, status=status, arch_key=arch.key, arch=arch.to_dict(),
                       validation_accuracy=accuracy, score=accuracy, params=params, latency_ms=0.1,
                       started_at=now, finished_at=now, judged_with=judged_with)


def test_the_shortlist_is_the_best_judged_one_per_architecture():
    a, b, c = _architectures(3, blocks=2)
    d, e = _architectures(2, blocks=1)
    trials = [_row(0, a, 0.50), _row(1, b, 0.90), _row(2, c, 0.70), _row(3, b, 0.95),  # b judged twice
              _row(4, d, None, status=TrialStatus.FAILED), _row(5, e, 0.99, judged_with=JudgedWith.TRAINING),
              _row(6, c, 0.70, params=10)]  # ties: fewer parameters first
    assert [trial.number for trial in shortlisted(trials, Objective(), 2)] == [3, 6]
    assert [trial.number for trial in shortlisted(trials, Objective(), 10)] == [3, 6, 0]


def test_the_shortlist_takes_the_best_of_each_depth_in_turn():
    """Shared weights judge deep children lower than shallow ones: the deep ones' best still get trained alone."""
    shallow, middle, deep = (_architectures(3, blocks) for blocks in (1, 2, 3))
    trials = [_row(number, arch, accuracy) for number, (arch, accuracy) in enumerate([
        *zip(shallow, (0.90, 0.89, 0.88)), *zip(middle, (0.87, 0.86, 0.85)), *zip(deep, (0.70, 0.60, 0.50))])]
    assert [trial.number for trial in shortlisted(trials, Objective(), 5)] == [0, 3, 6, 1, 4]
    assert [trial.number for trial in shortlisted(trials, Objective(), 9)] == [0, 3, 6, 1, 4, 7, 2, 5, 8]


def test_a_resumed_shortlist_trains_only_what_is_left_in_flight_first_under_its_number():
    a, b, c, d = _architectures(4, blocks=2)
    judged = [_row(0, a, 0.9), _row(1, b, 0.8), _row(2, c, 0.7), _row(3, d, 0.6)]
    done = _row(4, a, 0.97, judged_with=JudgedWith.TRAINING)
    in_flight = _row(5, b, None, judged_with=JudgedWith.TRAINING, status=TrialStatus.RUNNING)
    strategy, left, chosen = shortlist_to_train([*judged, done, in_flight], Objective(), 3, CNN_SPACE)
    assert [child.number for child in chosen] == [0, 1, 2] and left == 2
    asked = [strategy.ask(), strategy.ask(), strategy.ask()]
    assert [(trial.id, trial.arch.key) for trial in asked[:2]] == [(5, b.key), (6, c.key)]
    assert asked[2] is None  # d is not among the 3 best, and a was trained

    fresh, left, _ = shortlist_to_train(judged, Objective(), 3, CNN_SPACE)
    assert left == 3 and [fresh.ask().id for _ in range(3)] == [4, 5, 6]  # after every child judged


def test_a_trained_trial_outranks_every_judged_one_even_scoring_less():
    """Shared-weight and trained scores are not on one scale: the final training picks among the trained."""
    a, b, c = _architectures(3)
    judged, trained, better_trained = (_row(0, a, 0.99), _row(1, b, 0.91, judged_with=JudgedWith.TRAINING),
                                       _row(2, c, 0.95, judged_with=JudgedWith.TRAINING))
    assert [trial.number for trial in ranked_trials([judged, trained, better_trained])] == [2, 1]
    assert [trial.number for trial in ranked_trials([judged])] == [0]  # without a shortlist, the judged


def test_a_shortlist_without_weight_sharing_is_refused_in_one_line():
    finished = subprocess.run([sys.executable, "-m", "nas.search", "--space", "cnn", "--shortlist", "5"],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert len(finished.stderr.strip().splitlines()) == 1 and "weight_sharing" in finished.stderr


@pytest.mark.slow  # about 2 minutes; CI runs it after the default suite
def test_a_weight_sharing_search_retrains_the_best_of_its_shortlist_trained_alone(tiny_8x8, tmp_path):
    """The 3 best judged are trained alone, numbered after the children; the winner retrained is the best of them
    by validation; a resume under a time budget (which would run the supernets again) finishes an interrupted
    shortlist instead, under the same trial number, judging nothing more."""
    import dataclasses
    import json

    from nas.commands import search
    from results import ResultStore

    common = ["--output", str(tmp_path), "--name", "listed", "--cpus-per-trial", "1", "--json"]
    finished = subprocess.run(
        [sys.executable, "-m", "nas.search", "--space", "cnn", "--weight-sharing", "--data", tiny_8x8,
         "--trials", "60", "--shortlist", "3", "--final-epochs", "1", *common],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["architectures_judged"] == 60 and summary["architectures_evaluated"] == 63

    url = f"sqlite:///{tmp_path / 'nas.db'}"
    with ResultStore(url, read_only=True) as store:
        trials = store.trials("listed")
    judged = [trial for trial in trials if trial.judged_with is JudgedWith.SHARED_WEIGHTS]
    trained = [trial for trial in trials if trial.judged_with is JudgedWith.TRAINING]
    assert [trial.arch_key for trial in trained] == [child.arch_key
                                                     for child in shortlisted(trials, Objective(), 3)]
    assert min(trial.number for trial in trained) > max(trial.number for trial in judged)
    winner = max(trained, key=lambda trial: (trial.validation_accuracy, -trial.params))
    assert summary["best"]["trial"] == winner.number and summary["best"]["judged_with"] == "training"
    assert winner.test_accuracy is not None and winner.model_path
    assert all(trial.test_accuracy is None for trial in trials if trial.number != winner.number)

    interrupted = max(trial.number for trial in trained)
    with ResultStore(url) as store:  # as a SIGKILL leaves a trial in flight
        row = store.get_trial("listed", interrupted)
        store.save_trial(dataclasses.replace(row, status=TrialStatus.RUNNING, validation_accuracy=None, score=None,
                                             finished_at=None))
    # The shortlist gets a tenth of the budget: 10 minutes leave its one trial a minute, room for a loaded CI
    # machine (90 s left it 9 s, and a worker starting TensorFlow there was stopped before its first epoch)
    assert search.main(["--resume", "--time-budget", "10m", *common[:4]]) == 0
    with ResultStore(url, read_only=True) as store:
        after = store.trials("listed")
    assert len(after) == len(trials)  # no child judged again, no trial added
    rerun = next(trial for trial in after if trial.number == interrupted)
    assert rerun.status is TrialStatus.COMPLETED and rerun.validation_accuracy is not None
    assert rerun.arch_key == next(trial.arch_key for trial in trials if trial.number == interrupted)
