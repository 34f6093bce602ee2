"""The decisions a search space is made of: `Choice` (a list of options), `Int` and `Float` (ranges).

Every parameter can be conditional: `when={"depth": [2, 3]}` makes it exist only when the earlier parameter
`depth` is 2 or 3 (and is itself active); several entries must all hold. Each parameter knows how to draw a value,
check one, step to a nearby one (evolution's mutation) and, for the RL controller, lay a finite grid over itself.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from types import MappingProxyType
from typing import Any, Mapping, Sequence, Union

import numpy as np

Value = Union[bool, int, float, str]
# Names and strings are written bare in an architecture's key, so they must not contain the key's separators.
KEY_UNSAFE = set(",=|:{}[]\" ")
# How many points the RL controller's softmax gets for a range (Int ranges with fewer values get all of them).
GRID_POINTS = 10
# A mutation moves a range's value by a normal step of this many times its (log-)width.
MUTATION_STEP = 0.2


class InvalidArchitectureError(ValueError):
    """An architecture that is not a point of its space; the message says which parameter and why."""


class Parameter(ABC):
    """One decision of a space. Subclasses are immutable value objects."""

    kind: str = ""  # "choice", "int" or "float": the `type` of `to_dict`

    def __init__(self, name: str, when: Mapping[str, Sequence[Value]] | None):
        if not isinstance(name, str) or not name or KEY_UNSAFE & set(name):
            raise ValueError(f"Expected a parameter name that is a non-empty string without any of "
                             f"{''.join(sorted(KEY_UNSAFE))!r}. Received: {name!r}")
        conditions = {parent: tuple(values) for parent, values in (when or {}).items()}
        for parent, values in conditions.items():
            if not values:
                raise ValueError(f"Parameter {name!r}: expected at least one value of {parent!r} in `when`.")
        self.__dict__["name"] = name
        self.__dict__["when"] = MappingProxyType(conditions)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(repr(self.to_dict()))

    def __repr__(self) -> str:
        # Left out: what a parameter has by default (no conditions, a linear scale).
        fields = {key: value for key, value in self.to_dict().items()
                  if key != "type" and not (key == "when" and not value) and not (key == "log" and value is False)}
        return f"{type(self).__name__}({', '.join(f'{key}={value!r}' for key, value in fields.items())})"

    def is_active(self, decided: Mapping[str, Value]) -> bool:
        """Whether this parameter exists given the values decided so far (an inactive parent deactivates it)."""
        return all(parent in decided and decided[parent] in values for parent, values in self.when.items())

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Value:
        """A value drawn uniformly (log-uniformly for a `log=True` range)."""

    @abstractmethod
    def canonical(self, value: Any) -> Value:
        """`value` as this parameter stores it, or InvalidArchitectureError saying why it is out of range."""

    @abstractmethod
    def neighbour(self, value: Value, rng: np.random.Generator) -> Value:
        """Another value than `value`, near it where the parameter has an order (a mutation)."""

    @property
    @abstractmethod
    def count(self) -> float:
        """How many values the parameter has (math.inf for a Float range)."""

    @abstractmethod
    def values(self) -> tuple[Value, ...]:
        """Every value, in order (finite parameters only)."""

    @abstractmethod
    def grid(self) -> tuple[Value, ...]:
        """A finite set of values covering the parameter: what the RL controller chooses among."""

    @abstractmethod
    def parse(self, text: str) -> Value:
        """The value whose `format_value` is `text`."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "name": self.name, "when": {parent: list(values)
                                                              for parent, values in self.when.items()}}


