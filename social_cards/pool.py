"""Drawing cards in worker processes: specs go in, encoded bytes come back.

The pool only draws. The pipeline that hands it specs stores and places what comes
back, in its own process, so there is one place where cards are written.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

from .errors import SocialCardsError

if TYPE_CHECKING:
    import concurrent.futures as futures

    from .spec import CardSpec

__all__ = ["MAX_WORKERS_PER_CORE", "RenderPool", "default_workers"]

MAX_WORKERS_PER_CORE = 2
"""More drawing processes than this per core only add memory: drawing is CPU-bound."""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def draw_card(spec: CardSpec) -> bytes:
    """Draw and encode one card; every failure is a :class:`SocialCardsError` with its reason."""
    from .renderer import draw

    try:
        return draw(spec)
    except SocialCardsError:
        raise
    except Exception as exc:  # a bug in one card must not stop the others
        raise SocialCardsError(f"internal error: {type(exc).__name__}: {exc}") from None


def _init_worker() -> None:
    # The parent decides what an interrupt means; workers stop when told to.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class RenderPool:
    """Worker processes that draw cards.

    Args:
        workers: processes to use (default: all cores, at most two per core); 1 draws
            in this process.
    """

    def __init__(self, workers: int | None = None) -> None:
        cap = MAX_WORKERS_PER_CORE * default_workers()
        self.workers = max(1, min(workers or default_workers(), cap))
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
            return self._pool().submit(draw_card, spec)
        except BrokenProcessPool:  # a worker died: the pipeline retries its cards, new ones go to new workers
            self.close(cancel=True)
            return self._pool().submit(draw_card, spec)

    def _pool(self) -> futures.ProcessPoolExecutor:
        if self._executor is None:
            import concurrent.futures as futures
            import multiprocessing

            # forkserver: cheap starts without forking a parent that may hold threads (mkdocs serve).
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            self._executor = futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker)
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
