"""Bad input to any command is one line on stderr saying what was wrong and what was expected, and exit code 2."""
from __future__ import annotations

import errno
import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nas import commands as console_script
from nas.commands import cli
from nas.errors import SearchFailedError
from nas.commands import leaderboard, search, train
from results import ResultStore
from tests.results.conftest import make_run, make_trial


def sqlalchemy_full_error():
    """What the store raises when SQLite cannot grow its file."""
    import sqlalchemy

    return sqlalchemy.exc.OperationalError("INSERT INTO trials ...", {}, sqlite3.OperationalError(
        "database or disk is full"))


def fails_with(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2, error
    assert error.count("\n") == 1 and "Traceback" not in error, error
    return error


@pytest.mark.parametrize("argv, message", [
    (["--space", "rnn"], "Unknown search space 'rnn'. Expected one of mlp, cnn, or your own as "
                         "package.module:attribute"),
    (["--space", "no_such_module:SPACE"], "Cannot import module 'no_such_module' for space"),
    (["--space", "shutil:copyfile"], "shutil:copyfile is function. Expected a search_spaces.SearchSpace, a "
                                     "keras-tuner build(hp) function or a keras_tuner.HyperModel"),
    (["--space", "json:dumps"], "dumps: build(hp) raised TypeError with keras-tuner's default values"),
    (["--space", "json:nothing"], "Module 'json' has no attribute 'nothing'"),
    (["--space", "os.path:sep"], "os.path:sep is str. Expected a search_spaces.SearchSpace"),
    (["--data", "no_such_module:load"], "Cannot import module 'no_such_module' for data"),
    (["--train-fn", "json"], "--train-fn: expected package.module:attribute, received 'json'"),
    (["--objective", "val_f1_weird"], "--direction: cannot tell whether objective 'val_f1_weird'"),
    (["--task", "ranking"], "invalid choice: 'ranking'"),
    (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["--num-classes", "1"], "expected an integer >= 2, received 1"),
    (["--strategy", "grid"], "invalid choice: 'grid'"),
    (["--dataset", "imagenet"], "invalid choice: 'imagenet'"),
    (["--trials", "0"], "expected an integer >= 1, received 0"),
    (["--trials", "many"], "expected an integer >= 1, received 'many'"),
    (["--epochs", "-1"], "expected an integer >= 1"),
    (["--top-k", "-1"], "expected an integer >= 0"),
    (["--time-budget", "soon"], "expected a duration such as 90s, 30m or 1h30m"),
    (["--time-budget", "0s"], "expected a duration > 0"),
    (["--cpus-per-trial", "0"], "expected a number of CPUs >= 0.25"),
    (["--cpus-per-trial", "0.001"], "expected a number of CPUs >= 0.25 (a trial is a TensorFlow process; at most 4"),
    (["--gpus-per-trial", "nan"], "expected a finite number >= 0"),
    (["--concurrency", "0"], "expected an integer >= 1"),
    (["--final-share", "1"], "expected a number between 0 and 1, received '1'"),
    (["--final-share", "half"], "expected a number between 0 and 1, received 'half'"),
    (["--lr-schedule", "step"], "invalid choice: 'step'"),
    (["--learning-rate", "0"], "expected a finite number > 0"),
    (["--batch-size", "0"], "expected an integer >= 1"),
    (["--augment", "rotate"], "invalid choice: 'rotate'"),
    (["--name", "../elsewhere"], "expected a run name of 1 to 200 printable characters (200 bytes in UTF-8) without /"),
    (["--name", "é" * 101], "expected a run name of 1 to 200 printable characters (200 bytes in UTF-8)"),
    (["--name", ""], "expected a run name"),
])
def test_search_rejects_bad_arguments(argv, message, capsys):
    assert message in fails_with(search.main, argv, capsys)


def test_search_rejects_bad_data_before_storing_a_run(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((4, 8, 8)))
    error = fails_with(search.main, ["--data", str(bad), "--output", str(tmp_path / "runs")], capsys)
    assert "lacks y_train" in error
    np.savez(bad, x_train=np.zeros((4, 8, 8)), y_train=np.arange(3))
    error = fails_with(search.main, ["--data", str(bad), "--output", str(tmp_path / "runs")], capsys)
    assert "one label in y_train per example in x_train (4). Received: 3 labels" in error
    np.savez(bad, x_train=np.zeros((40, 8, 8)), y_train=np.arange(40) % 2, x_test=np.zeros((2, 8, 8)),
             y_test=np.array([0, 5]))
    error = fails_with(search.main, ["--data", str(bad), "--output", str(tmp_path / "runs")], capsys)
    assert "y_test to hold classes 0..1, as the training labels say. Received: class 5" in error
    error = fails_with(search.main, ["--data", str(tmp_path / "missing.npz"), "--output", str(tmp_path)], capsys)
    assert "does not exist" in error
    with ResultStore(f"sqlite:///{tmp_path / 'runs' / 'nas.db'}") as store:
        assert store.list_runs() == []


@pytest.mark.parametrize("argv, message", [
    (["--storage", "nosuchdb://host/db"], "Unknown database scheme 'nosuchdb'"),
    (["--strategy-option", "population_size"], "expected NAME=VALUE such as population_size=50"),
    (["--strategy", "evolution", "--strategy-option", "mutation_rate=0.5"],
     "Unknown option 'mutation_rate' for strategy 'evolution'. Expected options among: population_size, sample_size"),
    (["--strategy", "evolution", "--strategy-option", "population_size=1"],
     "Expected population_size >= 2. Received: 1"),
    (["--strategy", "evolution", "--strategy-option", "population_size=" + "[" * 5000],
     "Expected population_size"),
    (["--strategy", "random", "--strategy-option", "depth=3"], "Expected options among: none"),
    (["--strategy-option", "seed=3"], "--strategy-option: expected strategy options other than name, space and seed"),
    (["--objective", "mnas"], "--latency-target: expected a latency target (ms, > 0) with objective 'mnas'"),
    (["--objective", "latency"], "--direction: cannot tell whether objective 'val_latency'"),
    (["--max-params", "0"], "expected an integer >= 1"),
    (["--max-latency", "-1"], "expected a finite number > 0, received '-1'"),
    (["--address", "127.0.0.1:1"], "Cannot reach a Ray cluster at 127.0.0.1:1 (Connection refused)"),
    (["--address", "headnode"], "--address: expected HOST:PORT of a Ray head (e.g. 10.0.0.5:6379), or auto, "
                                "received 'headnode'"),
    (["--address", "ray://head:10001"], "Ray Client addresses (ray://) are not supported"),
    (["--resume"], "Expected name=RUN (--name RUN) with resume"),
    (["--resume", "--name", "ghost"], "Cannot resume run 'ghost': it is not in the store"),
])
def test_search_rejects_bad_storage_and_resume(argv, message, tmp_path, capsys):
    assert message in fails_with(search.main, [*argv, "--output", str(tmp_path)], capsys)


def test_an_address_where_something_else_listens_is_refused_in_seconds(tmp_path, capsys):
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts connections, never speaks gRPC
        port = listener.getsockname()[1]
        started = time.monotonic()
        error = fails_with(search.main, ["--address", f"127.0.0.1:{port}", "--trials", "1", "--output", str(tmp_path)],
                           capsys)
    assert f"Something listens at 127.0.0.1:{port}, but it is not a Ray head (no gRPC answer within 5s)" in error
    assert time.monotonic() - started < 60  # ray.init itself waited there for minutes


def test_search_refuses_more_cpus_per_trial_than_ray_has(shared_ray, tmp_path, capsys):
    error = fails_with(search.main, ["--cpus-per-trial", "512", "--trials", "1", "--output", str(tmp_path)],
                       capsys)
    assert "No node of this Ray cluster has 512 CPUs and 0 GPUs for a trial (the largest have" in error
    error = fails_with(search.main, ["--gpus-per-trial", "0.5", "--trials", "1", "--output", str(tmp_path)], capsys)
    assert re.search(r"has 1 CPU and 0.5 GPUs for a trial \(the largest have \d+ CPUs? and 0 GPUs\)", error)


def _not_a_store(folder, kind: str):
    """nas.db in folder: another program's SQLite file, or bytes that are no database at all."""
    path = folder / "nas.db"
    if kind == "foreign":
        with sqlite3.connect(path) as connection:
            connection.execute("create table runs (id integer primary key, owner text)")
    else:
        path.write_bytes(b"SQLite format 2\0" + bytes(range(256)) * 40)
    return path


@pytest.mark.parametrize("kind, message", [("foreign", "is not a nas result store (it holds tables of its own: runs)"),
                                           ("corrupted", "file is not a database")])
@pytest.mark.parametrize("command, argv", [(search.main, ["--trials", "1"]),
                                           (search.main, ["--resume", "--name", "r1"]),
                                           (leaderboard.main, []), (train.main, ["--trial", "r1:0"])])
def test_a_file_that_is_not_a_nas_store_is_refused_by_every_command_and_left_untouched(kind, message, command, argv,
                                                                                       tmp_path, capsys):
    path = _not_a_store(tmp_path, kind)
    before = path.read_bytes()
    assert message in fails_with(command, [*argv, "--output", str(tmp_path)], capsys)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["nas.db"]


@pytest.fixture
def stored_trial(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(make_run("r1"))
        store.save_trial(make_trial("r1", 0, 0.9))
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    ([], "one of the arguments ARCH.json --trial --reference is required"),
    (["--reference", "resnet"], "invalid choice: 'resnet'"),
    (["arch.json", "--reference", "lenet"], "not allowed with argument"),
    (["--reference", "lenet", "--save", "model.h5"], "--save: expected a .keras file, received 'model.h5'"),
    (["--reference", "lenet", "--epochs", "0"], "expected an integer >= 1"),
    (["--trial", "r1"], "--trial: expected RUN:N"),
    (["--trial", "r1:x"], "--trial: expected RUN:N"),
    (["--trial", "r1:0"], "Trial r1:0 has no saved model: only the final training's top-k are kept"),
    (["--trial", "r1:0", "--epochs", "3"], "--epochs: changes how a stored trial would be trained again"),
    (["--trial", "r1:5"], "No trial 'r1:5' in the store"),
    (["--trial", "ghost:0"], "No trial 'ghost:0' in the store"),
])
def test_train_rejects_bad_arguments(argv, message, stored_trial, capsys):
    assert message in fails_with(train.main, [*argv, "--output", str(stored_trial)], capsys)


