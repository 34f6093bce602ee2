"""`python -m nas.leaderboard` reads the store nas.search writes, in every format, and fails on bad input cleanly."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from nas.commands import leaderboard as command
from results import ResultStore, TrialStatus
from tests.results.conftest import make_run, make_trial


@pytest.fixture
def output(tmp_path):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(make_run("cnn-run"))
        store.create_run(make_run("mlp-run", space="mlp", dataset="digits", minutes=1))
        for trial in (make_trial("cnn-run", 0, 0.91), make_trial("cnn-run", 1, 0.96),
                      make_trial("mlp-run", 0, 0.93)):
            store.save_trial(trial)
    return tmp_path


def test_json_lists_every_runs_trials_best_first(output, capsys):
    assert command.main(["--output", str(output), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["run"], row["trial"]) for row in rows] == [("cnn-run", 1), ("mlp-run", 0), ("cnn-run", 0)]


def test_tensorboard_format_writes_a_folder_a_run_of_the_rows_shown(output, tmp_path, capsys):
    logs = tmp_path / "logs"
    assert command.main(["--output", str(output), "--format", "tensorboard", "--to", str(logs),
                         "--dataset", "mnist"]) == 0
    assert sorted(path.relative_to(logs).as_posix() for path in logs.glob("*/trial-*")) == [
        "cnn-run/trial-0", "cnn-run/trial-1"]
    assert f"tensorboard --logdir {logs}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        command.main(["--output", str(output), "--format", "tensorboard"])
    assert refused.value.code == 2 and "Expected --to DIR" in capsys.readouterr().err


def test_filters_sort_and_top(output, capsys):
    assert command.main(["--output", str(output), "--format", "csv", "--dataset", "mnist", "--top", "1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(row["run"], row["trial"]) for row in rows] == [("cnn-run", "1")]


def test_table_to_a_file(output, tmp_path, capsys):
    target = tmp_path / "board.txt"
    assert command.main(["--storage", f"sqlite:///{output / 'nas.db'}", "--to", str(target)]) == 0
    assert "96.00%" in target.read_text() and "wrote 3 row(s)" in capsys.readouterr().err


def test_the_table_ends_with_what_each_run_cost_and_rows_carry_each_trials_share(tmp_path, capsys):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(make_run("priced"))
        store.save_trial(make_trial("priced", 0, 0.9, cpu_seconds=3600.0, gpu_seconds=1800.0, attempts=2))
        store.save_trial(make_trial("priced", 1, 0.8, cpu_seconds=1800.0, gpu_seconds=0.0, attempts=1))
        store.set_final_training("priced", 0, test_accuracy=0.95, cpu_seconds=720.0, gpu_seconds=360.0, final_seed=0)
    assert command.main(["--output", str(tmp_path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(
        "run priced used 1.700 CPU-hours and 0.600 GPU-hours (search 1.500 / 0.500, final training 0.200 / 0.100)")
    assert command.main(["--output", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(row["cpu_seconds"], row["gpu_seconds"], row["attempts"]) for row in rows] == [
        (4320.0, 2160.0, 2), (1800.0, 0.0, 1)]


def test_no_store_yet_is_a_note_not_an_error_and_creates_nothing(tmp_path, capsys):
    assert command.main(["--output", str(tmp_path / "empty")]) == 0
    assert "no result store" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


def test_filters_that_match_nothing_say_so(output, capsys):
    assert command.main(["--output", str(output), "--run", "nope"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no stored trials match" in captured.err
    assert command.main(["--output", str(output), "--run", "nope", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("argv, message", [
    (["--sort", "speed"], "invalid choice: 'speed'"),
    (["--format", "xml"], "invalid choice: 'xml'"),
    (["--top", "0"], "expected an integer >= 1"),
    (["--storage", "nosuchdb://x"], "Unknown database scheme 'nosuchdb'"),
    (["--storage", "sqlite:////no/such/dir/x.db"], "no result store at /no/such/dir/x.db"),
])
def test_bad_input_is_one_line_and_exit_code_2(argv, message, output, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.main(["--output", str(output), *argv] if "--storage" not in argv else argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_an_unwritable_target_is_exit_code_2(output, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.main(["--output", str(output), "--to", str(output / "no-such-folder" / "board.txt")])
    assert exit_info.value.code == 2 and "Cannot write --to" in capsys.readouterr().err


def test_the_leaderboard_never_imports_tensorflow_or_ray(output):
    code = ("import sys; from nas.commands import leaderboard; leaderboard.main(['--output', sys.argv[1]]); "
            "heavy = [name for name in ('tensorflow', 'keras', 'ray') if name in sys.modules]; "
            "sys.exit(f'imported {heavy}' if heavy else 0)")
    finished = subprocess.run([sys.executable, "-c", code, str(output)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert "cnn-run" in finished.stdout


def test_markdown_marks_the_pareto_front_and_ends_with_what_each_run_cost(tmp_path, capsys):
    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(make_run("cnn-run"))
        for trial in (make_trial("cnn-run", 0, 0.91, latency_ms=0.4, cpu_seconds=3600.0),
                      make_trial("cnn-run", 1, 0.96, latency_ms=0.5), make_trial("cnn-run", 2, 0.93, latency_ms=0.6)):
            store.save_trial(trial)
    assert command.main(["--output", str(tmp_path), "--format", "markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["| ★ | trial | status | val acc | test acc | params | FLOPs (2xMAC) | latency ms | train s | "
                         "architecture |", "|:---:|---:|:---|---:|---:|---:|---:|---:|---:|:---|",
                         "| ★ | 1 | completed | 96.00% | - | 1,000 | - | 0.500 | - | depth=1 |",
                         "|  | 2 | completed | 93.00% | - | 1,000 | - | 0.600 | - | depth=2 |",
                         "| ★ | 0 | completed | 91.00% | - | 1,000 | - | 0.400 | - | depth=0 |"]
    assert lines[-1] == ("- run cnn-run used 1.000 CPU-hours and 0.000 GPU-hours (search 1.000 / 0.000, final training "
                         "0.000 / 0.000)")


def test_html_writes_one_report_file(output, tmp_path, capsys):
    target = tmp_path / "report.html"
    assert command.main(["--output", str(output), "--format", "html", "--to", str(target)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote a report of 3 row(s)" in captured.err
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "cnn-run" in text and 'id="progress"' in text
    # trials of these runs have no latency: no Pareto plot; their architectures are no cnn ones: listed, not drawn
    assert "No trial has both a validation accuracy and a latency" in text and '<table class="choices">' in text


def test_html_of_no_matching_trials_is_a_report_that_says_so(output, tmp_path, capsys):
    target = tmp_path / "report.html"
    assert command.main(["--output", str(output), "--run", "nope", "--format", "html", "--to", str(target)]) == 0
    assert "no stored trials match" in capsys.readouterr().err and "No stored trials match" in target.read_text()


@pytest.mark.parametrize("argv, message", [
    (["--format", "html"], "--format html writes a self-contained report file. Expected --to FILE.html"),
    (["--format", "html", "--to", "{output}/no-such-folder/report.html"], "Cannot write --to"),
])
def test_html_without_a_writable_target_is_one_line_and_exit_code_2(argv, message, output, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.main(["--output", str(output), *(part.format(output=output) for part in argv)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1


def test_the_terminal_table_stars_the_pareto_front_and_colours_only_on_request(tmp_path):
    from results import leaderboard, render

    with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}") as store:
        store.create_run(make_run("[bold]r"))  # rich markup in a run name stays text
        for number, (accuracy, latency, params) in enumerate([(0.9, 0.5, 1000), (0.8, 0.6, 2000), (0.95, 0.9, 900)]):
            store.save_trial(make_trial("[bold]r", number, accuracy, params=params, latency_ms=latency))
        store.create_run(make_run("other"))
        store.save_trial(make_trial("other", 0, None, status=TrialStatus.FAILED, error="[red]x"))
        rows = leaderboard(store)
        front = leaderboard(store, pareto=True)
    assert [(row.trial, row.pareto) for row in rows] == [(2, True), (0, True), (1, False), (0, False)]
    assert [row.trial for row in front] == [2, 0]
    plain = render(rows, "table")
    assert "\x1b[" not in plain and plain.count("\N{BLACK STAR}") == 4  # the header, two rows and the caption
    assert "[bold]r" in plain and "([red]x)" in plain
    coloured = render(rows, "table", color=True)
    assert "\x1b[32m" in coloured and "\x1b[1m" in coloured  # green statuses, bold front
