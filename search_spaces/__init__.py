"""Declarative search spaces: `Choice`, `SearchSpace`, `Architecture`, and the built-in `mlp` and `cnn`."""
from __future__ import annotations

from search_spaces.base import Architecture, Choice, InvalidArchitectureError, SearchSpace
from search_spaces.cnn import CNN_SPACE
from search_spaces.mlp import MLP_SPACE

SPACES: dict[str, SearchSpace] = {space.name: space for space in (MLP_SPACE, CNN_SPACE)}


def get_space(name: str) -> SearchSpace:
    """A built-in space by name: 'mlp' or 'cnn'."""
    if name not in SPACES:
        raise ValueError(f"Unknown search space {name!r}. Expected one of: {', '.join(SPACES)}")
    return SPACES[name]


__all__ = ["Architecture", "Choice", "InvalidArchitectureError", "SearchSpace", "SPACES", "get_space"]
