"""AutoKeras 3's row: `ImageClassifier`'s search (benchmarks/peer_contenders/autokeras_cell.py) run by the python of
a virtualenv of its own (benchmarks/peer_contenders/autokeras_venv.py), so AutoKeras can never change nas's
TensorFlow or Keras. benchmarks/peers.py makes the virtualenv before it measures anything; the contender's process
writes the task's rows to a file the cell reads, runs the cell and returns its figures."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from benchmarks.peer_contenders.tasks import Task

CELL = Path(__file__).resolve().parent / "autokeras_cell.py"


def venv_folder(work: Path) -> Path:
    return work / "autokeras-venv"


def autokeras(task: Task, seed: int, budget: float, work: Path) -> dict:
    from benchmarks.peer_contenders.autokeras_venv import autokeras_python

    python = autokeras_python(venv_folder(work))  # made already by benchmarks/peers.py: found, not installed, here
    data = task.data(seed, work)
    folder = work / "autokeras" / f"{task.name}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    rows = folder / "data.npz"
    np.savez(rows, x_train=data.x_train, y_train=data.y_train, x_validation=data.x_validation,
             y_validation=data.y_validation, x_test=data.x_test, y_test=data.y_test)
    result = folder / "result.json"
    subprocess.run([str(python), str(CELL), "--data", str(rows), "--seed", str(seed), "--budget-s", f"{budget:g}",
                    "--work", str(folder), "--result", str(result)], check=False)
    rows.unlink()
    if not result.is_file():
        return {"error": "the AutoKeras cell wrote no result; its messages are in the benchmark's log"}
    figures = json.loads(result.read_text())
    return {key: figures[key] for key in ("test", "validation", "params", "architectures", "curve", "model_path",
                                          "error", "notes", "recipe") if figures.get(key) is not None} | {
        "versions_autokeras_venv": figures.get("versions")}
