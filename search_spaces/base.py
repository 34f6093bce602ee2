"""A `SearchSpace` of parameters (search_spaces/parameters.py) and the `Architecture`s that are its points.

An architecture is pure data (like nasbench's ModelSpec): the values of the parameters that are active for it, with
a canonical key that round-trips (`space.from_key(arch.key) == arch`). Building a Keras model from it is the
space's builder's job and imports Keras only then, so strategies can be tested without TensorFlow.
"""
from __future__ import annotations

import inspect
import json
import math
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from search_spaces.parameters import (Choice, InvalidArchitectureError, Parameter, Value, format_value,
                                      parameter_from_dict)

# Batch norm's moving statistics with Keras' default momentum (0.99) take several hundred steps to settle; a
# cheap trial trains about a hundred, and would be scored near chance in inference mode. 0.9 settles in tens.
BATCH_NORM_MOMENTUM = 0.9
TASKS = ("classification", "regression")


def output_activation(task: str) -> str | None:
    """What a built-in space's last layer applies: a softmax over a classification's classes, nothing (plain
    values) for a regression."""
    return "softmax" if task == "classification" else None


class Architecture(Mapping[str, Value]):
    """An immutable point of a search space: the values of its active parameters, in the space's order."""

    __slots__ = ("_space", "_values")

    def __init__(self, space: str, values: Mapping[str, Value]):
        self._space = space
        self._values = MappingProxyType(dict(values))

    @property
    def space(self) -> str:
        return self._space

    @property
    def key(self) -> str:
        """Canonical string, e.g. `blocks=2,filters_1=20,...`; `SearchSpace.from_key` parses it back."""
        return ",".join(f"{name}={format_value(value)}" for name, value in self._values.items())

    def __getitem__(self, name: str) -> Value:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Architecture) and (self._space, self.key) == (other._space, other.key)

    def __hash__(self) -> int:
        return hash((self._space, self.key))

    def __repr__(self) -> str:
        return f"Architecture({self._space!r}, {self.key!r})"

    def to_dict(self) -> dict[str, Value]:
        return dict(self._values)

    def to_json(self) -> str:
        return json.dumps({"space": self._space, "arch": self.to_dict()})

    @staticmethod
    def from_json(text: str) -> Architecture:
        """Parse `to_json` output; the result is unvalidated data: `space.validate(arch)` checks it."""
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise InvalidArchitectureError(f"Expected architecture JSON. Received text that is not JSON: {error}")
        if not (isinstance(document, dict) and isinstance(document.get("space"), str)
                and isinstance(document.get("arch"), dict)):
            raise InvalidArchitectureError(
                'Expected architecture JSON of the form {"space": NAME, "arch": {PARAMETER: VALUE, ...}}. '
                f"Received: {text[:80]!r}")
        return Architecture(document["space"], document["arch"])


# builder(arch, input_shape, num_outputs) -> an uncompiled (or compiled) keras.Model; it may also take `task`.
Builder = Callable[..., Any]
# shapes(arch, input_shape, num_outputs) -> the builder's layers as search_spaces.shapes.LayerShape, not built.
Shapes = Callable[..., list]


