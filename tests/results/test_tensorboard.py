"""A run written for TensorBoard (results/tensorboard.py), read back with TensorBoard's own reader: the HParams
experiment, each trial's session with its choices and figures, and its per-epoch curves."""
from __future__ import annotations

from pathlib import Path

import pytest

from results import TrialStatus
from results.tensorboard import write_run
from tests.results.conftest import make_run, make_trial

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
hparams_metadata = pytest.importorskip("tensorboard.plugins.hparams.metadata")


def read(folder: Path):
    accumulator = event_accumulator.EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    accumulator = read(folder)
    return {tag: [(event.step, round(event.value, 6)) for event in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


def session_hparams(folder: Path) -> dict:
    content = read(folder).PluginTagToContent(hparams_metadata.PLUGIN_NAME)[hparams_metadata.SESSION_START_INFO_TAG]
    info = hparams_metadata.parse_session_start_info_plugin_data(content)
    return {name: getattr(value, value.WhichOneof("kind")) for name, value in info.hparams.items()}


HISTORY = [{"epoch": 1, "train_seconds": 1.0, "logs": {"loss": 1.5, "accuracy": 0.5, "val_loss": 1.2,
                                                         "val_accuracy": 0.6}},
           {"epoch": 2, "train_seconds": 2.0, "logs": {"loss": 0.9, "accuracy": 0.7, "val_loss": 0.8,
                                                         "val_accuracy": 0.75}}]


def test_a_run_shows_its_choices_as_hparams_its_figures_as_metrics_and_each_epoch_as_a_curve(tmp_path):
    run = make_run("search")
    trials = [make_trial("search", 0, 0.75, params=1234, flops=5000, latency_ms=0.25, epochs=2, score=0.75,
                         test_accuracy=0.8, history=HISTORY),
              make_trial("search", 1, None, status=TrialStatus.FAILED, error="over the limit"),
              make_trial("search", 2, 0.5, params=99, epochs=1, score=0.5)]
    trials[0] = trials[0].__class__(**{**trials[0].__dict__, "arch": {"blocks": 2, "pooling": "max",
                                                                     "batch_norm": True, "dropout": None}})
    folder = write_run(tmp_path / "logs", run, trials)
    assert folder == tmp_path / "logs" / "search"
    assert sorted(path.name for path in folder.iterdir() if path.is_dir()) == ["trial-0", "trial-2"]  # none failed

    experiment = hparams_metadata.parse_experiment_plugin_data(
        read(folder).PluginTagToContent(hparams_metadata.PLUGIN_NAME)[hparams_metadata.EXPERIMENT_TAG])
    assert [info.name for info in experiment.hparam_infos] == ["batch_norm", "blocks", "depth", "pooling"]
    assert {metric.name.tag for metric in experiment.metric_infos} >= {"validation_accuracy", "params", "flops",
                                                                     "latency_ms", "test_accuracy"}

    assert session_hparams(folder / "trial-0") == {"blocks": 2, "pooling": "max", "batch_norm": True}
    assert session_hparams(folder / "trial-2") == {"depth": 2}
    figures = scalars(folder / "trial-0")
    assert figures["validation_accuracy"] == [(2, 0.75)] and figures["test_accuracy"] == [(2, 0.8)]
    assert figures["params"] == [(2, 1234)] and figures["latency_ms"] == [(2, 0.25)]
    assert scalars(folder / "trial-0" / "train") == {"epoch_loss": [(1, 1.5), (2, 0.9)],
                                                      "epoch_accuracy": [(1, 0.5), (2, 0.7)]}
    assert scalars(folder / "trial-0" / "validation") == {"epoch_loss": [(1, 1.2), (2, 0.8)],
                                                           "epoch_accuracy": [(1, 0.6), (2, 0.75)]}
    assert not (folder / "trial-2" / "train").exists()  # stored without a history: figures only


def test_writing_a_run_again_replaces_it_rather_than_doubling_its_points(tmp_path):
    run, trial = make_run("again"), make_trial("again", 0, 0.7, epochs=2, history=HISTORY)
    write_run(tmp_path, run, [trial])
    folder = write_run(tmp_path, run, [trial.__class__(**{**trial.__dict__, "test_accuracy": 0.9})])
    assert scalars(folder / "trial-0")["test_accuracy"] == [(2, 0.9)]
    assert scalars(folder / "trial-0")["validation_accuracy"] == [(2, 0.7)]
    assert len(list(folder.glob("events.out.tfevents.*"))) == 1
    assert scalars(folder / "trial-0" / "train")["epoch_loss"] == [(1, 1.5), (2, 0.9)]
