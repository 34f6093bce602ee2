"""What a resumed run makes of its stored trials and of a strategy state saved a few seconds before the kill
(nas.runner.experiment._open_run): finished trials are told, in-flight ones run again, and none is lost or run twice."""
from __future__ import annotations

import dataclasses

from nas.runner.experiment import _open_run
from nas.settings.search_config import SearchConfig
from results import ResultStore, RunRecord, RunStatus, TrialStatus
from search_spaces import SPACES
from strategies import get_strategy
from tests.results.conftest import make_trial


def test_a_resume_tells_finished_trials_reruns_in_flight_ones_and_adopts_those_the_state_missed(tmp_path):
    space = SPACES["mlp"]
    config = SearchConfig(space="mlp", strategy="evolution", trials=8)
    before_kill = get_strategy("evolution", space, seed=0)
    proposed = [before_kill.ask() for _ in range(4)]
    saved_state = get_strategy("evolution", space, seed=0)  # the state as last saved: after trials 0 and 1 began
    saved_state.ask(), saved_state.ask()
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(RunRecord("r", "mlp", "evolution", "mnist", RunStatus.RUNNING, config.to_dict(),
                                   strategy_state=saved_state.state_dict()))
        statuses = [TrialStatus.COMPLETED, TrialStatus.RUNNING, TrialStatus.COMPLETED, TrialStatus.RUNNING]
        for trial, status in zip(proposed, statuses):
            stored = make_trial("r", trial.id, 0.9 if status is TrialStatus.COMPLETED else None, status=status,
                                score=0.9 if status is TrialStatus.COMPLETED else None)
            store.save_trial(dataclasses.replace(stored, arch_key=trial.arch.key, arch=trial.arch.to_dict()))

        resumed = get_strategy("evolution", space, seed=0)
        run, remaining, told_late = _open_run(config, store, "r", True, resumed, None, space, "me")
    assert remaining == 6  # 8 trials, 2 finished
    assert [(trial.id, result["reward"]) for trial, result in told_late] == [(0, 0.9), (2, 0.9)]
    assert [resumed.ask().arch for _ in range(2)] == [proposed[1].arch, proposed[3].arch]  # in flight: again
    assert resumed.ask().id == 4 and sorted(trial.id for trial in resumed.outstanding) == [0, 1, 2, 3, 4]
