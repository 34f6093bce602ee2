"""Figures over seeds, as the benchmark tables print them: mean ± standard deviation."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np


def spread(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """`mean ± standard deviation` (ddof 1) of values times scale; one value alone says it has no spread."""
    values = [scale * value for value in values]
    grouping = "," if digits == 0 else ""  # whole numbers with thousands separators: 517,379
    if len(values) == 1:
        return f"{values[0]:{grouping}.{digits}f} (1 seed)"
    return f"{np.mean(values):{grouping}.{digits}f} ± {np.std(values, ddof=1):{grouping}.{digits}f}"


def print_table(columns: list[str], rows: list[str], seeds: int) -> None:
    """A Markdown table of rows measured over `seeds` seeds, under a line that says how to read them."""
    print(f"Mean ± standard deviation over {seeds} seed(s).\n")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    print("\n".join(rows))


def measured_once(path: Path, measure: Callable[[], dict]) -> dict:
    """The figures saved at path by an earlier run of the same benchmark, or measure() now and save them there.

    A benchmark of several hours can then be run in parts: rerun it with the same output folder and it measures only
    what is missing. Each saved file holds its command, so what it measured can be checked."""
    if path.is_file():
        print(f"(measured earlier: {path})", file=sys.stderr, flush=True)
        return json.loads(path.read_text())
    figures = measure()
    path.write_text(json.dumps(figures, indent=1))
    return figures
