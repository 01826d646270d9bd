"""The one way a card is made: requests in, a report out.

For each request: fingerprint its inputs and recall the key that fingerprint led to
last time; on a hit, place the cached card. Otherwise resolve the template to a
spec, look its key up, and on a miss have the pool draw it; the pipeline stores
what comes back and places it. Lookups happen as each request is submitted and
drawing goes on in the background, so a build can submit its pages as it reads
them and collect each card (:meth:`Pipeline.result`) when it writes the page.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import xxhash

from .errors import SocialCardsError
from .model import CardInput, RenderSettings
from .place import place, relative_path
from .pool import RenderPool
from .report import CardError, CardResult, Report
from .store import Recalled, Store, check_of
from .template import Template
from .template.fingerprint import fingerprint
from .template.resolve import resolve

if TYPE_CHECKING:
    from .spec import CardSpec

__all__ = ["CardError", "CardRequest", "CardResult", "Pipeline", "Report", "in_shard", "run"]

logger = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 64
"""Cards handed to each worker ahead of time: enough that a build goes on reading pages while the workers
draw, few enough to keep memory flat."""


@dataclass(frozen=True, slots=True)
class CardRequest:
    """One card to make.

    Attributes:
        ref: where the card comes from, for messages (a line number, a page's path).
        template: the loaded template.
        card: the card's data.
        settings: output format, fonts and strictness.
        out: the folder the card is placed under (None: only cache it).
        name: its path under ``out``; None names it by its key (``<key>.png``).
    """

    ref: str
    template: Template
    card: CardInput
    settings: RenderSettings = field(default_factory=RenderSettings)
    out: Path | None = None
    name: str | None = None


class _Pending:
    """A card on its way to the pool, and the requests that wait for it."""

    __slots__ = ("future", "key", "remote", "retried", "spec", "waiting")

    def __init__(self, key: str, spec: CardSpec) -> None:
        self.key = key
        self.spec = spec
        self.future: futures.Future[bytes] = futures.Future()
        self.retried = False
        self.remote = False
        """Whether the shared tier had the card (then it is not uploaded again)."""
        self.waiting: list[tuple[CardRequest, Path | None, str | None]] = []
        """The requests of this card: each with its target and fingerprint."""


class Pipeline:
    """Cards made together. Use as a context manager, or call :meth:`finish`.

    Args:
        store: the cache (off, if it cannot be used).
        pool: draws what the caches do not have.
        strict: the first card that cannot be made raises :class:`SocialCardsError`
            naming its ``ref``; otherwise it is reported in ``errors`` and the rest goes on.
        progress: called with the report after each card.
        shard: ``(k, n)``: make only the cards of slice ``k`` of ``n`` (1-based), a stable split
            by each card's own inputs, so that ``n`` machines share a bulk pre-render.

    The store's shared tier (:attr:`Store.shared`), when it has one, is asked for what the
    local cache lacks (many cards at once, in the background), and sent what is drawn here.
    """

    def __init__(
        self,
        store: Store,
        pool: RenderPool,
        *,
        strict: bool = False,
        progress: Callable[[Report], None] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.shard = shard
        self.strict = strict
        self.progress = progress
        self.report = Report()
        self._pending: dict[str, _Pending] = {}
        self._by_ref: dict[str, _Pending] = {}
        self._limit = max(1, pool.workers * IN_FLIGHT_PER_WORKER)
        self._told_broken = False

    def submit(self, request: CardRequest) -> None:
        """Make ``request``'s card: at once when it is cached, in the pool otherwise.

        Raises:
            SocialCardsError: with ``strict``, a card that cannot be made.
        """
        if self.shard is not None and not in_shard(request, self.shard):
            self.report.elsewhere += 1
            return
        self.report.cards += 1
        try:
            self._submit(request)
        except SocialCardsError as exc:
            self._fail(request.ref, str(exc))
        self._collect(block=len(self._pending) >= self._limit)

    def _submit(self, request: CardRequest) -> None:
        store, settings = self.store, request.settings
        fp = fingerprint(request.template, request.card, settings)
        recalled = store.recall(fp) if fp is not None else None
        spec: CardSpec | None = None
        if recalled is None:
            spec = resolve(request.template, request.card, settings)
            recalled = Recalled(spec.key, spec.width, spec.height)
        target = _target(request, recalled.key)
        pending = self._pending.get(recalled.key)
        if pending is not None:  # the same card again: placed once drawn
            pending.waiting.append((request, target, fp))
            self._by_ref[request.ref] = pending
            return
        data = store.get(recalled.key, recalled.check)
        if data is not None:
            self._remember(fp, recalled, data)
            self._place(request, recalled, target, data, cached=True)
            return
        if spec is None:  # recalled, but no longer cached
            spec = resolve(request.template, request.card, settings)
        pending = self._pending[spec.key] = _Pending(spec.key, spec)
        pending.future = self._fetch_or_draw(pending)
        pending.waiting.append((request, target, fp))
        self._by_ref[request.ref] = pending

    def _fetch_or_draw(self, pending: _Pending) -> futures.Future[bytes]:
        """The card's bytes, to come: from the shared tier if it has them, else drawn in the pool."""
        shared = self.store.shared
        if shared is None or not shared.enabled:
            return self.pool.submit(pending.spec)
        result: futures.Future[bytes] = futures.Future()

        def fetched(asked: futures.Future[bytes | None]) -> None:
            data = asked.result()
            if data is not None:
                pending.remote = True
                _settle(result, data, None)
                return
            try:
                drawing = self.pool.submit(pending.spec)
            except Exception as exc:  # a pool that is shutting down: the pipeline reports it for the card
                _settle(result, None, exc)
                return
            drawing.add_done_callback(lambda drawn: _settle(result, *_outcome(drawn)))

        shared.fetch(pending.key).add_done_callback(fetched)
        return result

    def _remember(self, fp: str | None, recalled: Recalled, data: bytes) -> None:
        """Note what ``fp`` led to, unless the store already says exactly that."""
        if fp is not None and recalled.check != (check := check_of(data)):
            self.store.remember(fp, recalled._replace(check=check))

    def reject(self, ref: str, reason: str) -> None:
        """Count a card that could not even be asked for (a bad input line) as failed.

        Raises:
            SocialCardsError: with ``strict``.
        """
        self.report.cards += 1
        self._fail(ref, reason)

    def _place(self, request: CardRequest, recalled: Recalled, target: Path | None, data: bytes, cached: bool) -> None:
        if target is not None:
            place(target, data)
        result = CardResult(request.ref, recalled.key, recalled.width, recalled.height, target, cached)
        self.report.results[request.ref] = result
        if cached:
            self.report.cached += 1
        else:
            self.report.drawn += 1
        if self.progress is not None:
            self.progress(self.report)

    def _fail(self, ref: str, reason: str) -> None:
        self.report.failed += 1
        self.report.errors.append(CardError(ref, reason))
        if self.progress is not None:
            self.progress(self.report)
        if self.strict:
            raise SocialCardsError(f"{ref}: {reason}")

    def _collect(self, *, block: bool) -> None:
        """Store and place the cards the pool has finished; with ``block``, wait for one at least."""
        if not self._pending:
            return
        if block:
            pending = [p.future for p in self._pending.values()]
            futures.wait(pending, return_when=futures.FIRST_COMPLETED)
        for item in [p for p in self._pending.values() if p.future.done()]:
            self._finish_one(item)

    def _finish_one(self, item: _Pending) -> None:
        from concurrent.futures.process import BrokenProcessPool

        try:
            data = item.future.result()
        except BrokenProcessPool:
            # A worker was killed (the OOM killer, say): each of its cards gets one more try in a new one.
            if not item.retried:
                if not self._told_broken:
                    self._told_broken = True
                    logger.warning("a drawing process died; drawing its cards again in a new one")
                item.retried = True
                item.future = self.pool.submit(item.spec)
                return
            data = None
            reason = "the drawing process died twice while drawing this card"
        except SocialCardsError as exc:
            data = None
            reason = str(exc)
        except Exception as exc:  # a fault of the drawing machinery: this card fails, the run goes on
            data = None
            reason = f"internal error: {type(exc).__name__}: {exc}"
        del self._pending[item.key]
        if data is None:
            for request, _, _ in item.waiting:
                self._by_ref.pop(request.ref, None)
                self._fail(request.ref, reason)
            return
        self.store.put(item.key, data)
        if item.remote:
            self.report.remote += 1
        elif self.store.shared is not None:
            self.store.shared.upload(item.key, data)
        recalled = Recalled(item.key, item.spec.width, item.spec.height)
        for n, (request, target, fp) in enumerate(item.waiting):
            self._by_ref.pop(request.ref, None)
            self._remember(fp, recalled, data)
            try:
                self._place(request, recalled, target, data, cached=item.remote or n > 0)
            except SocialCardsError as exc:
                self._fail(request.ref, str(exc))

    def result(self, ref: str) -> CardResult | None:
        """The card of ``ref`` once it is ready (waiting for it if it is being drawn); None if it failed.

        Raises:
            SocialCardsError: with ``strict``, a card that could not be made.
        """
        while ref in self._by_ref:
            item = self._by_ref[ref]
            futures.wait([item.future])
            self._finish_one(item)
        return self.report.results.get(ref)

    def take(self, ref: str) -> CardResult | None:
        """:meth:`result`, then forgotten: a run over many pages keeps no record of the ones it is done with.

        Raises:
            SocialCardsError: with ``strict``, a card that could not be made.
        """
        result = self.result(ref)
        self.report.results.pop(ref, None)
        return result

    def finish(self) -> Report:
        """Wait for every card; returns the final report.

        Raises:
            SocialCardsError: with ``strict``, a card that could not be made.
        """
        while self._pending:
            self._collect(block=True)
        shared = self.store.shared
        if shared is not None:
            shared.finish()
            for name, count in shared.counts.items():
                self.store.counts[f"remote_{name}"] = self.store.counts.get(f"remote_{name}", 0) + count
            shared.counts = dict.fromkeys(shared.counts, 0)
        self.report.damaged = self.store.counts["damaged"]
        self.store.flush()
        return self.report

    def cancel(self) -> None:
        """Stop waiting for cards being drawn (the run failed); cards already made stay."""
        for item in self._pending.values():
            item.future.cancel()
        self._pending.clear()
        self._by_ref.clear()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.cancel()


def in_shard(request: CardRequest, shard: tuple[int, int]) -> bool:
    """Whether ``request`` belongs to slice ``k`` of ``n``: by its title, page and name, the same on every machine."""
    k, n = shard
    card = request.card
    digest = xxhash.xxh3_64_intdigest(f"{card.title}\0{card.page_url}\0{request.name or ''}".encode(errors="replace"))
    return digest % n == k - 1


def _settle(future: futures.Future[bytes], data: bytes | None, exc: BaseException | None) -> None:
    """Give ``future`` its outcome, unless the run was cancelled meanwhile."""
    try:
        if exc is not None:
            future.set_exception(exc)
        elif data is not None:
            future.set_result(data)
    except futures.InvalidStateError:
        pass


def _outcome(future: futures.Future[bytes]) -> tuple[bytes | None, BaseException | None]:
    if future.cancelled():
        return None, SocialCardsError("cancelled")
    exc = future.exception()
    return (None, exc) if exc is not None else (future.result(), None)


def _target(request: CardRequest, key: str) -> Path | None:
    """Where a card goes: ``name`` (or ``<key><suffix>``) under ``out``; never outside it.

    Raises:
        SocialCardsError: a name that is absolute, climbs out of ``out`` or holds a NUL.
    """
    if request.out is None:
        return None
    name = request.name if request.name else f"{key}{request.settings.output.suffix}"
    return request.out / relative_path(name, f"a card's path must stay inside {request.out} (it is outside)")


def run(
    requests: Iterable[CardRequest],
    store: Store,
    pool: RenderPool,
    *,
    strict: bool = False,
    progress: Callable[[Report], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> Report:
    """Make every requested card; returns the report.

    Raises:
        SocialCardsError: with ``strict``, the first card that could not be made.
    """
    pipeline = Pipeline(store, pool, strict=strict, progress=progress, shard=shard)
    with pipeline:
        for request in requests:
            pipeline.submit(request)
    return pipeline.report