def test_train_rejects_bad_architecture_files(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    assert "Cannot read architecture file" in fails_with(train.main, [str(missing)], capsys)
    not_json = tmp_path / "not.json"
    not_json.write_text("{blocks: 2")
    assert "JSON" in fails_with(train.main, [str(not_json)], capsys)
    out_of_space = tmp_path / "out.json"
    out_of_space.write_text(json.dumps({"space": "mlp", "arch": {"depth": 9}}))
    assert "depth" in fails_with(train.main, [str(out_of_space)], capsys)
    unknown_space = tmp_path / "unknown.json"
    unknown_space.write_text(json.dumps({"space": "transformer", "arch": {"depth": 1}}))
    assert "transformer" in fails_with(train.main, [str(unknown_space)], capsys)
    not_utf8 = tmp_path / "bytes.json"
    not_utf8.write_bytes(b"\xff\xfe{")
    assert "not UTF-8 text" in fails_with(train.main, [str(not_utf8)], capsys)


def test_console_script_names_its_commands(capsys):
    assert console_script.main(["serve"]) == 2
    assert "Expected one of: search, leaderboard, train" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["nas.search", "nas.train", "nas.leaderboard"])
def test_help_starts_without_tensorflow_or_ray(command):
    code = (f"import runpy, sys; sys.argv = ['{command}', '--help']\n"
            f"try: runpy.run_module('{command}', run_name='__main__')\n"
            f"except SystemExit: pass\n"
            "heavy = [name for name in ('tensorflow', 'keras', 'ray') if name in sys.modules]\n"
            "sys.exit(f'imported {heavy}' if heavy else 0)")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "usage:" in finished.stdout


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "No space left on device"),
    RuntimeError("writing the checkpoint failed"),  # raised from a full disk: the cause tells
    sqlalchemy_full_error(),
])
def test_a_full_disk_is_one_line_that_says_what_to_do(error, capsys):
    if isinstance(error, RuntimeError):
        error.__cause__ = OSError(errno.ENOSPC, "No space left on device")

    def body():
        raise error

    with pytest.raises(SystemExit) as exit_info:
        cli.run_command("nas.search", body, lambda: "interrupted", lambda: "then continue with --resume --name r")
    message = capsys.readouterr().err
    assert exit_info.value.code == 1 and message.count("\n") == 1
    assert message.startswith("nas.search: error: No space left on the disk of the output folder or the store (")
    assert message.rstrip().endswith("Free some space, then continue with --resume --name r")


