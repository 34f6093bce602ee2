"""Where Ray's session files go (nas.runner.cluster); tests/nas/test_search_end_to_end.py checks a search removes
them."""
from __future__ import annotations

from pathlib import Path

import pytest

from nas.runner import cluster


@pytest.mark.parametrize("extra", [0, 1, 30])
def test_ray_temp_dir_stays_under_the_output_folder_only_while_its_sockets_fit(tmp_path, extra):
    # Ray adds up to 64 characters ("/session_<date>_<time>_<micros>_<pid>/sockets/plasma_store") and unix
    # sockets allow 107: an output folder whose ray-tmp is 44 characters long would fail with a 7-digit pid.
    base = Path("/tmp") / ("d" * (cluster._LONGEST_RAY_TEMP_DIR - len("/tmp//ray-tmp") + extra))
    chosen = Path(cluster.ray_temp_dir(base))
    try:
        longest_socket = len(str(chosen)) + len("/session_2026-11-30_02-31-13_030835_4194304/sockets/plasma_store")
        assert longest_socket <= 107
        assert (chosen == base / "ray-tmp") == (extra == 0)
    finally:
        if chosen.name.startswith("nas-ray-"):
            chosen.rmdir()
        elif chosen.exists():
            chosen.rmdir()
            base.rmdir()
