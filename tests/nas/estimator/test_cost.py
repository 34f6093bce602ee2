"""nas.estimator.cost, flops and latency: what a model costs, counted by hand where that is possible."""
from __future__ import annotations

from nas.estimator.cost import ModelCost, measure_cost
from nas.estimator.evaluator import build_model
from nas.estimator.flops import count_flops
from nas.estimator.latency import measure_latency
from search_spaces import get_space
from tests.nas.estimator.models import small_cnn


def test_flops_match_a_hand_count():
    # conv: 8*8*4 outputs x 3*3*1 multiply-adds x 2 + 256 bias adds; batch norm: 2 x 256;
    # max-pool: 4*4*4 outputs x 4 window elements; dense: 64*3 multiply-adds x 2 + 3 bias adds.
    hand_count = (8 * 8 * 4 * 9 * 2 + 256) + 2 * 256 + 4 * 4 * 4 * 4 + (64 * 3 * 2 + 3)
    assert count_flops(small_cnn()) == hand_count == 6019


def test_flops_of_a_global_average_pooling_head_without_bias():
    import keras

    inputs = keras.Input(shape=(4, 4, 2))
    pooled = keras.layers.GlobalAveragePooling2D()(keras.layers.AveragePooling2D(2)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(5, use_bias=False)(pooled))
    assert count_flops(model) == (2 * 2 * 2 * 4) + (2 * 2 * 2) + (2 * 5 * 2)


def test_lenet_flops_are_dominated_by_its_convolutions():
    space = get_space("cnn")
    flops = count_flops(space.build(space.reference("lenet"), (28, 28, 1), 10))
    second_conv = 14 * 14 * 50 * 5 * 5 * 20 * 2
    assert second_conv < flops < 1.3 * second_conv + 2 * 2450 * 500 + 28 * 28 * 20 * 25 * 2


def test_latency_is_positive_and_stable_across_repeats():
    model = small_cnn()
    first, second = (measure_latency(model, (8, 8, 1), batch_size=1).batch_1_ms for _ in range(2))
    assert 0 < first < 1000
    assert 0.5 < first / second < 2.0  # a loose bound: the figure must not swing with the machine's noise


def test_cost_of_the_perceptron():
    space = get_space("mlp")
    cost = measure_cost(build_model(space, space.reference("perceptron"), (28, 28, 1), 10), (28, 28, 1))
    assert cost.params == 7850 and cost.flops == 784 * 10 * 2 + 10 and cost.latency_ms > 0


def test_cost_carries_the_latencys_batch_device_and_threads_and_reports_them_as_trial_metrics():
    space = get_space("mlp")
    model = build_model(space, space.reference("perceptron"), (8, 8, 1), 3)
    cost = measure_cost(model, (8, 8, 1), batch_size=16)
    assert cost.latency_batch_size == 16 and cost.latency_batch_ms > 0 and cost.latency_device == "CPU"
    assert cost.latency_threads >= 1
    assert cost.metrics() == {"params": 195, "flops": 2 * 64 * 3 + 3, "latency_ms": cost.latency_ms,
                              "latency_batch_ms": cost.latency_batch_ms, "latency_batch_size": 16,
                              "latency_device": "CPU", "latency_threads": cost.latency_threads}
    assert ModelCost(10, 20, 0.5).latency_device is None
