"""TensorFlow's start-up lines off the user's terminal, with oneDNN left on.

TensorFlow 2.21 logs through absl before absl is initialised, so TF_CPP_MIN_LOG_LEVEL does not reach its first
lines: importing it writes "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
and "oneDNN custom operations are on..." twice (two of its libraries log), straight to file descriptor 2. The one
switch that ends the oneDNN notice, TF_ENABLE_ONEDNN_OPTS=0, turns oneDNN off, which doubled a LeNet epoch's time
on 2 cores. So the commands import TensorFlow with descriptor 2 pointed at a temporary file, then pass on what it
caught except absl's INFO records and that notice: warnings and errors still reach the terminal.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

# An absl log record starts with its severity and date ("I0000 00:00:1796091066.161219 4456 port.cc:153] ...");
# the lines after it, up to the next record, continue it.
_RECORD_START = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d")
_ABSL_NOT_INITIALISED = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"


def quiet_tensorflow_import() -> None:
    """Make this process's first `import tensorflow` (or of Keras, which imports it) drop absl's INFO lines. Does
    nothing when TensorFlow is imported already, or when TF_CPP_MIN_LOG_LEVEL is set to 0 (the user wants them)."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
        return
    if not any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())


def without_info_records(text: str) -> str:
    """`text` less absl's INFO records (with their continuation lines) and its not-initialised warning."""
    kept, in_info_record = [], False
    for line in text.splitlines(keepends=True):
        if _RECORD_START.match(line):
            in_info_record = line.startswith("I")
        elif line.rstrip("\n") == _ABSL_NOT_INITIALISED:
            in_info_record = True
            continue
        if not in_info_record:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def _filtered_stderr():
    """Catch what is written to descriptor 2 (by C++ as well as Python), then pass on all but the INFO records."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            passed_on = without_info_records(caught.read().decode("utf-8", errors="replace"))
            if passed_on:
                sys.stderr.write(passed_on)
                sys.stderr.flush()


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, once, and loads it under `_filtered_stderr`."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: also keeps find_spec below from coming back here
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        try:
            with _filtered_stderr():
                self._loader.exec_module(module)
        finally:  # the module keeps the loader that found it
            module.__loader__ = module.__spec__.loader = self._loader
