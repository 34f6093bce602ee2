"""`python -m nas.runs`: the stored runs listed, and a run deleted with its files; one that a live search holds or
that does not exist is one line and exit code 2, and nothing is removed. (A real search's run deleted beside
another that then resumes: tests/nas/test_search.py.)"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from nas.commands import runs as command
from results import ResultStore
from tests.results.conftest import LIVE, add_two_runs, dead_owner


@pytest.fixture
def output(tmp_path):
    """An output folder whose store holds cnn-run and mlp-run, each with the files a search leaves."""
    folder = tmp_path / "out"
    with ResultStore(f"sqlite:///{folder / 'nas.db'}") as store:
        add_two_runs(store)
    for run in ("cnn-run", "mlp-run"):
        (folder / "models" / run).mkdir(parents=True)
        (folder / "models" / run / "trial-1.keras").write_bytes(b"model")
        (folder / f"{run}.html").write_text("<html></html>")
        (folder / "ray_results" / run / "trial_0").mkdir(parents=True)
    return folder


def hold(output, run: str, owner: str) -> None:
    """Give the run a lease that has not expired, held by `owner`."""
    with ResultStore(f"sqlite:///{output / 'nas.db'}") as store:
        store.acquire_lease(run, owner, datetime.now(timezone.utc) + timedelta(minutes=5))


def test_list_shows_every_run_with_its_trial_count(output, capsys):
    assert command.main(["list", "--output", str(output), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(run["run"], run["trials"], run["space"]) for run in listed] == [("cnn-run", 3, "cnn"),
                                                                             ("mlp-run", 2, "mlp")]


def test_delete_removes_the_runs_trials_and_files_and_leaves_the_other_run(output, capsys):
    assert command.main(["delete", "cnn-run", "--output", str(output)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("deleted run cnn-run: 3 trial(s)") and said.count("removed ") == 3
    assert not any(path.exists() for path in (output / "models" / "cnn-run", output / "cnn-run.html",
                                              output / "ray_results" / "cnn-run"))
    assert all(path.exists() for path in (output / "models" / "mlp-run" / "trial-1.keras", output / "mlp-run.html",
                                          output / "ray_results" / "mlp-run"))
    with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
        assert [run.name for run in store.list_runs()] == ["mlp-run"]
        assert [trial.number for trial in store.trials("mlp-run")] == [0, 1] and store.trials("cnn-run") == []


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        command.main(argv)
    return exited.value.code


def test_a_run_a_live_search_holds_is_refused_in_one_line_and_kept_whole(output, capsys):
    hold(output, "cnn-run", LIVE)  # this process: alive
    assert exit_code(["delete", "cnn-run", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("nas.runs: error: ") and "in use by another search" in error and error.count("\n") == 1
    assert (output / "models" / "cnn-run" / "trial-1.keras").exists() and (output / "cnn-run.html").exists()
    with ResultStore(f"sqlite:///{output / 'nas.db'}", read_only=True) as store:
        assert len(store.trials("cnn-run")) == 3


def test_a_run_whose_search_died_can_be_deleted(output):
    hold(output, "cnn-run", dead_owner())
    assert command.main(["delete", "cnn-run", "--output", str(output)]) == 0
    assert not (output / "models" / "cnn-run").exists()


@pytest.mark.parametrize("argv, message", [
    (["delete", "nope"], "No run named 'nope' in the store at sqlite:///"),
    (["delete"], "the following arguments are required: RUN"),
    (["purge", "cnn-run"], "invalid choice: 'purge'"),
])
def test_bad_input_is_one_line_and_exit_code_2(output, capsys, argv, message):
    assert exit_code([*argv, "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and "Traceback" not in error


def test_no_store_yet_lists_nothing_and_deletes_nothing(tmp_path, capsys):
    assert command.main(["list", "--output", str(tmp_path / "none"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert exit_code(["delete", "cnn-run", "--output", str(tmp_path / "none")]) == 2
    assert "no result store under" in capsys.readouterr().err and not (tmp_path / "none").exists()

