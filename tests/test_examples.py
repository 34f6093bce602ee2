"""The examples under examples/ run as a user runs them, on tiny budgets (NAS_EXAMPLES_QUICK=1), and leave what a
user would look for: a saved .keras model, and the figures they print."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.examples

ROOT = Path(__file__).parents[1]
TIMEOUT_S = 300


def quick_env(output: Path) -> dict[str, str]:
    return {**os.environ, "NAS_EXAMPLES_QUICK": "1", "NAS_EXAMPLES_OUTPUT": str(output)}


def run(arguments: list[str], output: Path) -> subprocess.CompletedProcess:
    """Run a command from the repository root, as the examples' docstrings say; fail with its output if it fails."""
    finished = subprocess.run([sys.executable, *arguments], cwd=ROOT, env=quick_env(output), capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    assert finished.returncode == 0, f"{' '.join(arguments)} exited {finished.returncode}:\n" \
                                     f"{finished.stdout}\n{finished.stderr[-5000:]}"
    return finished


def saved_models(output: Path) -> list[Path]:
    return sorted((output / "models").glob("*/*.keras"))


def test_tabular_classification(tmp_path):
    finished = run(["examples/tabular_classification.py"], tmp_path)
    assert "test accuracy" in finished.stdout
    assert "predicted classes of 5 test rows" in finished.stdout
    assert len(saved_models(tmp_path)) == 1


def test_regression(tmp_path):
    finished = run(["examples/regression.py"], tmp_path)
    assert "validation MAE" in finished.stdout and "test MAE" in finished.stdout
    assert len(saved_models(tmp_path)) == 1


def test_keras_tuner_build(tmp_path):
    finished = run(["examples/keras_tuner_build.py"], tmp_path)
    # The conditional hyperparameter is discovered as a parameter that depends on the optimizer.
    assert "Float(name='momentum', when={'optimizer': ['sgd']}" in finished.stdout
    assert "winner: trial" in finished.stdout and "test accuracy" in finished.stdout
    assert len(saved_models(tmp_path)) == 1


def test_my_space_from_the_command_line(tmp_path):
    searched = run(["-m", "nas.search", "--space", "examples.my_space:SPACE", "--data", "examples.my_space:load_data",
                    "--trials", "3", "--epochs", "1", "--final-epochs", "1", "--output", str(tmp_path),
                    "--name", "cli", "--json"], tmp_path)
    summary = json.loads(searched.stdout)
    best = summary["best"]
    assert summary["trials_completed"] == 3
    assert Path(best["model_path"]).is_file()
    assert best["test_accuracy"] is not None  # load_data's test part was used by the final training

    trained = run(["-m", "nas.train", "--trial", f"cli:{best['trial']}", "--output", str(tmp_path), "--json"],
                  tmp_path)
    figures = json.loads(trained.stdout)
    assert figures["model_path"] == best["model_path"]
    assert figures["test_accuracy"] == pytest.approx(best["test_accuracy"])


def test_quickstart_notebook(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("NAS_EXAMPLES_QUICK", "1")  # the kernel inherits the environment
    monkeypatch.setenv("NAS_EXAMPLES_OUTPUT", str(tmp_path))
    notebook = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    # The saved notebook has no outputs: a run's outputs are noise in a diff.
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "held-out accuracy" in printed
    assert len(saved_models(tmp_path)) == 2  # the winner of each part
