"""Figures over seeds, as the benchmark tables print them: mean ± standard deviation."""
from __future__ import annotations

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
