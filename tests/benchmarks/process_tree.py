"""Running a command and measuring its wall time, CPU time and the peak memory of its whole process tree.

Memory is sampled from /proc every 50 ms (Linux only) as PSS, summed over the process
and all its descendants (pool workers, helpers). CPU time is user plus system time of
the process and every descendant it waited for (the kernel adds a reaped child's time
to its parent's children total), taken from ``getrusage`` around the run; one command
runs at a time, so the difference is that command's alone.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "installed_env", "run", "tree_memory_kb"]

SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True, slots=True)
class Run:
    """What one run of a command took."""

    seconds: float
    cpu_seconds: float
    """User plus system time of the process tree: what it ran, not what it waited for the CPU."""
    peak_kb: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def _memory_kb(pid: int) -> int | None:
    """Proportional set size of one process (shared pages split among their users), else its RSS.

    Pool workers are forked from one parent and share its pages; adding up their RSS
    would count every shared page once per worker. PSS adds up to what the tree uses.
    """
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith(field):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


def tree_memory_kb(root: int) -> int:
    """Memory of ``root`` and all its descendants (PSS where the kernel gives it), in KB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        total += _memory_kb(pid) or 0
    return total


def installed_env() -> dict[str, str]:
    """This environment, as an installed package sees it: bytecode kept, no MkDocs 2 notice.

    pip compiles bytecode at install time; an editable checkout under
    PYTHONDONTWRITEBYTECODE (set on the development machine) would recompile every
    module on every run and charge it to the plugin.
    """
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to its end; its wall time, CPU time, peak tree memory and output."""
    before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_memory_kb(process.pid))
            time.sleep(SAMPLE_INTERVAL_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - before
    done.set()
    sampler.join()
    return Run(seconds, cpu, peak, process.returncode, stdout, stderr)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
