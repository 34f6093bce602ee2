"""Reading data from files: a user's .npz (numpy does the reading) and LeCun's gzipped IDX files.

A user's file arrives here, so every problem raises a one-line DataError saying what was received and expected.
"""
from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np

from nas.errors import DataError

REQUIRED_KEYS = ("x_train", "y_train")
OPTIONAL_KEYS = ("x_validation", "y_validation", "x_test", "y_test")
_ZIP_MAGIC, _NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"
_NPZ_LAYOUT = ("Expected a .npz file holding x_train and y_train (and optionally x_validation, y_validation, x_test, "
               "y_test)")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz: x_train and y_train, and whichever of the optional parts it holds."""
    if not path.is_file():
        problem = "a directory" if path.is_dir() else "a file that does not exist"
        raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', {problem}.")
    with path.open("rb") as file:
        start = file.read(8)
    if not start.startswith((_ZIP_MAGIC, _NPY_MAGIC)):  # numpy would call any other file "pickled data"
        raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', which is not a .npz file (a .npz is a zip archive; "
                        f"this file starts with {start!r}).")
    try:
        # No pickles: a data file must not be able to run code.
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', which is not a .npz file numpy can read "
                        f"({_one_line(error)}).") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', a single .npy array.")
    with archive:
        missing = [key for key in REQUIRED_KEYS if key not in archive.files]
        if missing:
            raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', which lacks {', '.join(missing)} "
                            f"(it holds: {', '.join(archive.files) or 'nothing'}).")
        for pair in (("x_validation", "y_validation"), ("x_test", "y_test")):
            if (pair[0] in archive.files) != (pair[1] in archive.files):
                raise DataError(f"Expected '{path}' to hold both {pair[0]} and {pair[1]}, or neither. Received: "
                                f"only {pair[0] if pair[0] in archive.files else pair[1]}.")
        try:
            return {key: archive[key] for key in REQUIRED_KEYS + OPTIONAL_KEYS if key in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise DataError(f"{_NPZ_LAYOUT}. Received: '{path}', whose arrays numpy cannot read "
                            f"({_one_line(error)}).") from error


def read_idx(path: Path) -> np.ndarray:
    """A gzipped IDX file (LeCun's MNIST format): 0, 0, type 0x08 (unsigned byte), rank, big-endian int32 sizes."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise DataError(f"Expected '{path}' to be a gzipped IDX file of unsigned bytes. Received: another format.")
    rank = data[3]
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">i4", count=rank, offset=4))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__
