"""A virtualenv of its own for AutoKeras, so that the peer benchmark can run it without touching nas's TensorFlow/Keras.

AutoKeras 3.0.0 pins nothing of TensorFlow and asks only keras>=3; installed beside nas it would be free to move the
Keras that nas is measured with. So it lives in a venv made from python3.11, with the versions below, installed and
run together on CPU (TensorFlow backend) for the peer benchmark: Keras, Keras Tuner and TensorFlow as they were when
AutoKeras 3.0.0 came out (November 2025), and the dm-tree, numpy and protobuf that pip chose for them. The venv is
built once: a marker file in it holds the requirements it was built with, and a later call with the same requirements
only returns its python.

Stdlib only: nas's own venv imports this module and hands the venv's python the script autokeras_cell.py.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

AUTOKERAS_REQUIREMENTS = (
    "autokeras==3.0.0",
    "keras==3.12.0",
    "keras-tuner==1.4.8",
    "tensorflow-cpu==2.20.0",
    "dm-tree==0.1.9",
    "numpy==2.2.6",
    "protobuf==7.36.2",
)
MARKER = "nas-autokeras-requirements.txt"
BASE_PYTHON = "python3.11"
INSTALL_TIMEOUT_S = 3600  # TensorFlow's wheel is some 250 MB: a slow mirror, not a hung pip, may take many minutes


class AutoKerasUnavailable(RuntimeError):
    """The AutoKeras venv could not be made; the message says why in a line or two (pip's last error lines)."""


def _requirements_text() -> str:
    """What the marker file holds once the venv has all of AUTOKERAS_REQUIREMENTS installed."""
    return "\n".join(AUTOKERAS_REQUIREMENTS) + "\n"


def _tail(output: str, lines: int = 2) -> str:
    """The last lines that say something: pip's closing ERROR lines where it failed, else its output's last lines."""
    said = [line.strip()[:300] for line in output.splitlines() if line.strip()]
    errors = [line for line in said if line.startswith("ERROR")]
    return " | ".join((errors or said)[-lines:]) or "(no output)"


def _run(command: list[str], what: str) -> None:
    """Run command to its end; AutoKerasUnavailable with its last words where it fails or overruns."""
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AutoKerasUnavailable(f"{what} took over {INSTALL_TIMEOUT_S} s: {' '.join(command)}") from None
    except OSError as error:
        raise AutoKerasUnavailable(f"{what} could not start: {error}") from None
    if done.returncode != 0:
        raise AutoKerasUnavailable(f"{what} failed (exit {done.returncode}): {_tail(done.stdout + done.stderr)}")


def autokeras_python(venv: Path) -> Path:
    """The python of the AutoKeras venv at `venv`, made first where it is missing or incomplete.

    Incomplete means no working python in it (the venv is made anew, --clear) or no marker with today's requirements
    (they are installed into it; pip then moves only what differs). The marker is written only after pip succeeded,
    so an interrupted install is taken up again by the next call. Raises AutoKerasUnavailable where python3.11 is
    missing or pip fails, e.g. without access to the package index."""
    venv = Path(venv).absolute()
    python = venv / "bin" / "python"
    marker = venv / MARKER
    if python.is_file() and marker.is_file() and marker.read_text() == _requirements_text():
        return python
    if not _python_runs(python):
        base = shutil.which(BASE_PYTHON)
        if base is None:
            raise AutoKerasUnavailable(f"{BASE_PYTHON} is not on PATH: the AutoKeras venv needs it")
        _run([base, "-m", "venv", "--clear", str(venv)], f"{BASE_PYTHON} -m venv {venv}")
    marker.unlink(missing_ok=True)
    _run([str(python), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", *AUTOKERAS_REQUIREMENTS],
         f"pip install into {venv}")
    marker.write_text(_requirements_text())
    return python


def _python_runs(python: Path) -> bool:
    """Whether the venv's python is there and starts (a venv whose base python was removed has a dangling link)."""
    try:
        return subprocess.run([str(python), "-c", "pass"], check=False, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
