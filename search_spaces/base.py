"""The three types every search is written in: a `Choice`, a `SearchSpace` of choices, an `Architecture`.

An architecture is pure data (like nasbench's ModelSpec): the values of the choices that are active for it, with a
canonical key that round-trips (`space.from_key(arch.key) == arch`). Building a Keras model from it is the
space's builder's job and imports Keras only then, so strategies can be tested without TensorFlow.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

import numpy as np

Value = Union[bool, int, float, str]
# Batch norm's moving statistics with Keras' default momentum (0.99) take several hundred steps to settle; a
# cheap trial trains about a hundred, and would be scored near chance in inference mode. 0.9 settles in tens.
BATCH_NORM_MOMENTUM = 0.9
# Strings in a key are written bare, so they must not contain the key's separators.
_KEY_UNSAFE = set(",=|:{}[]\" ")


class InvalidArchitectureError(ValueError):
    """An architecture that is not a point of its space; the message says which choice and why."""


@dataclass(frozen=True)
class Choice:
    """One decision with a finite list of options.

    `when` makes the choice conditional: `Choice("units_2", [64, 128], when={"depth": [2, 3]})` exists only
    when the earlier choice `depth` is 2 or 3 (and is itself active). Several entries must all hold.
    """

    name: str
    options: tuple[Value, ...]
    when: Mapping[str, tuple[Value, ...]] = field(default_factory=dict)

    def __init__(self, name: str, options: Sequence[Value], when: Mapping[str, Sequence[Value]] | None = None):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"Expected a choice name that is a Python identifier. Received: {name!r}")
        options = tuple(options)
        if not options:
            raise ValueError(f"Expected at least one option for choice {name!r}. Received: no options")
        for option in options:
            _check_option(name, option)
        if len({_format_value(option) for option in options}) != len(options):
            raise ValueError(f"Expected distinct options for choice {name!r}. Received: {list(options)}")
        conditions = {parent: tuple(values) for parent, values in (when or {}).items()}
        for parent, values in conditions.items():
            if not values:
                raise ValueError(f"Choice {name!r}: expected at least one value of {parent!r} in `when`.")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "when", MappingProxyType(conditions))

    def is_active(self, decided: Mapping[str, Value]) -> bool:
        """Whether this choice exists given the values decided so far (an inactive parent deactivates it)."""
        return all(parent in decided and decided[parent] in values for parent, values in self.when.items())

    def index(self, value: Value) -> int:
        for position, option in enumerate(self.options):
            if _same_value(option, value):
                return position
        raise InvalidArchitectureError(
            f"Choice {self.name!r} has no option {value!r}. Expected one of: {list(self.options)}")


class Architecture(Mapping[str, Value]):
    """An immutable point of a search space: the values of its active choices, in the space's order."""

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
        return ",".join(f"{name}={_format_value(value)}" for name, value in self._values.items())

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
        except json.JSONDecodeError as error:
            raise InvalidArchitectureError(f"Expected architecture JSON. Received text that is not JSON: {error}")
        if not (isinstance(document, dict) and isinstance(document.get("space"), str)
                and isinstance(document.get("arch"), dict)):
            raise InvalidArchitectureError(
                'Expected architecture JSON of the form {"space": NAME, "arch": {CHOICE: VALUE, ...}}. '
                f"Received: {text[:80]!r}")
        return Architecture(document["space"], document["arch"])


Builder = Callable[[Architecture, tuple, int], Any]