def test_other_failures_are_not_taken_for_a_full_disk(capsys):
    def body():
        raise OSError(errno.EACCES, "Permission denied")

    with pytest.raises(SystemExit):
        cli.run_command("nas.search", body, lambda: "interrupted")
    assert "No space left" not in capsys.readouterr().err


def test_a_search_whose_every_trial_failed_is_one_line_and_exit_code_1(capsys):
    def body():
        raise SearchFailedError("r", "Every trial of run r failed (3); 3 of them like this: NaN loss. The run is stored")

    with pytest.raises(SystemExit) as exit_info:
        cli.run_command("nas.search", body, lambda: "interrupted")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == ("nas.search: error: Every trial of run r failed (3); 3 of them like this: NaN "
                                       "loss. The run is stored\n")


def test_a_failure_with_a_wall_of_text_is_a_few_terminal_lines_and_the_whole_of_it_goes_to_a_log(capsys,
                                                                                               monkeypatch):
    """Ray's reports run to thousands of characters ("Caught unexpected exception: 2 worker(s) were killed ... Top
    10 memory users ..."); the terminal gets 3 lines of its width at most, and the log file every character."""
    monkeypatch.setenv("COLUMNS", "80")
    report = "Caught unexpected exception: 2 worker(s) were killed. " + "Top 10 memory users: ray::worker " * 120

    def body():
        raise RuntimeError(report)

    with pytest.raises(SystemExit) as exit_info:
        cli.run_command("nas.search", body, lambda: "interrupted")
    message = capsys.readouterr().err
    assert exit_info.value.code == 1 and message.count("\n") == 1 and len(message.rstrip("\n")) <= 3 * 80
    assert message.startswith("nas.search: error: RuntimeError: Caught unexpected exception: 2 worker(s) were killed")
    log = message.split("the whole error: ")[1].split(";")[0]
    assert " ".join(report.split()) in " ".join(Path(log).read_text().split())
    Path(log).unlink()
