"""The README's promises that a test can keep: its two set-up commands, and its Python example runs as written."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S).group(1).strip().splitlines()
    assert first_block == ['pip install ".[cpu]" && python -m nas.search --space cnn --strategy rl',
                           'pip install -e ".[test]" && python -m pytest']


def test_the_python_example_runs():
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    exec(compile(example, str(README), "exec"), {})
