"""TensorFlow's start-up lines stay off the terminal; its warnings and errors do not
(nas/estimator/tensorflow_logs.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nas.estimator.tensorflow_logs import without_info_records

REPOSITORY = Path(__file__).resolve().parents[3]

# What importing TensorFlow 2.21 printed here, with a warning and a Python line that must get through.
CAUGHT = """WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796091066.161219    4456 port.cc:153] oneDNN custom operations are on. You may see slightly different
I0000 00:00:1796091066.189219    4456 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow.
W0000 00:00:1796091066.200000    4456 gpu_device.cc:2342] Cannot dlopen some GPU libraries.
Skipping registering GPU devices...
/usr/lib/python3/some_module.py:3: DeprecationWarning: a Python warning
"""


def test_only_absl_info_records_and_its_not_initialised_warning_are_dropped():
    assert without_info_records(CAUGHT) == (
        "W0000 00:00:1796091066.200000    4456 gpu_device.cc:2342] Cannot dlopen some GPU libraries.\n"
        "Skipping registering GPU devices...\n"
        "/usr/lib/python3/some_module.py:3: DeprecationWarning: a Python warning\n")


def _stderr_of_importing_keras(quiet: bool) -> str:
    setup = "from nas.commands import cli; cli.quiet_libraries(); " if quiet else ""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", setup + "import keras, sys; print('after', file=sys.stderr)"],
                          capture_output=True, text=True, timeout=300, cwd=REPOSITORY,
                          env={**environment, "PYTHONPATH": str(REPOSITORY)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


@pytest.mark.slow  # about 11 s: two fresh interpreters import Keras; the filter itself has the fast test above
def test_the_commands_import_tensorflow_without_its_start_up_lines():
    # What there is to hide: absl's INFO records. oneDNN's notice is one only where TensorFlow turns oneDNN on: a
    # machine whose CPU has AVX2 and no AVX-512 printed the CPU-feature notice and no oneDNN line.
    unquiet = _stderr_of_importing_keras(quiet=False)
    assert "after\n" in unquiet and without_info_records(unquiet) != unquiet
    assert _stderr_of_importing_keras(quiet=True) == "after\n"