class Choice(Parameter):
    """One of a finite list of options (bool, int, float or str)."""

    kind = "choice"

    def __init__(self, name: str, options: Sequence[Value], when: Mapping[str, Sequence[Value]] | None = None):
        super().__init__(name, when)
        options = tuple(options)
        if not options:
            raise ValueError(f"Expected at least one option for parameter {name!r}. Received: no options")
        for option in options:
            _check_option(name, option)
        if len({format_value(option) for option in options}) != len(options):
            raise ValueError(f"Expected distinct options for parameter {name!r}. Received: {list(options)}")
        self.__dict__["options"] = options

    def index(self, value: Value) -> int:
        for position, option in enumerate(self.options):
            if same_value(option, value):
                return position
        raise InvalidArchitectureError(
            f"Parameter {self.name!r} has no option {value!r}. Expected one of: {list(self.options)}")

    def sample(self, rng: np.random.Generator) -> Value:
        return self.options[int(rng.integers(len(self.options)))]

    def canonical(self, value: Any) -> Value:
        return self.options[self.index(value)]

    def neighbour(self, value: Value, rng: np.random.Generator) -> Value:
        others = [option for option in self.options if not same_value(option, value)]
        return others[int(rng.integers(len(others)))] if others else value

    @property
    def count(self) -> float:
        return len(self.options)

    def values(self) -> tuple[Value, ...]:
        return self.options

    def grid(self) -> tuple[Value, ...]:
        return self.options

    def parse(self, text: str) -> Value:
        for option in self.options:
            if format_value(option) == text:
                return option
        raise InvalidArchitectureError(
            f"Parameter {self.name!r} has no option {text!r}. Expected one of: {list(self.options)}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "options": list(self.options)}


class _Range(Parameter):
    """Shared by Int and Float: a closed interval [low, high], searched on a linear or a log scale."""

    def __init__(self, name: str, low: float, high: float, log: bool, when: Mapping[str, Sequence[Value]] | None):
        super().__init__(name, when)
        empty = low >= high if self.kind == "float" else low > high  # an Int range may hold a single value
        if empty:
            raise ValueError(f"Parameter {name!r}: expected low {'<' if self.kind == 'float' else '<='} high. "
                             f"Received: low={low!r}, high={high!r}")
        if log and not low > 0:
            raise ValueError(f"Parameter {name!r}: a log scale needs low > 0. Received: low={low!r}")
        self.__dict__.update(low=low, high=high, log=bool(log))

    # The unit interval [0, 1] maps onto [low, high] linearly, or geometrically with `log`.
    def _to_unit(self, value: float) -> float:
        if self.high == self.low:
            return 0.0
        if self.log:
            return math.log(value / self.low) / math.log(self.high / self.low)
        return (value - self.low) / (self.high - self.low)

    def _from_unit(self, unit: float) -> float:
        if self.log:
            return self.low * (self.high / self.low) ** unit
        return self.low + unit * (self.high - self.low)

    def _check_range(self, value: float) -> None:
        if not self.low <= value <= self.high:
            raise InvalidArchitectureError(
                f"Parameter {self.name!r} takes values from {self.low!r} to {self.high!r}. Received: {value!r}")

    def _step(self, value: float, rng: np.random.Generator) -> float:
        """A normal step in the unit interval, reflected back into it at the ends."""
        unit = self._to_unit(value) + rng.normal(0.0, MUTATION_STEP)
        unit = abs(unit) % 2.0
        return self._from_unit(2.0 - unit if unit > 1.0 else unit)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "low": self.low, "high": self.high, "log": self.log}


