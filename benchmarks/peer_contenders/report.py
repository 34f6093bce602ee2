"""The peers benchmark's table (Markdown, mean ± standard deviation over seeds) and its anytime plot (matplotlib)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.peer_contenders.tasks import Task
from benchmarks.seeds import spread


def _test_words(task: Task) -> tuple[str, float, int]:
    """The test figure's column name, its scale and its digits."""
    return ("test MSE", 1.0, 1) if task.regression else ("test accuracy (%)", 100.0, 2)


def _mean_test(runs: dict) -> float | None:
    values = [figures["test"] for figures in runs.values() if figures.get("test") is not None]
    return float(np.mean(values)) if values else None


def print_tables(task: Task, budget_words: str, contenders, measured: dict, controls: dict) -> None:
    test_name, scale, digits = _test_words(task)
    better = max if task.maximise else min
    nas_means = {c.name: _mean_test(measured[c.name]) for c in contenders if c.nas}
    nas_means = {name: mean for name, mean in nas_means.items() if mean is not None}
    best_nas = better(nas_means, key=nas_means.get) if nas_means else None
    print(f"{task.name}, budget {budget_words} a search, {_seeds(measured)}. Test figures are of the model each "
          "contender hands back, tested once; 'control' is that winner retrained by nas.train under nas's final "
          "recipe. Mean ± standard deviation over seeds.\n")
    columns = ["contender", test_name, "control", "params", "architectures evaluated", "wall min", "CPU-s",
               "cores used", "peak memory MB", f"nas ({best_nas}) ahead by" if best_nas else "nas ahead by"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    peers = {}
    most_seeds = max((len(runs) for runs in measured.values()), default=0)
    for contender in contenders:
        runs = measured[contender.name]
        if not runs:
            print(f"| {contender.tool} | not measured yet |" + " |" * (len(columns) - 2))
            continue
        errors = sorted({figures["error"] for figures in runs.values() if figures.get("error")})
        scored = [figures for figures in runs.values() if figures.get("test") is not None]
        test = spread([figures["test"] for figures in scored], scale, digits) if scored else "-"
        if errors:
            test = f"{test}; {len(runs) - len(scored)} of {len(runs)} failed: {errors[0]}"
        elif 1 < len(runs) < most_seeds:
            test = f"{test} ({len(runs)} seeds)"
        control_runs = [figures for figures in controls[contender.name].values() if figures.get("test") is not None]
        control = spread([figures["test"] for figures in control_runs], scale, digits) if control_runs else "-"
        control_errors = sorted({figures["error"] for figures in controls[contender.name].values()
                                 if figures.get("error")})
        if control_errors:
            control = f"{control}; failed: {control_errors[0]}"
        elif control_runs and len(control_runs) < len(scored):
            control = f"{control} ({len(control_runs)} of {len(scored)} seeds)"
        params = [figures["params"] for figures in scored if figures.get("params")]
        mean = _mean_test(runs)
        if not contender.nas and mean is not None:
            peers[contender.name] = mean
        margin = "-"
        if best_nas and not contender.nas and mean is not None:
            ahead = (nas_means[best_nas] - mean) if task.maximise else (mean - nas_means[best_nas])
            margin = f"{scale * ahead:+.{digits}f}"
        every = list(runs.values())
        print(f"| {contender.tool} | {test} | {control} | {spread(params, digits=0) if params else '-'} "
              f"| {spread([figures.get('architectures') or 0 for figures in every], digits=0)} "
              f"| {spread([figures['wall_seconds'] / 60 for figures in every], digits=1)} "
              f"| {spread([figures['cpu_seconds'] for figures in every], digits=0)} "
              f"| {spread([figures['cpu_seconds'] / figures['wall_seconds'] for figures in every], digits=2)} "
              f"| {spread([figures['peak_rss_mb'] for figures in every], digits=0)} | {margin} |")
    if best_nas and peers:
        best_peer = better(peers, key=peers.get)
        ahead = (nas_means[best_nas] - peers[best_peer]) if task.maximise else (peers[best_peer] - nas_means[best_nas])
        print(f"\nnas's best configuration ({best_nas}) against the best other row ({best_peer}): "
              f"{scale * ahead:+.{digits}f} ({'nas ahead' if ahead > 0 else 'nas behind' if ahead < 0 else 'level'}).")


def _seeds(measured: dict) -> str:
    counts = sorted({len(runs) for runs in measured.values() if runs})
    if len(counts) > 1:
        return f"{counts[-1]} seeds a row unless the row says fewer"
    return f"{counts[0] if counts else 0} seed(s) a row"


def best_so_far(curve: list, times: np.ndarray, maximise: bool) -> np.ndarray:
    """The best validation figure among the evaluations finished by each time (NaN before the first)."""
    if not curve:
        return np.full(len(times), np.nan)
    finish = np.array([point[0] for point in curve])
    values = np.array([point[1] for point in curve], dtype=float)
    values = np.maximum.accumulate(values) if maximise else np.minimum.accumulate(values)
    index = np.searchsorted(finish, times, side="right")
    return np.where(index > 0, values[np.maximum(index - 1, 0)], np.nan)


def mean_over_seeds(lines: np.ndarray) -> np.ndarray:
    """The mean of the seeds' best-so-far lines, from the time every seed has its first evaluation (NaN before):
    a mean over the seeds that have begun would drop each time a seed joins below the others."""
    return lines.mean(axis=0)  # NaN wherever any seed has none yet


def draw_curves(task: Task, budget_words: str, budget: float, contenders, measured: dict, path: Path) -> bool:
    """Mean best-so-far validation figure against minutes, one line per searching contender; False if none."""
    searched = [(contender, [figures["curve"] for figures in measured[contender.name].values() if figures.get("curve")])
                for contender in contenders if contender.budgeted]
    searched = [(contender, curves) for contender, curves in searched if curves]
    if not searched:
        return False
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    times = np.linspace(0, budget * 1.1, 200)
    figure, axes = plt.subplots(figsize=(11, 5), constrained_layout=True)
    scale = 1.0 if task.regression else 100.0
    for contender, curves in searched:
        mean = mean_over_seeds(np.array([best_so_far(curve, times, task.maximise) for curve in curves]))
        style = "-" if contender.nas else "--"
        axes.plot(times / 60, scale * mean, style, linewidth=2.2 if contender.nas else 1.3,
                  label=f"{contender.tool} ({len(curves)} seed{'s' if len(curves) > 1 else ''})")
    axes.axvline(budget / 60, color="grey", linewidth=0.8)
    axes.set_xlabel("minutes since the contender started")
    # Each tool's own validation figure at its own trial fidelity (nas's trials: 2 epochs on 5,000 rows).
    axes.set_ylabel("best validation accuracy so far (%),\neach tool's own" if task.maximise
                    else "best validation MSE so far, each tool's own")
    axes.set_title(f"{task.name}, {budget_words} a search: anytime curves (mean over seeds)")
    if task.maximise:
        finals = [scale * np.nanmax(best_so_far(curve, times, True)) for _, curves in searched for curve in curves]
        axes.set_ylim(bottom=max(0.0, min(finals) - 5), top=min(100.0, max(finals) + 1))
    else:
        axes.set_yscale("log")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    axes.grid(alpha=0.3)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
