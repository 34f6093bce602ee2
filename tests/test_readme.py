"""The README's promises that a test can keep: its two set-up commands, and its Python examples run as written."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_starts_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1).strip().splitlines()
    assert first_block == ['pip install ".[cpu]" && python -m nas.search --space cnn --strategy rl',
                           'pip install -e ".[test]" && python -m pytest']


def test_the_own_data_example_writes_a_file_nas_reads_as_its_text_says(tmp_path, monkeypatch):
    from nas.data.sources import load_data

    (example,) = [block for block in python_blocks() if "np.savez" in block]
    monkeypatch.chdir(tmp_path)
    exec(compile(example, str(README), "exec"), {})
    data = load_data("my_images.npz")  # what --data my_images.npz reads
    assert data.input_shape == (28, 28, 1) and data.num_outputs == 10 and data.task.value == "classification"
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0  # pixels divided by 255
    assert len(data.y_validation) == 100 and len(data.y_train) == 900  # 10% set aside for validation


def test_the_ask_and_tell_example_runs():
    (example,) = [block for block in python_blocks() if "get_strategy" in block]
    exec(compile(example, str(README), "exec"), {})


@pytest.mark.examples
def test_the_searches_of_in_python_run_as_written(tmp_path):
    """Each `nas.search` block, in order and in one namespace (the regression reuses the wine example's space),
    run where a user would run it: a fresh folder, whose nas-runs/ gets the runs."""
    searches = [block for block in python_blocks() if "nas.search(" in block]
    assert len(searches) == 3
    done = subprocess.run([sys.executable, "-c", "\n".join(searches)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=900, env={"PYTHONPATH": str(REPOSITORY), "PATH": "/usr/bin:/bin",
                                            "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr[-3000:]
    kept = sorted(path.relative_to(tmp_path / "nas-runs" / "models").parts[0]
                  for path in (tmp_path / "nas-runs" / "models").glob("*/*.keras"))
    assert kept == ["diabetes", "quick", "wine", "wine"]  # top_k=2 for the wine search