class SearchSpace:
    """An ordered list of parameters (parents before the parameters that depend on them) and an optional builder.

    `builder(arch, input_shape, num_outputs)` returns a Keras model for inputs of `input_shape` (no batch axis)
    with `num_outputs` outputs (the classes of a classification, the targets of a regression). A builder that
    declares a parameter named `task` is also told whether the task is "classification" or "regression", so one
    space can end in a softmax for the one and a linear layer for the other, as the built-in spaces do.
    `references` names hand-made architectures that are points of the space (e.g. the seed lecture's LeNet).
    `shapes(arch, input_shape, num_outputs)`, where a space has it (the built-in ones do), counts the layers the
    builder would make without building them (search_spaces/shapes.py): a search then knows an architecture's
    parameters, FLOPs and memory before it sends the trial anywhere.
    """

    def __init__(self, name: str, parameters: Sequence[Parameter], builder: Builder | None = None,
                 references: Mapping[str, Mapping[str, Value]] | None = None, shapes: Shapes | None = None):
        if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\") \
                or not name.isprintable():
            raise ValueError(f"Expected a space name of printable characters without / or \\. Received: {name!r}")
        self.name = name
        self.parameters = tuple(parameters)
        if not self.parameters:
            raise ValueError(f"Expected a search space with at least one parameter. Received: space {name!r} "
                             "with none")
        self._by_name: dict[str, Parameter] = {}
        for parameter in self.parameters:
            if not isinstance(parameter, Parameter):
                raise ValueError(f"Space {name!r}: expected parameters that are Choice, Int or Float. Received "
                                 f"{parameter!r} of type {type(parameter).__name__}")
            if parameter.name in self._by_name:
                raise ValueError(f"Space {name!r}: parameter {parameter.name!r} is defined twice.")
            for parent, values in parameter.when.items():
                if parent not in self._by_name:
                    raise ValueError(f"Space {name!r}: parameter {parameter.name!r} depends on {parent!r}, which "
                                     "must be defined before it.")
                for value in values:
                    self._by_name[parent].canonical(value)
            self._by_name[parameter.name] = parameter
        if builder is not None and not callable(builder):
            raise ValueError(f"Space {name!r}: expected a callable builder. Received {builder!r}")
        self._builder = builder
        self._builder_takes_task = builder is not None and _takes_keyword(builder, "task")
        if shapes is not None and not callable(shapes):
            raise ValueError(f"Space {name!r}: expected a callable shapes function. Received {shapes!r}")
        self._shapes = shapes
        self.references = MappingProxyType(
            {ref_name: self.validate(values) for ref_name, values in (references or {}).items()})

    def __repr__(self) -> str:
        size = self.size
        return f"SearchSpace({self.name!r}, {len(self.parameters)} parameters, " \
               f"{'infinitely many' if size == float('inf') else f'{size:,}'} architectures)"

    @property
    def builder(self) -> Builder | None:
        return self._builder

    def parameter(self, name: str) -> Parameter:
        return self._by_name[name]

    def validate(self, values: Mapping[str, Value] | Architecture) -> Architecture:
        """Return the canonical Architecture for `values`, or raise saying exactly what is out of space."""
        if isinstance(values, Architecture) and values.space != self.name:
            raise InvalidArchitectureError(
                f"Expected an architecture of space {self.name!r}. Received one of space {values.space!r}")
        if not isinstance(values, Mapping):
            raise InvalidArchitectureError(f"Expected an architecture as a mapping of parameter names to values. "
                                           f"Received {type(values).__name__}")
        unknown = [name for name in values if name not in self._by_name]
        if unknown:
            raise InvalidArchitectureError(
                f"Space {self.name!r} has no parameter {unknown[0]!r}. Expected names among: "
                f"{[parameter.name for parameter in self.parameters]}")
        decided: dict[str, Value] = {}
        for parameter in self.parameters:
            active = parameter.is_active(decided)
            if active and parameter.name not in values:
                raise InvalidArchitectureError(
                    f"Architecture of space {self.name!r} is missing parameter {parameter.name!r} ({parameter!r})")
            if not active and parameter.name in values:
                raise InvalidArchitectureError(
                    f"Parameter {parameter.name!r} is inactive here (it needs {_describe(parameter.when)}); "
                    "expected it to be left out")
            if active:
                decided[parameter.name] = parameter.canonical(values[parameter.name])
        return Architecture(self.name, decided)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Draw every active parameter (uniformly, or log-uniformly for a log range), in order."""
        decided: dict[str, Value] = {}
        for parameter in self.parameters:
            if parameter.is_active(decided):
                decided[parameter.name] = parameter.sample(rng)
        return Architecture(self.name, decided)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """`arch` with one active decision changed (the mutation of Real et al. 2019): a Choice to another of its
        options, a range to a nearby value (a normal step of a fifth of its width, on its scale).

        Parameters that the change activates are drawn at random, parameters it deactivates are dropped, and every
        other decision is kept. An architecture with nothing that can change comes back unchanged.
        """
        arch = self.validate(arch)
        mutable = [parameter for parameter in self.parameters if parameter.name in arch and parameter.count > 1]
        if not mutable:
            return arch
        changed = mutable[int(rng.integers(len(mutable)))]
        decided: dict[str, Value] = {}
        for parameter in self.parameters:
            if not parameter.is_active(decided):
                continue
            if parameter is changed:
                decided[parameter.name] = parameter.neighbour(arch[parameter.name], rng)
            elif parameter.name in arch:
                decided[parameter.name] = arch[parameter.name]
            else:
                decided[parameter.name] = parameter.sample(rng)
        return Architecture(self.name, decided)

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of the space once, in a fixed order (small spaces without Float ranges only)."""
        def extend(position: int, decided: dict[str, Value]) -> Iterator[dict[str, Value]]:
            if position == len(self.parameters):
                yield dict(decided)
                return
            parameter = self.parameters[position]
            if not parameter.is_active(decided):
                yield from extend(position + 1, decided)
                return
            for value in parameter.values():
                decided[parameter.name] = value
                yield from extend(position + 1, decided)
                del decided[parameter.name]

        for values in extend(0, {}):
            yield Architecture(self.name, values)

    @property
    def size(self) -> float:
        """How many distinct architectures the space holds (counted, not enumerated; inf with a Float range)."""
        parents = {parent for parameter in self.parameters for parent in parameter.when}

        def count(position: int, decided: dict[str, Value]) -> float:
            if position == len(self.parameters):
                return 1
            parameter = self.parameters[position]
            if not parameter.is_active(decided):
                return count(position + 1, decided)
            if parameter.name not in parents or parameter.count == math.inf:  # its values multiply
                return parameter.count * count(position + 1, decided)
            total = 0
            for value in parameter.values():
                decided[parameter.name] = value
                total += count(position + 1, decided)
                del decided[parameter.name]
            return total

        return count(0, {})

    def from_key(self, key: str) -> Architecture:
        values: dict[str, Value] = {}
        for part in filter(None, key.split(",")):
            name, separator, text = part.partition("=")
            if not separator or name not in self._by_name:
                raise InvalidArchitectureError(
                    f"Expected an architecture key of space {self.name!r} like 'parameter=value,...'. "
                    f"Received: {key!r}")
            values[name] = self._by_name[name].parse(text)
        return self.validate(values)

    def from_json(self, text: str) -> Architecture:
        parsed = Architecture.from_json(text)
        if parsed.space != self.name:
            raise InvalidArchitectureError(
                f"Expected an architecture of space {self.name!r}. Received one of space {parsed.space!r}")
        return self.validate(parsed)

    def reference(self, name: str) -> Architecture:
        if name not in self.references:
            raise KeyError(f"Space {self.name!r} has no reference architecture {name!r}. "
                           f"Expected one of: {sorted(self.references)}")
        return self.references[name]

    def build(self, arch: Architecture | Mapping[str, Value], input_shape: Sequence[int], num_outputs: int,
              task: str = "classification"):
        """The Keras model of `arch` for inputs of `input_shape` (no batch axis) and `num_outputs` outputs."""
        if self._builder is None:
            raise TypeError(f"Space {self.name!r} has no builder: pass builder= to SearchSpace to build models.")
        if task not in TASKS:
            raise ValueError(f"Expected task in {TASKS}. Received: {task!r}")
        extra = {"task": task} if self._builder_takes_task else {}
        return self._builder(self.validate(arch), tuple(input_shape), int(num_outputs), **extra)

    @property
    def counts_layers(self) -> bool:
        """Whether the space counts its models' layers without building them (`layer_shapes`)."""
        return self._shapes is not None

    def layer_shapes(self, arch: Architecture | Mapping[str, Value], input_shape: Sequence[int],
                     num_outputs: int) -> list | None:
        """The layers of `arch`'s model counted without building it (None: this space cannot count them, so its
        models are measured once built). Raises ValueError where the builder would refuse the input."""
        if self._shapes is None:
            return None
        return self._shapes(self.validate(arch), tuple(int(size) for size in input_shape), int(num_outputs))

    def to_dict(self) -> dict[str, Any]:
        """The space's parameters as JSON data (the builder and references are code, not data)."""
        return {"name": self.name, "parameters": [parameter.to_dict() for parameter in self.parameters]}

    @staticmethod
    def from_dict(spec: Mapping[str, Any], builder: Builder | None = None) -> SearchSpace:
        return SearchSpace(spec["name"], [parameter_from_dict(item) for item in spec["parameters"]], builder)


def _takes_keyword(function: Callable, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return False
    return name in parameters or any(parameter.kind is inspect.Parameter.VAR_KEYWORD
                                     for parameter in parameters.values())


def _describe(conditions: Mapping[str, tuple[Value, ...]]) -> str:
    return " and ".join(f"{parent} in {list(values)}" for parent, values in conditions.items())


__all__ = ["Architecture", "BATCH_NORM_MOMENTUM", "Builder", "Choice", "InvalidArchitectureError", "SearchSpace",
           "TASKS", "output_activation"]
