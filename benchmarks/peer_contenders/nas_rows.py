"""nas's rows: the card's defaults (`--strategy rl`) and `--weight-sharing`, each the command a user types; the
lecture's LeNet under nas's final recipe; and the control that retrains another tool's winner under that recipe.

    python -m nas.search --space cnn --dataset fashion_mnist --time-budget 600s --max-params 100000
        --strategy rl --seed 0 --json

The time budget covers the whole command: trials, then the final training of the winner (its last 40%). The model
handed back is that winner, tested once by the search itself. The anytime curve is read from the run's store: the
best validation figure among the trials finished by each moment, counted from the command's start (a weight-sharing
search's curve counts only the architectures trained alone, whose scores are on the scale of the others').
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from datetime import timezone
from pathlib import Path

from benchmarks.peer_contenders.tasks import Task
from benchmarks.reproduce_lecture import FINAL_RECIPE

REPOSITORY = Path(__file__).resolve().parents[2]


def _with_unread_parameters(architecture: dict) -> dict:
    """The winner of Keras Tuner's guide space with a value for each parameter its build never read.

    Keras Tuner's best values can leave out what the winning trial never read (`units_1` of a one-layer network,
    in Hyperband and BayesianOptimization on breast cancer); nas's view of the guide's build has every `units_i` of
    its loop, and `nas.train` wants them all. The lowest value builds the same network, since it is never read.
    """
    if ":" not in architecture["space"]:  # nas's own space: architecture_of already kept only what is active
        return architecture
    from nas.settings.inputs import resolve_space

    values = dict(architecture["arch"])
    for parameter in resolve_space(architecture["space"]).space.parameters:
        if parameter.name not in values:
            values[parameter.name] = parameter.grid()[0]  # a Choice's first option, a range's low end
    return {**architecture, "arch": values}


def _without_option(flags: list[str], option: str) -> list[str]:
    """flags less `option` and the value after it."""
    at = flags.index(option)
    return flags[:at] + flags[at + 2:]


TABLE_FINAL_RECIPE = _without_option(FINAL_RECIPE, "--augment")  # no image shifts for a table's rows


def nas_search(task: Task, seed: int, budget: float, work: Path, weight_sharing: bool) -> dict:
    name = f"{task.name}-{'weight-sharing' if weight_sharing else 'defaults'}-{budget:g}s-seed{seed}"
    output = work / "nas" / name
    shutil.rmtree(output, ignore_errors=True)  # what a killed earlier attempt left: this one measures afresh
    command = [sys.executable, "-m", "nas.search", "--space", task.space, *task.nas_data_arguments(work),
               "--time-budget", f"{budget:g}s", "--max-params", str(task.max_params), "--strategy", "rl",
               "--seed", str(seed), "--output", str(output), "--name", name, "--json",
               *(["--weight-sharing"] if weight_sharing else [])]
    task.data(seed, work)  # the rows nas.search loads with these arguments: noted for the figures' fingerprint
    started = time.time()
    finished = _run(command)
    if finished.returncode != 0:
        return {"error": _error_line(finished), "command": command[1:]}
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    best = summary["best"]
    final = next(final for final in summary["final_training"] if final["trial"] == best["trial"])
    test = final["test_accuracy"] if task.maximise else final["test_score"]
    judged = summary.get("architectures_judged") or 0
    scored = summary["trials_completed"] + summary["trials_stopped"]
    return {"test": test, "validation": best["validation_accuracy"] if task.maximise else best["validation_score"],
            "params": best["params"], "architectures": judged or scored, "trials_trained": scored - judged,
            "curve": _curve(output, name, started, task.maximise), "arch": best["arch"],
            "final_epochs": final["epochs"], "model_path": final["model_path"], "command": command[1:],
            "notes": "nas.search's own --time-budget (trials, then the winner's final training in its last 40%)"}


def _run(command: list[str]) -> subprocess.CompletedProcess:
    """Run a nas command: its JSON on stdout kept, its messages passed on to the benchmark's log and kept."""
    finished = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPOSITORY)
    sys.stderr.write(finished.stderr)
    return finished


def _error_line(finished: subprocess.CompletedProcess) -> str:
    """nas's own one-line error (`nas.search: error: ...`), or its exit status where it printed none."""
    errors = [line for line in finished.stderr.splitlines() if ": error: " in line]
    return errors[-1] if errors else f"{finished.args[2]} exited {finished.returncode}"


def _curve(output: Path, name: str, started: float, maximise: bool) -> list[tuple[float, float]]:
    from results import JudgedWith, ResultStore
    from nas.runner.summary import trial_score

    with ResultStore(f"sqlite:///{output.resolve() / 'nas.db'}") as store:
        trials = [trial for trial in store.trials(name) if trial.finished_at is not None
                  and trial_score(trial) is not None]
    trained = [trial for trial in trials if trial.judged_with is JudgedWith.TRAINING] or trials
    points = sorted((_epoch(trial.finished_at) - started, trial_score(trial)) for trial in trained)
    curve: list[tuple[float, float]] = []
    for seconds, score in points:
        if curve:
            score = max(score, curve[-1][1]) if maximise else min(score, curve[-1][1])
        curve.append((round(seconds, 2), float(score)))
    return curve


def _epoch(moment) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def lenet(task: Task, seed: int, budget: float, work: Path, epochs: int) -> dict:
    """The lecture's LeNet under nas's final recipe, for as many epochs as nas's winner got (budget: unused)."""
    return nas_train(task, seed, work, epochs, reference="lenet")


def final_recipe(task: Task) -> list[str]:
    return FINAL_RECIPE if task.kind == "images" else TABLE_FINAL_RECIPE


def nas_train(task: Task, seed: int, work: Path, epochs: int, reference: str | None = None,
              architecture: dict | None = None, name: str = "") -> dict:
    """`nas.train` of the lecture's LeNet or of an architecture file, under nas's final recipe for `epochs` epochs:
    trained on the training and validation rows together, tested once."""
    if architecture is not None:
        path = work / "architectures" / f"{task.name}-{name}-seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_with_unread_parameters(architecture)))
        source = [str(path)]
    else:
        source = ["--reference", reference]
    # The Keras Tuner guide's build compiles categorical cross-entropy: its users train it on one-hot labels.
    one_hot = architecture is not None and ":" in architecture["space"] and not task.regression
    command = [sys.executable, "-m", "nas.train", *source, *task.nas_data_arguments(work, one_hot), "--seed", str(seed),
               "--epochs", str(epochs), "--json", *final_recipe(task)]
    finished = _run(command)
    if finished.returncode != 0:
        return {"error": _error_line(finished), "command": command[1:]}
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    # nas.train of an architecture file reports its test metrics as compiled; a regression's loss is nas's "mse",
    # the figure nas's own row reports as the objective val_loss's test score.
    test = figures["test_accuracy"] if task.maximise else figures["test_metrics"]["loss"]
    return {"test": test, "params": figures["params"], "epochs": figures["epochs"], "command": command[1:],
            "architectures": 0, "curve": []}
