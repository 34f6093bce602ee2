"""Weight sharing (nas/weight_sharing): the supernet's children are the space's networks, sizes are counted right,
shared weights learn, a supernet's state round-trips, and what cannot share weights is refused."""
from __future__ import annotations

import numpy as np
import pytest

from nas.data.task_data import Task
from nas.errors import SettingError
from nas.estimator.evaluator import build_model
from nas.estimator.flops import count_flops
from nas.estimator.objectives import Objective
from nas.settings.search_config import SearchConfig
from nas.settings.search_config import check_weight_sharing
from nas.weight_sharing.latency_estimate import LatencyEstimate
from nas.weight_sharing.supernet import ChildSize, SharedWeights, child_size
from search_spaces import SearchSpace, get_space
from search_spaces.cnn import CNN_SPACE
from strategies import get_strategy

INPUT_SHAPE = (28, 28, 1)
CLASSES = 10


def _architectures(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    drawn = [CNN_SPACE.sample(rng) for _ in range(count)]
    return [CNN_SPACE.reference("lenet"), *drawn]


@pytest.mark.parametrize("arch", _architectures(12), ids=lambda arch: arch.key[:40])
def test_a_childs_size_is_what_keras_counts_for_the_model_built_alone(arch):
    model = build_model(CNN_SPACE, arch, INPUT_SHAPE, CLASSES)
    size = child_size(arch, INPUT_SHAPE, CLASSES)
    assert (size.params, size.flops) == (model.count_params(), count_flops(model))


def _copy_child_weights(shared: SharedWeights, arch, model, statistics) -> None:
    """Give the model built alone the supernet's slices of the shared weights (and batch norm the statistics the
    supernet normalises with), layer by layer."""
    network = shared.network
    channels, layer = INPUT_SHAPE[2], 0
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    position = 0
    for block in range(1, arch["blocks"] + 1):
        filters, size = arch[f"filters_{block}"], arch[f"kernel_{block}"]
        for conv in range(1, arch[f"convs_{block}"] + 1):
            key = f"{block}_{conv}"
            crop = (5 - size) // 2  # a 3x3 convolution is the centre of the shared 5x5 kernel
            kernel = network.kernels[key].numpy()[crop:5 - crop, crop:5 - crop, :channels, :filters]
            if arch["batch_norm"]:
                convs[position].set_weights([kernel])
                mean, variance = statistics[layer]
                norms[layer].set_weights([network.scales[key].numpy()[:filters], network.shifts[key].numpy()[:filters],
                                          mean.numpy(), variance.numpy()])
                layer += 1
            else:
                convs[position].set_weights([kernel, network.biases[key].numpy()[:filters]])
            channels, position = filters, position + 1
    if arch["head"] == "gap":
        dense[0].set_weights([network.gap_classifier.numpy()[:channels], network.gap_classifier_bias.numpy()])
        return
    head, units = arch["blocks"], arch["dense_units"]
    if units:
        hidden = network.flatten_hidden[head].numpy()[:, :, :channels, :units].reshape(-1, units)
        dense[0].set_weights([hidden, network.flatten_hidden_bias[head].numpy()[:units]])
        dense[1].set_weights([network.hidden_classifier.numpy()[:units], network.hidden_classifier_bias.numpy()])
    else:
        classifier = network.flatten_classifier[head].numpy()[:, :, :channels].reshape(-1, CLASSES)
        dense[0].set_weights([classifier, network.flatten_classifier_bias[head].numpy()])


@pytest.mark.parametrize("arch", _architectures(10, seed=1), ids=lambda arch: arch.key[:40])
def test_a_child_of_the_supernet_computes_what_the_space_builds_with_the_same_weights(arch):
    """The supernet's slices are the child: the model the cnn space builds alone, given the same weights (and batch
    norm's recalibrated statistics), gives the same outputs. A slice of the wrong channels, a kernel of the other
    size, a flatten in another order or a missing layer would not."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.random((8, *INPUT_SHAPE), dtype=np.float32)
    shared = SharedWeights(INPUT_SHAPE, CLASSES, seed=3, calibration=rng.random((16, *INPUT_SHAPE), dtype=np.float32))
    for _ in range(3):  # trained a little, so that no weight is still at its initial value (biases are zeros)
        shared.train_step(CNN_SPACE.sample(rng), images, rng.integers(0, CLASSES, 8).astype(np.int32))
        shared.train_step(arch, images, rng.integers(0, CLASSES, 8).astype(np.int32))
    statistics = []
    shared.network.logits(arch, shared.calibration, calibrate=statistics)
    expected = tf.nn.softmax(shared.network.logits(arch, images, statistics=statistics if statistics else None))
    model = build_model(CNN_SPACE, arch, INPUT_SHAPE, CLASSES)
    _copy_child_weights(shared, arch, model, statistics)
    np.testing.assert_allclose(model(images, training=False).numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # about 40 s; CI runs it after the default suite
def test_shared_weights_trained_on_random_children_learn_children_they_never_trained():
    """1,000 steps on uniformly drawn children of the space (8x8 digits) raise the accuracy of 10 other drawn
    children from chance to well above it; sharing less (separate 3x3 and 5x5 kernels) stayed near chance."""
    from nas.data.datasets import read_dataset

    arrays = read_dataset("digits")
    x = arrays["x_train"].astype(np.float32)
    x = (x / x.max()).reshape(-1, 8, 8, 1)
    y = arrays["y_train"].astype(np.int32)
    rng, others = np.random.default_rng(0), np.random.default_rng(7)
    space = get_space("cnn")
    shared = SharedWeights((8, 8, 1), 10, seed=0, total_steps=1000, calibration=x[:200])
    children = [space.sample(others) for _ in range(10)]
    before = np.mean([shared.accuracy(child, x[-300:], y[-300:]) for child in children])
    for _ in range(1000):
        index = rng.integers(0, len(x) - 300, 32)
        shared.train_step(space.sample(rng), x[index], y[index])
    after = np.mean([shared.accuracy(child, x[-300:], y[-300:]) for child in children])
    assert before < 0.2 and after > 0.4


def test_a_supernets_state_round_trips(tmp_path):
    """Saved and restored, shared weights and the optimizer go on exactly as the original does."""
    rng = np.random.default_rng(0)
    images = rng.random((8, *INPUT_SHAPE), dtype=np.float32)
    labels = rng.integers(0, CLASSES, 8).astype(np.int32)
    arch = CNN_SPACE.sample(rng)
    original = SharedWeights(INPUT_SHAPE, CLASSES, seed=0, calibration=images)
    original.train_step(arch, images, labels)
    original.save(tmp_path)
    restored = SharedWeights(INPUT_SHAPE, CLASSES, seed=1, calibration=images)
    restored.restore(tmp_path)
    assert restored.steps == original.steps == 1
    losses = [weights.train_step(arch, images, labels) for weights in (original, restored)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert original.accuracy(arch, images, labels) == restored.accuracy(arch, images, labels)


def test_the_latency_estimate_fits_what_was_timed():
    timed = [(ChildSize(0, flops, layers), 0.2 + 0.01 * flops / 1e6 + 0.03 * layers)
             for flops, layers in [(1e6, 2), (5e6, 3), (2e7, 5), (8e6, 4), (3e6, 6), (1.2e7, 2)]]
    estimate = LatencyEstimate(timed)
    assert estimate(ChildSize(0, int(4e6), 3)) == pytest.approx(0.2 + 0.04 + 0.09)
    assert estimate.relative_error == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="at least 4"):
        LatencyEstimate(timed[:3])


@pytest.mark.parametrize("settings, message", [
    ({"space": "mlp"}, "cnn space"),
    ({"train_fn": "tests.nas.user_space:train"}, "train_fn"),
    ({"scheduler": "asha"}, "scheduler fifo"),
    ({"objective": "val_loss"}, "validation accuracy"),
])
def test_what_cannot_share_weights_is_refused_in_one_line(settings, message):
    config = SearchConfig(weight_sharing=True, **settings)
    space = get_space(config.space)
    with pytest.raises(SettingError, match=message) as refused:
        check_weight_sharing(config, space)
    assert "\n" not in str(refused.value)


def test_a_space_of_the_users_is_refused_even_when_named_cnn():
    own = SearchSpace("cnn", list(CNN_SPACE.parameters)[:4], builder=CNN_SPACE.builder)
    with pytest.raises(SettingError, match="built-in cnn"):
        check_weight_sharing(SearchConfig(weight_sharing=True), own)


def test_a_child_whose_shared_weight_score_is_nan_is_failed_and_judging_goes_on(monkeypatch):
    """Outputs that are not finite give a NaN accuracy (not the accuracy of argmax over NaNs); the judge records
    such a child as failed, tells its strategy so, and judges the next proposals as usual."""
    from nas.data.task_data import TaskData
    from nas.weight_sharing.judge import SupernetJudge

    rng = np.random.default_rng(0)
    images = rng.random((64, *INPUT_SHAPE), dtype=np.float32)
    labels = rng.integers(0, CLASSES, 64).astype(np.int32)
    shared = SharedWeights(INPUT_SHAPE, CLASSES, seed=0)
    poisoned = images.copy()
    poisoned[:, 3, 3, 0] = np.nan
    arch = CNN_SPACE.reference("lenet")
    assert np.isnan(shared.accuracy(arch, poisoned, labels)) and np.isfinite(shared.accuracy(arch, images, labels))

    data = TaskData("noise", Task.CLASSIFICATION, CLASSES, images, labels, images, labels)
    strategy = get_strategy("random", CNN_SPACE, seed=0)
    told = {}
    real_tell = strategy.tell
    monkeypatch.setattr(strategy, "tell", lambda trial, reward, *rest, **options: (
        told.__setitem__(trial.id, reward), real_tell(trial, reward, *rest, **options))[1])
    judge = SupernetJudge(CNN_SPACE, data, strategy, Objective(), seed=0)
    real_accuracy = judge.shared.accuracy
    monkeypatch.setattr(judge.shared, "accuracy", lambda child, x, y: (
        float("nan") if child["head"] == "gap" else real_accuracy(child, x, y)))
    children = judge.judge(12)
    failed = [child for child in children if child.validation_accuracy is None]
    assert failed and all(child.arch["head"] == "gap" and "not finite" in child.error for child in failed)
    assert judge.judged == 12 == sum(child.validation_accuracy is not None for child in children)
    assert {trial for trial, reward in told.items() if reward is None} == {child.trial for child in failed}


def test_a_resumed_supernet_reports_again_every_child_it_reported_before_its_checkpoint(monkeypatch, tmp_path):
    """Tune's driver may store a supernet's reports several behind the checkpoints the supernet kept: a supernet
    resumed from its third checkpoint reports again the children of all three rounds before it (not only the
    third's), then goes on numbering from there."""
    import json

    from nas.data.task_data import TaskData
    from nas.weight_sharing import trial as supernet_trial
    from nas.weight_sharing.trial import SupernetSettings, run_supernet

    rng = np.random.default_rng(0)
    images = rng.random((64, 8, 8, 1), dtype=np.float32)
    labels = rng.integers(0, CLASSES, 64).astype(np.int32)
    data = TaskData("noise", Task.CLASSIFICATION, CLASSES, images, labels, images, labels)
    timed = supernet_trial.timed_children
    monkeypatch.setattr(supernet_trial, "timed_children", lambda *args: timed(*args, count=4))
    settings = SupernetSettings(CNN_SPACE, Objective(), "random", {}, seed=0, threads=1, supernets=1, children=100,
                                time_budget_s=None, checkpoint_every_s=1e-9, steps_per_round=2, judged_per_round=20)
    checkpoints, reports = [], []

    def report(figures, save_state=None):
        reports.append(figures)
        if save_state is not None:
            checkpoints.append(tmp_path / f"checkpoint_{len(checkpoints)}")
            checkpoints[-1].mkdir()
            save_state(checkpoints[-1])

    run_supernet(0, settings, data, report)
    assert len(checkpoints) == 5  # one a round
    reports.clear()
    run_supernet(0, settings, data, report, resume_from=checkpoints[2])
    replayed, *went_on = reports
    assert replayed["replayed"] and [child["trial"] for child in replayed["children"]] == list(range(60))
    assert [child["trial"] for figures in went_on for child in figures["children"]] == list(range(60, 100))
    assert [child["trial"] for child in json.loads((checkpoints[-1] / "children.json").read_text())] == list(
        range(100))


@pytest.mark.slow  # about a minute; CI runs it after the default suite
def test_a_weight_sharing_search_killed_resumes_from_its_supernets_checkpoint(tiny_8x8, tmp_path):
    """SIGKILL of the driver once a supernet has kept a checkpoint (here after every round), then
    --resume: every child proposed before the checkpoint is stored as it was judged (those Tune kept the checkpoint
    of but the driver had not stored yet are reported again), the supernet goes on from its checkpoint (not from
    scratch), judging again those judged since, and the run ends with children 0..N-1 judged once each."""
    import json
    from pathlib import Path

    from nas.commands import search
    from nas.runner.supernets import latest_supernet_checkpoints
    from nas.weight_sharing.judge import SAVED_STATE
    from results import JudgedWith, ResultStore, TrialStatus
    from tests.nas.conftest import sigkill_when, start_search

    repo = Path(__file__).resolve().parents[3]
    common = ["--output", str(tmp_path), "--name", "shared", "--top-k", "0"]
    experiment = tmp_path / "ray_results" / "shared"

    def judged_rows():
        with ResultStore(f"sqlite:///{tmp_path / 'nas.db'}", read_only=True) as store:
            return store.trials("shared")

    # A checkpoint after every round (20 children): CI's machine judged all 300 before the default's first, at 30 s.
    driver = start_search(["--space", "cnn", "--weight-sharing", "--data", tiny_8x8, "--trials", "300",
                           "--checkpoint-every", "0.1s", "--cpus-per-trial", "1", *common], repo)
    # Kill it once a supernet checkpoint is kept and children are stored.
    sigkill_when(driver, lambda: bool(latest_supernet_checkpoints(experiment)) and (tmp_path / "nas.db").exists()
                 and len(judged_rows()) >= 20, "no supernet checkpoint")
    before = {trial.number: trial for trial in judged_rows()}

    # --keep-checkpoints: Tune's experiment is read below, to see where the resumed supernet went on from.
    assert search.main(["--resume", "--trials", "300", "--keep-checkpoints", *common]) == 0
    # The checkpoint the resume went on from: the newest whole one when it started (Ray's worker can outlive the
    # killed driver by a round, and keep one more checkpoint then).
    resumed_trials = [params.parent for params in experiment.glob("*/params.json")
                      if params.read_text().strip() and json.loads(params.read_text()).get("resume_from")]
    assert len(resumed_trials) == 1
    saved = json.loads((resumed_trials[0] / "params.json").read_text())["resume_from"]["0"]
    saved_state = json.loads((Path(saved) / SAVED_STATE).read_text())
    saved_judged, saved_proposed = saved_state["judged"], saved_state["strategy"]["next_id"]
    assert 20 <= saved_judged < 300
    after = judged_rows()
    assert [trial.number for trial in after if trial.status is TrialStatus.COMPLETED] == list(range(300))
    assert all(trial.judged_with is JudgedWith.SHARED_WEIGHTS for trial in after)
    by_number = {trial.number: trial for trial in after}
    for number, trial in before.items():  # proposed before the checkpoint: as judged then
        if number < saved_proposed:
            assert (by_number[number].arch_key, by_number[number].validation_accuracy) == (
                trial.arch_key, trial.validation_accuracy)
    resumed = [json.loads(line) for line in (resumed_trials[0] / "result.json").read_text().splitlines()
               if line.strip()]
    judged_rounds = [result["architectures_judged"] for result in resumed if not result.get("replayed")]
    assert judged_rounds and min(judged_rounds) == saved_judged + 20
