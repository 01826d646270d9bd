"""Drawing many cards: worker processes that load templates and fonts once, a bounded
number of cards in flight, and the cache filled as each card is done.

The same pool serves ``social-cards render`` and the MkDocs plugin's batch.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .errors import SocialCardsError
from .placement import write_card
from .store import Store

if TYPE_CHECKING:
    # multiprocessing and concurrent.futures load with the first worker (in _create and
    # run): a warm build starts none, and importing them is 3 ms of its start.
    import concurrent.futures as futures

    from .spec import CardSpec

__all__ = ["Job", "Outcome", "RenderPool", "default_workers", "groups"]

_T = TypeVar("_T")

IN_FLIGHT_PER_WORKER = 8
"""Cards handed to each worker ahead of time: enough to keep it busy, few enough to keep memory flat."""

CARDS_PER_TASK = 4
"""Cards sent to a worker together. Each task costs the caller's process threads, locks and a
round trip (about 0.45 ms, as much as resolving ten cards); four cards a task share it."""


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True, slots=True)
class Job:
    """One card to draw, its key (``spec.key``, known to the caller), and where to put a copy
    (besides the cache), if anywhere."""

    spec: CardSpec
    key: str
    target: Path | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a job (named by its key): ``error`` is None when the card was drawn and stored.

    ``cache_warning`` is the worker's reason the cache could not be used, sent with
    the first card it could not store, for the caller to report once. The job itself
    does not come back: it would cost a second trip of its spec between processes.
    """

    key: str
    size: int
    error: str | None
    cache_warning: str | None = None


_store: Store | None = None
_warning_sent = False


def _init_worker(cache_dir: Path | None, build_id: str | None) -> None:
    # The parent decides what an interrupt means; workers just stop when told to.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _use_store(cache_dir, build_id)


def _use_store(cache_dir: Path | None, build_id: str | None) -> None:
    """Open the store this process's jobs write to (closing one opened before)."""
    global _store, _warning_sent
    if _store is not None:
        _store.close()
    _warning_sent = False
    _store = Store(cache_dir, build_id=build_id, quiet=True) if cache_dir is not None else None


def _run_job(job: Job) -> Outcome:
    from .renderer import draw  # preloaded in workers; a warm build's own process never draws

    key = job.key
    try:
        data = draw(job.spec)
    except SocialCardsError as exc:
        return Outcome(key, 0, str(exc))
    except Exception as exc:  # a bug in one card must not stop the others
        return Outcome(key, 0, f"internal error: {type(exc).__name__}: {exc}")
    global _warning_sent
    cache_warning = None
    if _store is not None and not _store.put(key, data) and not _warning_sent:
        cache_warning, _warning_sent = _store.warning, True
    if job.target is not None:
        try:
            write_card(job.target, data)
        except OSError as exc:
            return Outcome(key, len(data), f"cannot write {job.target}: {exc.strerror or exc}", cache_warning)
    return Outcome(key, len(data), None, cache_warning)


class RenderPool:
    """Worker processes drawing cards into the cache (and to target files).

    Args:
        cache_dir: the card cache each worker writes to (``None``: no cache).
        workers: processes to use (default: all cores); 1 draws in this process.
        build_id: the build the cards are recorded under (the caller's store's id).
    """

    def __init__(self, cache_dir: Path | None, workers: int | None = None, build_id: str | None = None) -> None:
        self.cache_dir = cache_dir
        self.build_id = build_id
        self.workers = max(1, workers or default_workers())
        self._executor: futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> futures.ProcessPoolExecutor:
        with self._lock:  # start() may be creating it in its thread
            return self._create()

    def _create(self) -> futures.ProcessPoolExecutor:
        if self._executor is None:
            import concurrent.futures as futures
            import multiprocessing

            methods = multiprocessing.get_all_start_methods()
            # forkserver: cheap starts without forking a parent that may hold threads (mkdocs serve).
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                context.set_forkserver_preload(["social_cards.renderer", "social_cards.vector", "social_cards.store"])
            self._executor = futures.ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_init_worker, initargs=(self.cache_dir, self.build_id)
            )
        return self._executor

    def run(self, jobs: Iterable[Job], on_done: Callable[[Outcome], None] | None = None) -> Iterator[Outcome]:
        """Draw every job; yields outcomes as cards finish (not in job order).

        At most ``workers × IN_FLIGHT_PER_WORKER`` cards are queued at once, so memory
        does not grow with the number of jobs. On an interrupt, queued cards are
        cancelled; finished ones are already in the cache.
        """
        jobs = iter(jobs)
        first = next(jobs, None)
        if first is None:  # a warm build's misses: none, and nothing to load for them
            return
        jobs = itertools.chain((first,), jobs)
        import concurrent.futures as futures

        if self.workers == 1:
            _use_store(self.cache_dir, self.build_id)
            for job in jobs:
                outcome = _run_job(job)
                if on_done is not None:
                    on_done(outcome)
                yield outcome
            return
        limit = max(1, self.workers * IN_FLIGHT_PER_WORKER // CARDS_PER_TASK)
        pending: set[futures.Future[list[Outcome]]] = set()
        try:
            # A build hands over its misses 16 at a time (batch.RESOLVE_CHUNK), so a task
            # rarely waits for jobs that are not there yet.
            for task in groups(jobs, CARDS_PER_TASK):
                # Started at the first job: a warm build with nothing to draw never starts a worker.
                pending.add(self._pool().submit(_run_jobs, task))
                if len(pending) >= limit:
                    done, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                    yield from _finish(done, on_done)
            while pending:
                done, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                yield from _finish(done, on_done)
        except BaseException:
            for future in pending:
                future.cancel()
            self.close(cancel=True)
            raise

    def start(self) -> None:
        """Start the workers in the background, so they load the drawing code while the caller goes on.

        Otherwise they start with the first card. The caller does not wait: starting a
        worker waits for the fork server to load the drawing code (0.4 s here).
        """
        if self.workers > 1 and self._executor is None:
            threading.Thread(target=self._start_workers, name="social-cards-pool-start", daemon=True).start()

    def _start_workers(self) -> None:
        with self._lock:
            executor = self._create()
            for _ in range(self.workers):
                executor.submit(int)  # the pool starts a process per waiting job

    def close(self, *, cancel: bool = False) -> None:
        """Stop the workers (the pool starts again on the next :meth:`run`)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=not cancel, cancel_futures=cancel)
                self._executor = None

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_jobs(jobs: list[Job]) -> list[Outcome]:
    return [_run_job(job) for job in jobs]


def groups(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """``items`` in lists of ``size``, the last one shorter (``itertools.batched`` from Python 3.12)."""
    group: list[_T] = []
    for item in items:
        group.append(item)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


def _finish(done: set[futures.Future[list[Outcome]]], on_done: Callable[[Outcome], None] | None) -> Iterator[Outcome]:
    for future in done:
        for outcome in future.result():
            if on_done is not None:
                on_done(outcome)
            yield outcome
