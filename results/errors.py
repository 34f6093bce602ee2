"""The result store's exceptions, each with a message of one line for the user, and how an error becomes that line.

They live apart from the store because every layer under it raises them: the engine (a bad URL, a missing driver),
the schema (a file that is not a nas store) and the store itself (a taken run name, a held lease).
"""
from __future__ import annotations


class StoreError(Exception):
    """The store cannot be opened or used as asked; the message is one line for the user."""


class RunExistsError(StoreError):
    """A new run was given the name of a stored one."""


class RunNotFoundError(StoreError):
    """No run of that name is stored."""


class LeaseError(StoreError):
    """The run is held by another live search driver."""


def first_line(error: BaseException | None) -> str:
    """The first line of an error's message (a database driver's may run to many), or its type's name."""
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
