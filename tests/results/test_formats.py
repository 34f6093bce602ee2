"""Leaderboard rows render as a terminal table, CSV and JSON (Markdown: test_markdown.py), each as a user reads it."""
from __future__ import annotations

import csv
import io
import json

import pytest

from results import TrialStatus, leaderboard, render

DESIGN_ROW_FIELDS = {"run", "trial", "status", "arch", "space", "strategy", "dataset", "validation_accuracy",
                     "test_accuracy", "params", "flops", "latency_ms", "train_seconds", "node"}


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Unknown format 'xml'"):
        render([], "xml")


def test_json_rows_have_the_fields_design_md_promises(filled_store):
    rows = json.loads(render(leaderboard(filled_store), "json"))
    assert len(rows) == 5 and all(DESIGN_ROW_FIELDS <= set(row) for row in rows)
    assert rows[1]["test_accuracy"] == 0.94 and rows[0]["test_accuracy"] is None


def test_csv_has_a_header_and_one_line_per_trial(filled_store):
    rows = list(csv.DictReader(io.StringIO(render(leaderboard(filled_store), "csv"))))
    assert [row["run"] + ":" + row["trial"] for row in rows][:2] == ["mlp-run:0", "cnn-run:1"]
    assert rows[-1]["error"] == "NaN loss" and rows[-1]["validation_accuracy"] == ""


def test_csv_cells_a_spreadsheet_would_run_as_formulas_stay_text_and_numbers_stay_numbers(store):
    from tests.results.conftest import make_run, make_trial

    formula = '=HYPERLINK("http://evil.example","click")'
    store.create_run(make_run(formula))
    store.save_trial(make_trial(formula, 0, None, status=TrialStatus.FAILED, error="@SUM(1+1)*cmd|' /C calc'!A0"))
    store.save_trial(make_trial(formula, 1, 0.5, score=-0.25, metrics={"val_loss": -0.25}))
    rows = list(csv.DictReader(io.StringIO(render(leaderboard(store), "csv"))))
    assert {row["run"] for row in rows} == {"'" + formula}
    assert rows[-1]["error"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows[0]["validation_score"] == "-0.25"


def test_table_shows_percentages_counts_and_failure_reasons(filled_store):
    table = render(leaderboard(filled_store), "table")
    assert "95.00%" in table and "94.00%" in table and "9,000" in table
    assert "NaN loss" in table and "mlp-run" in table  # several runs: a run column
    single = render(leaderboard(filled_store, run="mlp-run"), "table")
    assert "mlp-run" not in single


def test_children_judged_with_shared_weights_show_apart_from_trained_and_retrained_trials(store):
    """A weight-sharing run's rows: judged only (shared weights), judged then retrained (a test figure), and a
    plain trained trial show three different statuses in the table and the report; CSV and JSON keep the stored
    status with a judged_with column."""
    import dataclasses

    from results import JudgedWith
    from results.report import render_report
    from tests.results.conftest import make_run, make_trial

    store.create_run(make_run("shared"))
    for trial in (dataclasses.replace(make_trial("shared", 0, 0.61, params=900), judged_with=JudgedWith.SHARED_WEIGHTS),
                  dataclasses.replace(make_trial("shared", 1, 0.72, params=800, test_accuracy=0.99),
                                      judged_with=JudgedWith.SHARED_WEIGHTS),
                  make_trial("shared", 2, 0.50, params=700)):
        store.save_trial(trial)
    rows = leaderboard(store, run="shared")
    stored = {row["trial"]: (row["status"], row["judged_with"])
              for row in csv.DictReader(io.StringIO(render(rows, "csv")))}
    assert stored == {"0": ("completed", "shared_weights"), "1": ("completed", "shared_weights"),
                      "2": ("completed", "training")}
    lines = render(rows, "table").splitlines()
    shown = {number: next(line for line in lines if f"depth={number}" in line) for number in range(3)}
    assert " judged " in shown[0] and " retrained " in shown[1] and " completed " in shown[2]
    html = render_report(store, rows)
    assert "1 completed, 1 judged, 1 retrained" in html
