"""Drawing cards in worker processes: specs go in, encoded bytes come back.

The pool only draws. The pipeline that hands it specs stores and places what comes
back, in its own process, so there is one place where cards are written.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import resource
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SocialCardsError

if TYPE_CHECKING:
    import concurrent.futures as futures

    from .spec import CardSpec

__all__ = ["MAX_WORKERS_PER_CORE", "RenderPool", "default_workers"]

MAX_WORKERS_PER_CORE = 2
"""More drawing processes than this per core only add memory: drawing is CPU-bound."""

CARD_CPU_S = 20
"""CPU seconds a worker may spend on one card before it is abandoned (a usual card takes a few hundredths)."""

WORKER_MEMORY_BYTES = 3 * 2**30
"""Address space a drawing process may use; a card that needs more fails alone."""

PARENT_CHECK_S = 0.5
"""How often a drawing process looks whether the process that started it is still there."""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _OverBudget(BaseException):
    """Raised in a worker by SIGXCPU; a BaseException, so no ``except Exception`` on the way swallows it."""


_budget: tuple[float, int] | None = None
"""While a card is drawn: the CPU seconds this process had used when it began, and the card's budget."""


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _over_budget(signum: int, frame: object) -> None:
    # Only the card being drawn, once past its own budget, is abandoned. A signal that finds no card, or a
    # card still within its budget (the kernel's clock and getrusage's can disagree by a tick), moves the
    # limit on and is otherwise ignored.
    if _budget is None:
        return
    started, budget = _budget
    used = _cpu_used()
    if used - started >= budget:
        raise _OverBudget
    with contextlib.suppress(ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        resource.setrlimit(resource.RLIMIT_CPU, (int(started + budget) + 2, hard))


def draw_card(spec: CardSpec, cpu_s: int = 0) -> bytes:
    """Draw and encode one card; every failure is a :class:`SocialCardsError` with its reason.

    With ``cpu_s``, the card is abandoned once this process has spent that many more CPU
    seconds on it; a process stuck in C code that long ends itself a moment later.
    """
    global _budget
    from .renderer import draw

    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    try:
        if cpu_s:
            used = _cpu_used()
            _budget = (used, cpu_s)
            resource.setrlimit(resource.RLIMIT_CPU, (int(used) + cpu_s + 1, hard))
            with open(os.devnull, "w") as devnull:
                faulthandler.dump_traceback_later(3 * cpu_s + 5, file=devnull, exit=True)
        return draw(spec)
    except SocialCardsError:
        raise
    except _OverBudget:
        raise SocialCardsError(f"drawing took more than {cpu_s} s of CPU; the card was abandoned") from None
    except MemoryError:
        raise SocialCardsError("drawing needed more memory than a drawing process may use") from None
    except Exception as exc:  # a bug in one card must not stop the others
        raise SocialCardsError(f"internal error: {type(exc).__name__}: {exc}") from None
    finally:
        _budget = None
        if cpu_s:
            faulthandler.cancel_dump_traceback_later()
            resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _init_worker(parent: int) -> None:
    """A drawing process: interrupts are the parent's business, and it ends when the parent has ended,
    however it ended (a SIGKILL included: then nothing else would tell it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGXCPU, _over_budget)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, resource.getrlimit(resource.RLIMIT_AS)[1]))
    threading.Thread(target=_end_with, args=(parent,), name="social-cards-parent", daemon=True).start()


def _end_with(parent: int) -> None:
    while _alive(parent):
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed parent nobody has reaped yet is still listed, as a zombie
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RenderPool:
    """Worker processes that draw cards.

    Args:
        workers: processes to use (default: all cores, at most two per core); 1 draws
            in this process (with no limits: they would be this whole process's).
        card_cpu_s: CPU seconds a worker may spend on one card (0: no limit).
    """

    def __init__(self, workers: int | None = None, *, card_cpu_s: int = CARD_CPU_S) -> None:
        cap = MAX_WORKERS_PER_CORE * default_workers()
        self.workers = max(1, min(workers or default_workers(), cap))
        self.card_cpu_s = card_cpu_s
        self._executor: futures.ProcessPoolExecutor | None = None

    def submit(self, spec: CardSpec) -> futures.Future[bytes]:
        """Start drawing ``spec``; the future gives its bytes or raises :class:`SocialCardsError`."""
        import concurrent.futures as futures

        if self.workers == 1:
            done: futures.Future[bytes] = futures.Future()
            try:
                done.set_result(draw_card(spec))
            except SocialCardsError as exc:
                done.set_exception(exc)
            return done
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool().submit(draw_card, spec, self.card_cpu_s)
        except BrokenProcessPool:  # a worker died: the pipeline retries its cards, new ones go to new workers
            self.close(cancel=True)
            return self._pool().submit(draw_card, spec, self.card_cpu_s)

    def _pool(self) -> futures.ProcessPoolExecutor:
        if self._executor is None:
            import concurrent.futures as futures
            import multiprocessing

            # forkserver: cheap starts without forking a parent that may hold threads (mkdocs serve).
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            self._executor = futures.ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
            )
        return self._executor

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers (the pool starts again with the next card)."""
        if self._executor is not None:
            self._executor.shutdown(wait=not cancel, cancel_futures=cancel)
            self._executor = None

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
