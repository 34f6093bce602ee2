"""The objects behind a search's settings (`SearchInputs`): its space, its data and the user's training code.

Which space a search searches: a built-in one by name, a `SearchSpace` object, `package.module:attribute`, or a
keras-tuner `build(hp)` function or `HyperModel` (search_spaces/hypermodel.py finds its space), and how a later
resume, `nas.train` or a cluster's worker finds it again.
"""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from nas.data.importing import defining_module, import_reference, placeholder, reference_of
from nas.data.sources import DataSource
from nas.errors import SpaceError
from search_spaces import SPACES, SearchSpace


@dataclass(frozen=True)
class SearchInputs:
    """The objects behind a search's settings: its space, its data, and the user's training code."""

    space: SearchSpace
    data: DataSource
    train_fn: Callable | None = None
    callbacks: tuple = ()
    user_modules: tuple[ModuleType, ...] = ()  # the user's code, which a cluster's workers must be sent


@dataclass(frozen=True)
class ResolvedSpace:
    space: SearchSpace
    reference: str  # what the run stores: a built-in name or module:attribute (one of a script cannot be imported)
    module: ModuleType | None = None  # the user's module, which a cluster's workers must be sent


def resolve_space(spec: Any) -> ResolvedSpace:
    if isinstance(spec, str):
        if ":" not in spec:
            if spec not in SPACES:
                raise SpaceError(f"Unknown search space {spec!r}. Expected one of {', '.join(SPACES)}, or your own "
                                 "as package.module:attribute")
            return ResolvedSpace(SPACES[spec], spec)
        found = import_reference(spec, "space", SpaceError)
        return ResolvedSpace(_as_space(found, spec), spec, defining_module(spec))
    if isinstance(spec, SearchSpace) and SPACES.get(spec.name) is spec:
        return ResolvedSpace(spec, spec.name)
    reference = _find_reference(spec)
    return ResolvedSpace(_as_space(spec, reference), reference, defining_module(reference))


def _as_space(value: Any, reference: str) -> SearchSpace:
    if isinstance(value, SearchSpace):
        return value
    if _is_keras_tuner_hypermodel(value) or _is_build_function(value):
        from search_spaces.hypermodel import HyperModelError, from_hypermodel

        try:
            return from_hypermodel(value)
        except HyperModelError as error:
            raise SpaceError(str(error)) from None
    raise SpaceError(f"{reference} is {type(value).__name__}. Expected a search_spaces.SearchSpace, a keras-tuner "
                     "build(hp) function or a keras_tuner.HyperModel")


def _is_keras_tuner_hypermodel(value: Any) -> bool:
    return any(kind.__name__ == "HyperModel" and kind.__module__.startswith("keras_tuner")
               for kind in type(value).__mro__)


def _is_build_function(value: Any) -> bool:
    """A function of one required argument (`hp`): how keras-tuner users write their build functions."""
    if not inspect.isfunction(value) and not inspect.ismethod(value):
        return False
    required = [parameter for parameter in inspect.signature(value).parameters.values()
                if parameter.default is inspect.Parameter.empty
                and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)]
    return len(required) == 1


def _find_reference(value: Any) -> str:
    """module:attribute of a space object, a build function or a HyperModel: a function names itself; a space is
    looked for among the attributes of its builder's module, a HyperModel among its class's module's."""
    direct = reference_of(value)
    if direct:
        return direct
    home = getattr(getattr(value, "builder", None), "__module__", None) or type(value).__module__
    module = sys.modules.get(home)
    for attribute, candidate in vars(module).items() if module else ():
        if candidate is value:
            return f"{home}:{attribute}"
    return placeholder(getattr(value, "name", None) or type(value).__name__)
