"""Value checks of settings, shared by Python keywords and command-line flags: each takes a value (a Python value, or
the text of a flag), returns it in the form nas keeps, or raises ValueError saying what was expected and received.
"""
from __future__ import annotations

import enum
import json
import math
import numbers
import re
from typing import Any, Callable

Check = Callable[[Any], Any]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def values(kind: type[enum.Enum]) -> list[str]:
    return [member.value for member in kind]


def optional(check: Check) -> Check:
    def checked(value: Any) -> Any:
        return None if value is None else check(value)

    return checked


def integer(minimum: int) -> Check:
    def checked(value: Any) -> int:
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise ValueError(f"expected an integer >= {minimum}, received {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"expected an integer >= {minimum}, received {value!r}")
        if value < minimum:
            raise ValueError(f"expected an integer >= {minimum}, received {value}")
        return int(value)

    return checked


def _number(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    return float(value)


def positive_number(value: Any) -> float:
    number = _number(value)
    if not number > 0 or number == math.inf:
        raise ValueError(f"expected a finite number > 0, received {value!r}")
    return number


# A trial is a TensorFlow process of its own (hundreds of MB): at most 4 share a core, or a typo such as 0.001 would
# start every trial at once.
FEWEST_CPUS_PER_TRIAL = 0.25


def cpus_per_trial(value: Any) -> float:
    number = _number(value)
    if not FEWEST_CPUS_PER_TRIAL <= number < math.inf:
        raise ValueError(f"expected a number of CPUs >= {FEWEST_CPUS_PER_TRIAL} (a trial is a TensorFlow process; at "
                         f"most 4 share a core), received {value!r}")
    return number


def non_negative_number(value: Any) -> float:
    number = _number(value)
    if not number >= 0 or number == math.inf:
        raise ValueError(f"expected a finite number >= 0, received {value!r}")
    return number


def fraction(value: Any) -> float:
    number = _number(value)
    if not 0 < number < 1:
        raise ValueError(f"expected a number between 0 and 1, received {value!r}")
    return number


def duration(value: Any) -> float:
    """Seconds, from a number or from text such as '90', '90s', '30m', '1h30m' or '2d'."""
    if isinstance(value, str):
        cleaned = value.strip().lower()
        try:
            seconds = float(cleaned)
        except ValueError:
            parts = _DURATION_PART.findall(cleaned)
            if not parts or "".join(number + unit for number, unit in parts) != cleaned:
                raise ValueError(f"expected a duration such as 90s, 30m or 1h30m, received {value!r}") from None
            seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    else:
        seconds = _number(value)
    if not seconds > 0 or seconds == math.inf:
        raise ValueError(f"expected a duration > 0, received {value!r}")
    return seconds


_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
                 "g": 1024**3, "gb": 1024**3, "gib": 1024**3, "t": 1024**4, "tb": 1024**4, "tib": 1024**4}
_MEMORY_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*$")


def memory_size(value: Any) -> int:
    """Bytes, from a number or from text such as '4GB', '512MB' or '1.5g' (powers of 1024, as `free -h` shows)."""
    if isinstance(value, str):
        match = _MEMORY_SIZE.match(value.lower())
        if not match or match.group(2) not in _MEMORY_UNITS:
            raise ValueError(f"expected a size such as 4GB, 512MB or 1.5G, received {value!r}")
        size = float(match.group(1)) * _MEMORY_UNITS[match.group(2)]
    else:
        size = _number(value)
    if not size >= 1 or size == math.inf:
        raise ValueError(f"expected a size of at least 1 byte, such as 4GB, received {value!r}")
    return int(size)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected True or False, received {value!r}")
    return value


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, received {value!r}")
    return value


def member_of(kind: type[enum.Enum]) -> Check:
    def checked(value: Any) -> enum.Enum:
        try:
            return kind(value)
        except ValueError:
            expected = ", ".join(member.value for member in kind)
            raise ValueError(f"expected one of {expected}, received {value!r}") from None

    return checked


def options(value: Any) -> dict:
    """A strategy's options: a dict, or NAME=VALUE pairs as the command line gives them."""
    if isinstance(value, (list, tuple)):
        value = dict(value)
    if not isinstance(value, dict) or not all(isinstance(name, str) and name.isidentifier() for name in value):
        raise ValueError(f"expected a dict of option names to values, received {value!r}")
    return dict(value)


def option_assignment(text_value: str) -> tuple[str, Any]:
    """NAME=VALUE from the command line; VALUE is read as JSON (5, 0.01, true) and otherwise kept as a string."""
    name, separator, value = text_value.partition("=")
    if not separator or not name.strip().isidentifier():
        raise ValueError(f"expected NAME=VALUE such as population_size=50, received {text_value!r}")
    try:
        return name.strip(), json.loads(value)
    except (json.JSONDecodeError, RecursionError):  # not JSON (or nested past Python's limit): the text itself
        return name.strip(), value


def reference(value: Any) -> str:
    """package.module:attribute, how nas finds a user's object again."""
    module, separator, attribute = str(value).partition(":") if isinstance(value, str) else ("", "", "")
    if not separator or not module or not attribute:
        raise ValueError(f"expected package.module:attribute, received {value!r}")
    return value


def space_reference(value: Any) -> str:
    """A built-in space's name, or package.module:attribute."""
    value = text(value)
    return reference(value) if ":" in value else value


def optimizer(value: Any) -> Any:
    """A Keras optimizer's name (an Optimizer), or an optimizer object kept as its Keras config."""
    from nas.estimator.recipe import Optimizer

    if isinstance(value, str):
        return member_of(Optimizer)(value.lower())
    if isinstance(value, dict):
        return value
    if hasattr(value, "get_config") and type(value).__module__.startswith("keras"):
        import keras

        return keras.optimizers.serialize(value)
    raise ValueError(f"expected a Keras optimizer name ({', '.join(o.value for o in Optimizer)}) or optimizer "
                     f"object, received {value!r}")


def keras_object(value: Any) -> Any:
    """A Keras loss or metric: its name, or an object kept as its Keras config (the same object is made anew for
    every model)."""
    if isinstance(value, (str, dict)) and value:
        return value
    if hasattr(value, "get_config"):
        import keras

        return keras.saving.serialize_keras_object(value)
    raise ValueError(f"expected a Keras loss or metric: its name (e.g. 'mse') or a keras.losses / keras.metrics "
                     f"object, received {value!r}")


def keras_objects(value: Any) -> tuple:
    if isinstance(value, (str, dict)) or not isinstance(value, (list, tuple)):
        value = [value]
    return tuple(keras_object(item) for item in value)


def run_name(value: Any) -> str:
    """A run's name also names its folders of Ray results and models: no path separators, no control characters."""
    # 200 bytes as UTF-8, so that RUN.html and the run's folders stay under the file systems' 255-byte names
    if not isinstance(value, str) or not 1 <= len(value.encode("utf-8", "replace")) <= 200 or value in (".", "..") \
            or any(c in "/\\" or not c.isprintable() for c in value):
        raise ValueError(f"expected a run name of 1 to 200 printable characters (200 bytes in UTF-8) without / or \\, "
                         f"received {value!r}")
    return value
