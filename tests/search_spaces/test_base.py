from __future__ import annotations

import json

import numpy as np
import pytest

from search_spaces import Architecture, Choice, InvalidArchitectureError, SearchSpace


def toy_space() -> SearchSpace:
    return SearchSpace("toy", [
        Choice("depth", [1, 2, 3]),
        Choice("width_2", [16, 32], when={"depth": [2, 3]}),
        Choice("width_3", [8, 64], when={"depth": [3]}),
        Choice("act", ["relu", "tanh"]),
        Choice("rate", [0.0, 0.5]),
        Choice("norm", [False, True]),
    ])


def test_sampled_architectures_are_valid_and_round_trip(rng):
    space = toy_space()
    for _ in range(200):
        arch = space.sample(rng)
        assert space.validate(arch) == arch
        assert space.from_key(arch.key) == arch
        assert space.from_json(arch.to_json()) == arch


def test_conditional_choices_exist_only_when_their_parent_allows(rng):
    space = toy_space()
    for _ in range(100):
        arch = space.sample(rng)
        assert ("width_2" in arch) == (arch["depth"] >= 2)
        assert ("width_3" in arch) == (arch["depth"] == 3)


def test_size_counts_every_architecture_once():
    space = toy_space()
    every = list(space.enumerate())
    assert len(every) == len({arch.key for arch in every}) == space.size
    assert space.size == (1 + 2 + 2 * 2) * 2 * 2 * 2


def test_architecture_is_immutable_and_hashable():
    arch = toy_space().validate({"depth": 1, "act": "relu", "rate": 0.0, "norm": False})
    with pytest.raises(TypeError):
        arch["depth"] = 2
    assert len({arch, toy_space().from_key(arch.key)}) == 1
    assert arch.key == "depth=1,act=relu,rate=0.0,norm=false"


def test_key_keeps_booleans_apart_from_numbers():
    space = SearchSpace("mixed", [Choice("flag", [True, 1])])
    assert space.from_key(space.validate({"flag": True}).key)["flag"] is True
    assert space.from_key(space.validate({"flag": 1}).key)["flag"] is not True


@pytest.mark.parametrize("values, message", [
    ({"depth": 4, "act": "relu", "rate": 0.0, "norm": False}, "no option 4"),
    ({"act": "relu", "rate": 0.0, "norm": False}, "missing parameter 'depth'"),
    ({"depth": 1, "width_2": 16, "act": "relu", "rate": 0.0, "norm": False}, "'width_2' is inactive"),
    ({"depth": 1, "act": "relu", "rate": 0.0, "norm": False, "colour": "red"}, "no parameter 'colour'"),
])
def test_out_of_space_architectures_are_refused_with_the_reason(values, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        toy_space().validate(values)


def test_json_of_another_space_or_not_json_is_refused():
    space = toy_space()
    with pytest.raises(InvalidArchitectureError, match="space 'toy'"):
        space.from_json(json.dumps({"space": "other", "arch": {"depth": 1}}))
    with pytest.raises(InvalidArchitectureError, match="not JSON"):
        Architecture.from_json("{depth: 1")


@pytest.mark.parametrize("make, message", [
    (lambda: SearchSpace("empty", []), "at least one parameter"),
    (lambda: Choice("x", []), "at least one option"),
    (lambda: Choice("x", [1, 1]), "distinct options"),
    (lambda: Choice("x", [np.int64(3)]), "plain Python"),
    (lambda: Choice("x", ["a,b"]), "without any of"),
    (lambda: SearchSpace("s", [Choice("a", [1], when={"b": [1]}), Choice("b", [1])]), "defined before"),
    (lambda: SearchSpace("s", [Choice("a", [1]), Choice("a", [2])]), "defined twice"),
])
def test_malformed_spaces_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_space_without_builder_says_so():
    space = toy_space()
    with pytest.raises(TypeError, match="no builder"):
        space.build(space.sample(np.random.default_rng(1)), (4,), 2)


def test_mutate_changes_exactly_one_decision_and_keeps_conditionals_valid():
    from search_spaces import get_space

    space = get_space("cnn")
    rng = np.random.default_rng(0)
    for _ in range(300):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert space.validate(child) == child and child != parent
        changed = [name for name in parent if name in child and parent[name] != child[name]]
        assert len(changed) == 1
        if changed != ["blocks"] and changed != ["head"]:  # only these switch other choices on or off
            assert set(child) == set(parent)


def test_mutate_leaves_an_architecture_with_nothing_to_change():
    space = SearchSpace("fixed", [Choice("only", [1])])
    arch = space.validate({"only": 1})
    assert space.mutate(arch, np.random.default_rng(0)) == arch