class SearchSpace:
    """An ordered list of choices (parents before the choices that depend on them) and an optional builder.

    `builder(arch, input_shape, num_classes)` returns a Keras model; `references` names hand-made
    architectures that are points of the space (e.g. the seed lecture's LeNet in `cnn`).
    """

    def __init__(self, name: str, choices: Sequence[Choice], builder: Builder | None = None,
                 references: Mapping[str, Mapping[str, Value]] | None = None):
        self.name = name
        self.choices = tuple(choices)
        if not self.choices:
            raise ValueError(f"Expected a search space with at least one choice. Received: space {name!r} "
                             "with none")
        self._by_name: dict[str, Choice] = {}
        for choice in self.choices:
            if choice.name in self._by_name:
                raise ValueError(f"Space {name!r}: choice {choice.name!r} is defined twice.")
            for parent, values in choice.when.items():
                if parent not in self._by_name:
                    raise ValueError(f"Space {name!r}: choice {choice.name!r} depends on {parent!r}, which "
                                     "must be defined before it.")
                for value in values:
                    self._by_name[parent].index(value)
            self._by_name[choice.name] = choice
        self._builder = builder
        self.references = MappingProxyType(
            {ref_name: self.validate(values) for ref_name, values in (references or {}).items()})

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, {len(self.choices)} choices, {self.size:,} architectures)"

    def choice(self, name: str) -> Choice:
        return self._by_name[name]

    def validate(self, values: Mapping[str, Value] | Architecture) -> Architecture:
        """Return the canonical Architecture for `values`, or raise saying exactly what is out of space."""
        if isinstance(values, Architecture) and values.space != self.name:
            raise InvalidArchitectureError(
                f"Expected an architecture of space {self.name!r}. Received one of space {values.space!r}")
        unknown = [name for name in values if name not in self._by_name]
        if unknown:
            raise InvalidArchitectureError(
                f"Space {self.name!r} has no choice {unknown[0]!r}. Expected names among: "
                f"{[choice.name for choice in self.choices]}")
        decided: dict[str, Value] = {}
        for choice in self.choices:
            active = choice.is_active(decided)
            if active and choice.name not in values:
                raise InvalidArchitectureError(
                    f"Architecture of space {self.name!r} is missing choice {choice.name!r}. "
                    f"Expected one of: {list(choice.options)}")
            if not active and choice.name in values:
                raise InvalidArchitectureError(
                    f"Choice {choice.name!r} is inactive here (it needs {_describe(choice.when)}); "
                    "expected it to be left out")
            if active:
                decided[choice.name] = choice.options[choice.index(values[choice.name])]
        return Architecture(self.name, decided)

    def sample(self, rng: np.random.Generator) -> Architecture:
        """Draw every active choice uniformly, in order."""
        decided: dict[str, Value] = {}
        for choice in self.choices:
            if choice.is_active(decided):
                decided[choice.name] = choice.options[int(rng.integers(len(choice.options)))]
        return Architecture(self.name, decided)

    def mutate(self, arch: Architecture, rng: np.random.Generator) -> Architecture:
        """`arch` with one active decision changed to another of its options (the mutation of Real et al. 2019).

        Choices that the change activates are drawn uniformly, choices it deactivates are dropped, and every other
        decision is kept. An architecture without a choice of two or more options comes back unchanged.
        """
        arch = self.validate(arch)
        mutable = [choice for choice in self.choices if choice.name in arch and len(choice.options) > 1]
        if not mutable:
            return arch
        changed = mutable[int(rng.integers(len(mutable)))]
        others = [option for option in changed.options if not _same_value(option, arch[changed.name])]
        decided: dict[str, Value] = {}
        for choice in self.choices:
            if not choice.is_active(decided):
                continue
            if choice is changed:
                decided[choice.name] = others[int(rng.integers(len(others)))]
            elif choice.name in arch:
                decided[choice.name] = arch[choice.name]
            else:
                decided[choice.name] = choice.options[int(rng.integers(len(choice.options)))]
        return Architecture(self.name, decided)

    def enumerate(self) -> Iterator[Architecture]:
        """Every architecture of the space once, in a fixed order (use only on small spaces)."""
        def extend(position: int, decided: dict[str, Value]) -> Iterator[dict[str, Value]]:
            if position == len(self.choices):
                yield dict(decided)
                return
            choice = self.choices[position]
            if not choice.is_active(decided):
                yield from extend(position + 1, decided)
                return
            for option in choice.options:
                decided[choice.name] = option
                yield from extend(position + 1, decided)
                del decided[choice.name]

        for values in extend(0, {}):
            yield Architecture(self.name, values)

    @property
    def size(self) -> int:
        """How many distinct architectures the space holds (counted, not enumerated)."""
        parents = {parent for choice in self.choices for parent in choice.when}

        def count(position: int, decided: dict[str, Value]) -> int:
            if position == len(self.choices):
                return 1
            choice = self.choices[position]
            if not choice.is_active(decided):
                return count(position + 1, decided)
            if choice.name not in parents:  # nothing depends on it: its options multiply
                return len(choice.options) * count(position + 1, decided)
            total = 0
            for option in choice.options:
                decided[choice.name] = option
                total += count(position + 1, decided)
                del decided[choice.name]
            return total

        return count(0, {})

    def from_key(self, key: str) -> Architecture:
        values: dict[str, Value] = {}
        for part in filter(None, key.split(",")):
            name, separator, text = part.partition("=")
            if not separator or name not in self._by_name:
                raise InvalidArchitectureError(
                    f"Expected an architecture key of space {self.name!r} like 'choice=value,...'. "
                    f"Received: {key!r}")
            choice = self._by_name[name]
            matches = [option for option in choice.options if _format_value(option) == text]
            if not matches:
                raise InvalidArchitectureError(
                    f"Choice {name!r} has no option {text!r}. Expected one of: {list(choice.options)}")
            values[name] = matches[0]
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

    def build(self, arch: Architecture, input_shape: Sequence[int], num_classes: int):
        """The Keras model of `arch` for inputs of `input_shape` (no batch axis) and `num_classes` outputs."""
        if self._builder is None:
            raise TypeError(f"Space {self.name!r} has no builder: pass builder= to SearchSpace to build models.")
        return self._builder(self.validate(arch), tuple(input_shape), int(num_classes))


def _check_option(name: str, option: Any) -> None:
    if isinstance(option, (np.generic,)):
        raise ValueError(f"Choice {name!r}: expected plain Python options (bool, int, float, str). "
                         f"Received numpy value {option!r}; use .item()")
    if not isinstance(option, (bool, int, float, str)):
        raise ValueError(f"Choice {name!r}: expected options that are bool, int, float or str. "
                         f"Received {option!r} of type {type(option).__name__}")
    if isinstance(option, float) and not math.isfinite(option):
        raise ValueError(f"Choice {name!r}: expected finite numbers. Received {option!r}")
    if isinstance(option, str) and (not option or _KEY_UNSAFE & set(option)):
        raise ValueError(f"Choice {name!r}: expected non-empty string options without any of "
                         f"{''.join(sorted(_KEY_UNSAFE))!r}. Received {option!r}")


def _format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _same_value(option: Value, value: Any) -> bool:
    # bool is an int subclass: keep True distinct from 1 so keys and JSON stay unambiguous.
    if isinstance(option, bool) or isinstance(value, bool):
        return isinstance(option, bool) and isinstance(value, bool) and option == value
    if isinstance(option, str) or isinstance(value, str):
        return option == value
    return isinstance(value, (int, float)) and option == value


def _describe(conditions: Mapping[str, tuple[Value, ...]]) -> str:
    return " and ".join(f"{parent} in {list(values)}" for parent, values in conditions.items())