class Int(_Range):
    """An integer from `low` to `high`, both included; `log=True` draws it log-uniformly (e.g. layer widths)."""

    kind = "int"

    def __init__(self, name: str, low: int, high: int, log: bool = False,
                 when: Mapping[str, Sequence[Value]] | None = None):
        for bound in (low, high):
            if isinstance(bound, bool) or not isinstance(bound, numbers.Integral):
                raise ValueError(f"Parameter {name!r}: expected integer bounds. Received: low={low!r}, high={high!r}")
        super().__init__(name, int(low), int(high), log, when)

    def sample(self, rng: np.random.Generator) -> int:
        if not self.log:
            return int(rng.integers(self.low, self.high + 1))
        # Log-uniform over [low, high + 1), floored: every integer gets the share of the log scale it covers.
        value = math.floor(self.low * ((self.high + 1) / self.low) ** rng.random())
        return min(max(value, self.low), self.high)

    def canonical(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidArchitectureError(f"Parameter {self.name!r} takes integers. Received: {value!r}")
        self._check_range(int(value))
        return int(value)

    def neighbour(self, value: Value, rng: np.random.Generator) -> int:
        if self.low == self.high:
            return int(value)
        moved = min(max(round(self._step(float(value), rng)), self.low), self.high)
        if moved == value:  # the step rounded back: move one integer, inwards at an end
            moved = value + 1 if value == self.low or (value != self.high and rng.random() < 0.5) else value - 1
        return int(moved)

    @property
    def count(self) -> float:
        return self.high - self.low + 1

    def values(self) -> tuple[int, ...]:
        return tuple(range(self.low, self.high + 1))

    def grid(self) -> tuple[int, ...]:
        if self.count <= GRID_POINTS:
            return self.values()
        points = np.linspace(0.0, 1.0, GRID_POINTS)
        return tuple(sorted({min(max(round(self._from_unit(unit)), self.low), self.high) for unit in points}))

    def parse(self, text: str) -> int:
        try:
            return self.canonical(int(text))
        except ValueError:
            raise InvalidArchitectureError(f"Parameter {self.name!r} takes integers. Received: {text!r}") from None


class Float(_Range):
    """A real number from `low` to `high`; `log=True` draws it log-uniformly (e.g. a learning rate)."""

    kind = "float"

    def __init__(self, name: str, low: float, high: float, log: bool = False,
                 when: Mapping[str, Sequence[Value]] | None = None):
        for bound in (low, high):
            if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not math.isfinite(bound):
                raise ValueError(f"Parameter {name!r}: expected finite bounds. Received: low={low!r}, high={high!r}")
        super().__init__(name, float(low), float(high), log, when)

    def sample(self, rng: np.random.Generator) -> float:
        return float(min(max(self._from_unit(rng.random()), self.low), self.high))

    def canonical(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise InvalidArchitectureError(f"Parameter {self.name!r} takes finite numbers. Received: {value!r}")
        self._check_range(float(value))
        return float(value)

    def neighbour(self, value: Value, rng: np.random.Generator) -> float:
        return float(min(max(self._step(float(value), rng), self.low), self.high))

    @property
    def count(self) -> float:
        return math.inf

    def values(self) -> tuple[float, ...]:
        raise TypeError(f"Parameter {self.name!r} is a Float range: its values cannot be listed")

    def grid(self) -> tuple[float, ...]:
        return tuple(float(self._from_unit(unit)) for unit in np.linspace(0.0, 1.0, GRID_POINTS))

    def parse(self, text: str) -> float:
        try:
            return self.canonical(float(text))
        except ValueError:
            raise InvalidArchitectureError(f"Parameter {self.name!r} takes numbers. Received: {text!r}") from None


def parameter_from_dict(spec: Mapping[str, Any]) -> Parameter:
    """The parameter `Parameter.to_dict` describes."""
    kind, name, when = spec.get("type"), spec.get("name"), spec.get("when") or None
    if kind == "choice":
        return Choice(name, spec["options"], when)
    if kind in ("int", "float"):
        return (Int if kind == "int" else Float)(name, spec["low"], spec["high"], spec.get("log", False), when)
    raise ValueError(f"Expected a parameter of type choice, int or float. Received: {kind!r}")


def _check_option(name: str, option: Any) -> None:
    if isinstance(option, np.generic):
        raise ValueError(f"Parameter {name!r}: expected plain Python options (bool, int, float, str). "
                         f"Received numpy value {option!r}; use .item()")
    if not isinstance(option, (bool, int, float, str)):
        raise ValueError(f"Parameter {name!r}: expected options that are bool, int, float or str. "
                         f"Received {option!r} of type {type(option).__name__}")
    if isinstance(option, float) and not math.isfinite(option):
        raise ValueError(f"Parameter {name!r}: expected finite numbers. Received {option!r}")
    if isinstance(option, str) and (not option or KEY_UNSAFE & set(option)):
        raise ValueError(f"Parameter {name!r}: expected non-empty string options without any of "
                         f"{''.join(sorted(KEY_UNSAFE))!r}. Received {option!r}")


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def same_value(option: Value, value: Any) -> bool:
    # bool is an int subclass: keep True distinct from 1 so keys and JSON stay unambiguous.
    if isinstance(option, bool) or isinstance(value, bool):
        return isinstance(option, bool) and isinstance(value, bool) and option == value
    if isinstance(option, str) or isinstance(value, str):
        return option == value
    return isinstance(value, (int, float)) and option == value
