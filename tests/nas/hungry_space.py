"""A user's space, as a module, whose 'grows' architecture takes memory while it is built until something stops it
(64 MB every 20 ms, up to 25.6 GB); the others are the perceptron. What `--space tests.nas.hungry_space:SPACE`
names in the test of a worker killed by Ray's memory monitor."""
from __future__ import annotations

import time

import numpy as np

from search_spaces import SPACES, Choice, SearchSpace
from search_spaces.mlp import build_mlp


def build(arch, input_shape, num_classes):
    if arch["appetite"] == "grows":
        hoard = []
        for _ in range(400):
            hoard.append(np.ones(8 * 1024**2))
            time.sleep(0.02)
    return build_mlp(SPACES["mlp"].validate({"depth": 0}), input_shape, num_classes)


SPACE = SearchSpace("hungry", [Choice("appetite", ["modest", "grows"]), Choice("seed", list(range(10)))],
                    builder=build, references={"grows": {"appetite": "grows", "seed": 0},
                                               "modest": {"appetite": "modest", "seed": 0}})
