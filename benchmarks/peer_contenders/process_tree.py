"""Run one contender's command and measure what its whole process tree used: wall time, CPU-seconds and peak
resident memory, so a tool that used one core of two, or started worker processes, shows it.

psutil does the work: every POLL_SECONDS the tree under the command (Ray's workers included: they descend from the
driver) is walked; a process's CPU time is its last reading (user + system), and the tree's memory is the sum of its
processes' resident set sizes at one poll (shared pages count once per process, so this is an upper bound). A process
that lives less than one poll is missed, so CPU-seconds are a lower bound; the command's own children that it waited
for are added from `resource.getrusage(RUSAGE_CHILDREN)`, whichever is larger.
"""
from __future__ import annotations

import resource
import subprocess
import time
from dataclasses import dataclass

import psutil

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class TreeUsage:
    returncode: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def run_measured(command: list[str], cwd: str | None = None, env: dict | None = None,
                 timeout_seconds: float | None = None) -> TreeUsage:
    """Run `command` to its end (or kill its tree after timeout_seconds) and return what its tree used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env)
    root = psutil.Process(process.pid)
    cpu_by_process: dict[tuple[int, float], float] = {}  # (pid, create time): last CPU seconds read
    peak_rss = 0
    while process.poll() is None:
        rss = 0
        for member in _tree(root):
            try:
                with member.oneshot():
                    times = member.cpu_times()
                    cpu_by_process[(member.pid, member.create_time())] = times.user + times.system
                    rss += member.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        peak_rss = max(peak_rss, rss)
        if timeout_seconds is not None and time.perf_counter() - start > timeout_seconds:
            for member in reversed(_tree(root)):
                try:
                    member.kill()
                except psutil.Error:
                    pass
        time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    waited = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return TreeUsage(process.returncode, wall, max(sum(cpu_by_process.values()), waited), peak_rss / 2**20)


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
