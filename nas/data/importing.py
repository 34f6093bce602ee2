"""Finding a user's objects again: `package.module:attribute` references, written when a search starts (so that a
resume, `nas.train` or a cluster's worker can import the space, data or training function again) and read back.
"""
from __future__ import annotations

import importlib
import os
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

from nas.errors import NasError

# The module part of the reference of an object nas cannot import again (made in a function, or found nowhere).
NOT_IMPORTABLE = "<python object>"


def placeholder(name: str) -> str:
    """The reference a run stores for an object it cannot import again: it says what the object was."""
    return f"{NOT_IMPORTABLE}:{name}"


def is_placeholder(reference: str | None) -> bool:
    return bool(reference) and reference.startswith(f"{NOT_IMPORTABLE}:")


def import_reference(reference: str, what: str, error: type[NasError] = NasError) -> Any:
    """The object `package.module:attribute` names (the attribute may be dotted); the current folder is searched
    too, as `python -m` does, so a module beside the user's command is found."""
    module_name, separator, attribute = reference.partition(":")
    if not separator or not module_name or not attribute:
        raise error(f"Expected {what} as package.module:attribute. Received: {reference!r}")
    if module_name in ("__main__", NOT_IMPORTABLE):
        raise error(f"{what} {reference!r} was given as a Python object of a script or notebook, which nas cannot "
                    "import again. Expected it in a module (package.module:attribute), or passed again from Python")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exception:
        raise error(f"Cannot import module {module_name!r} for {what} {reference!r}: {exception}. Expected an "
                    "importable module (run from the folder that holds it, or install it)") from None
    except Exception as exception:  # the module's own code failed
        raise error(f"Importing module {module_name!r} for {what} {reference!r} raised "
                    f"{type(exception).__name__}: {exception}") from None
    value: Any = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise error(f"Module {module_name!r} has no attribute {attribute!r} for {what} {reference!r}. Expected "
                        "the name of an object defined in it")
        value = getattr(value, part)
    return value


def reference_of(value: Any) -> str | None:
    """`module:qualified.name` where the object can be imported back as itself; None where it cannot (a lambda, an
    object made inside a function). Objects of a script or notebook get `__main__:name`, which says what they were
    but cannot be imported from elsewhere."""
    module, name = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if module is None or name is None or "<" in name:
        return None
    if module == "__main__":
        return f"__main__:{name}"
    try:
        found = import_reference(f"{module}:{name}", "object")
    except NasError:
        return None
    return f"{module}:{name}" if found is value else None


def defining_module(reference: str | None) -> ModuleType | None:
    """The top-level package (or single-file module) a reference's code lives in, when it is the user's own code
    rather than an installed package: what a Ray cluster's workers must be sent to import it."""
    if not reference or ":" not in reference or reference.startswith("__main__:"):
        return None
    top = reference.partition(":")[0].split(".")[0]
    module = sys.modules.get(top)
    location = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", []) or []), None)
    if module is None or location is None:
        return None
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib", "stdlib")}
    if any(parent in installed for parent in Path(location).resolve().parents):
        return None
    return module
