"""Declarative search spaces: `Choice`, `Int`, `Float`, `SearchSpace`, `Architecture`; the built-in `mlp` and `cnn`."""
from __future__ import annotations

from search_spaces.base import TASKS, Architecture, SearchSpace
from search_spaces.cnn import CNN_SPACE
from search_spaces.mlp import MLP_SPACE
from search_spaces.parameters import Choice, Float, Int, InvalidArchitectureError, Parameter

SPACES: dict[str, SearchSpace] = {space.name: space for space in (MLP_SPACE, CNN_SPACE)}


def get_space(name: str) -> SearchSpace:
    """A built-in space by name: 'mlp' or 'cnn'."""
    if name not in SPACES:
        raise ValueError(f"Unknown search space {name!r}. Expected one of: {', '.join(SPACES)}")
    return SPACES[name]


__all__ = ["Architecture", "Choice", "Float", "Int", "InvalidArchitectureError", "Parameter", "SearchSpace",
           "SPACES", "TASKS", "get_space"]
