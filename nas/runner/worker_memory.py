"""What a trial leaves behind in a Ray worker that goes on to run the next trial, and how nas frees it.

Ray Tune reuses a search's workers from trial to trial (nas/runner/tune.py), and so the final trainings' tasks.
Without this, a worker's resident memory grew with every model it trained, by several times the model's
variables: Keras' `clear_session`, Python's garbage collector and glibc's `malloc_trim` together did not stop it.

The cause is TensorFlow's registry of graph-mode gradient functions. Every `tf.custom_gradient` traced into a graph
registers its gradient function under a new name, "CustomGradient-N" (tensorflow/python/ops/custom_gradient.py),
and nothing ever removes it. Keras 3's TensorFlow optimizer traces one into every train function (the all-reduce
of the gradients in tf.distribute's default replica context), and that function refers to the train function's
graph, which holds the model's and the optimizer's variables. So no model a worker trained was ever freed.
`released_after` removes the registrations a trial added, once the trial is over and nothing of it runs again
(a graph that is traced again registers its gradient again).
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
from typing import Iterator

_CUSTOM_GRADIENT = "CustomGradient-"


def gradient_registry() -> dict | None:
    """TensorFlow's gradient functions by op type name. The registry is private (tensorflow.python.framework.ops):
    None where a TensorFlow version keeps it elsewhere, and then nothing is removed from it."""
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return registry if isinstance(registry, dict) else None


@contextlib.contextmanager
def released_after() -> Iterator[None]:
    """Run a trial (or a final training), then free what it left behind: the custom gradients it registered,
    Keras' global state, Python's reference cycles (models, optimizers and datasets refer to each other), and the
    free C heap glibc keeps after TensorFlow freed it (malloc_trim hands those pages back to the system, where a
    worker runs on glibc's malloc; nas's Ray workers run on jemalloc, nas/runner/cluster.py)."""
    registry = gradient_registry()
    registered_before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        import keras

        keras.backend.clear_session()
        if registry is not None:
            for name in [name for name in registry if name.startswith(_CUSTOM_GRADIENT)
                         and name not in registered_before]:
                del registry[name]
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim this way
            pass
