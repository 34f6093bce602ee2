"""Int and Float ranges beside Choice: drawn on their scale, checked, mutated nearby, laid on a grid, round-tripped."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from search_spaces import Choice, Float, Int, InvalidArchitectureError, SearchSpace
from search_spaces.parameters import GRID_POINTS, parameter_from_dict


def ranges_space() -> SearchSpace:
    return SearchSpace("ranges", [
        Int("layers", 1, 3),
        Int("units", 16, 512, log=True),
        Float("dropout", 0.0, 0.5),
        Float("learning_rate", 1e-4, 1e-1, log=True),
        Int("width_3", 4, 8, when={"layers": [3]}),
        Choice("activation", ["relu", "tanh"]),
    ])


def test_sampled_architectures_are_valid_in_range_and_round_trip_through_keys_and_json(rng):
    space = ranges_space()
    for _ in range(300):
        arch = space.sample(rng)
        assert space.validate(arch) == arch == space.from_key(arch.key) == space.from_json(arch.to_json())
        assert 16 <= arch["units"] <= 512 and isinstance(arch["units"], int)
        assert 1e-4 <= arch["learning_rate"] <= 1e-1 and isinstance(arch["learning_rate"], float)
        assert ("width_3" in arch) == (arch["layers"] == 3)


def test_a_log_scale_spreads_draws_evenly_over_orders_of_magnitude(rng):
    rates = np.array([Float("lr", 1e-5, 1e-1, log=True).sample(rng) for _ in range(4000)])
    per_decade = np.histogram(np.log10(rates), bins=4, range=(-5, -1))[0]
    assert per_decade.min() > 850  # about 1000 in each of the four decades; a linear draw puts 90% in the last
    units = np.array([Int("units", 1, 1000, log=True).sample(rng) for _ in range(4000)])
    assert 0.25 < np.mean(units < 32) < 0.75 and units.min() >= 1 and units.max() <= 1000
    linear = np.array([Int("units", 1, 1000).sample(rng) for _ in range(4000)])
    assert np.mean(linear < 32) < 0.05


@pytest.mark.parametrize("values, message", [
    ({"layers": 4}, r"'layers' takes values from 1 to 3. Received: 4"),
    ({"layers": 1.5}, "'layers' takes integers. Received: 1.5"),
    ({"layers": True}, "'layers' takes integers. Received: True"),
    ({"dropout": 0.9}, r"'dropout' takes values from 0.0 to 0.5. Received: 0.9"),
    ({"learning_rate": math.nan}, "'learning_rate' takes finite numbers"),
    ({"learning_rate": "fast"}, "'learning_rate' takes finite numbers"),
])
def test_values_out_of_range_are_refused_with_the_range(values, message):
    base = {"layers": 1, "units": 64, "dropout": 0.1, "learning_rate": 0.01, "activation": "relu"}
    with pytest.raises(InvalidArchitectureError, match=message):
        ranges_space().validate({**base, **values})


def test_an_integral_float_range_value_is_stored_as_a_float_and_an_int_as_an_int():
    arch = ranges_space().validate({"layers": 1, "units": 64, "dropout": 0, "learning_rate": 0.1,
                                    "activation": "relu"})
    assert arch["dropout"] == 0.0 and isinstance(arch["dropout"], float) and isinstance(arch["units"], int)
    assert json.loads(arch.to_json())["arch"]["dropout"] == 0.0


def test_mutation_moves_one_range_to_a_nearby_different_value_within_its_bounds(rng):
    space = SearchSpace("one", [Float("learning_rate", 1e-4, 1e-1, log=True)])
    start = space.validate({"learning_rate": 1e-2})
    steps = []
    for _ in range(500):
        child = space.mutate(start, rng)
        assert 1e-4 <= child["learning_rate"] <= 1e-1 and child != start
        steps.append(abs(math.log10(child["learning_rate"]) - math.log10(1e-2)))
    # A fifth of the range's three decades per step: most children stay within one decade.
    assert np.mean(np.array(steps) < 1.0) > 0.85
    edge = SearchSpace("edge", [Int("units", 4, 8)])
    children = {edge.mutate(edge.validate({"units": 8}), rng)["units"] for _ in range(200)}
    assert 8 not in children and children <= {4, 5, 6, 7} and 7 in children


def test_size_counts_int_ranges_and_is_infinite_with_a_float():
    assert SearchSpace("ints", [Int("a", 1, 3), Int("b", 0, 9, when={"a": [2, 3]})]).size == 1 + 10 + 10
    assert len(list(SearchSpace("ints", [Int("a", 1, 3), Int("b", 0, 9, when={"a": [2, 3]})]).enumerate())) == 21
    assert ranges_space().size == math.inf and "infinitely many" in repr(ranges_space())


def test_a_grid_covers_each_range_on_its_scale_for_the_rl_controller():
    assert Int("layers", 1, 3).grid() == (1, 2, 3)
    widths = Int("units", 16, 512, log=True).grid()
    assert widths[0] == 16 and widths[-1] == 512 and len(widths) == GRID_POINTS
    assert np.allclose(np.diff(np.log(widths)), np.log(32) / (GRID_POINTS - 1), rtol=0.15)
    rates = Float("learning_rate", 1e-4, 1e-1, log=True).grid()
    assert rates[0] == pytest.approx(1e-4) and rates[-1] == pytest.approx(1e-1) and len(rates) == GRID_POINTS
    assert Float("dropout", 0.0, 0.5).grid()[1] == pytest.approx(0.5 / 9)


@pytest.mark.parametrize("make, message", [
    (lambda: Int("x", 3, 1), "expected low <= high"),
    (lambda: Float("x", 1.0, 1.0), "expected low < high"),
    (lambda: Int("x", 0, 10, log=True), "a log scale needs low > 0"),
    (lambda: Int("x", 1.5, 3), "expected integer bounds"),
    (lambda: Float("x", 0, math.inf), "expected finite bounds"),
    (lambda: Int("a,b", 1, 2), "without any of"),
    (lambda: SearchSpace("s", [Int("a", 1, 3), Choice("b", [1], when={"a": [5]})]), "takes values from 1 to 3"),
])
def test_malformed_ranges_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_parameters_and_spaces_round_trip_through_their_json_description():
    space = ranges_space()
    assert [parameter_from_dict(json.loads(json.dumps(p.to_dict()))) for p in space.parameters] == \
        list(space.parameters)
    assert SearchSpace.from_dict(json.loads(json.dumps(space.to_dict()))).to_dict() == space.to_dict()
