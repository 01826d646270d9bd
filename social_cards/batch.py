"""Batches of cards: look up, materialize what is cached, draw the rest in the pool.

:func:`run_batch` is the one path every front door takes (the MkDocs plugin and
``social-cards render``): requests are handled in chunks, each chunk with one
query for the keys earlier runs resolved its inputs to, one query for the cached
cards, and the misses handed to the pool, so memory stays flat however many
cards there are. :func:`render_jsonl` feeds it from a JSON Lines file: each line
is one card, ``title`` (required), ``description``, ``template``, ``options``,
``output`` (a path under the output folder), and the other page variables
(``site_name``, ``site_url``, ``page_url``, ``date``, ``authors``, ``tags``,
``categories``, ``logo``).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import SocialCardsError
from .output import OutputFormat
from .placement import write_card
from .pool import Job, Outcome, RenderPool, groups
from .store import Placing, Resolved, Store
from .template import CardInput, Template, load_template

if TYPE_CHECKING:
    from .spec import CardSpec  # loads with the first resolve (see template)

__all__ = ["Batch", "BatchReport", "CardError", "CardRequest", "CardResult", "Recalled", "render_jsonl", "run_batch"]

LOOKUP_CHUNK = 500
"""Requests looked up together by fingerprint: one store query each, and bounded memory."""

RESOLVE_CHUNK = 16
"""Requests with no known fingerprint resolved before their lookup: few, so drawing starts at once
and the pool never waits for the batch to resolve."""

_TEXT_FIELDS = ("title", "description", "site_name", "site_url", "page_url", "date")
_LIST_FIELDS = ("authors", "tags", "categories")
_KNOWN = {*_TEXT_FIELDS, *_LIST_FIELDS, "template", "options", "output", "logo", "format"}


@dataclass(frozen=True, slots=True)
class CardError:
    """A card that could not be made: where it came from (a line number, a page) and why."""

    ref: str
    reason: str


def _nowhere(key: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class CardRequest:
    """One card a batch should make.

    Attributes:
        ref: where the card comes from, for messages (a line number, a page's path).
        resolve: makes the card's spec; raises :class:`SocialCardsError` when it cannot.
        fingerprint: ``Template.fingerprint`` of the same inputs, or None. With it, a
            warm run takes the key from the cache and never calls ``resolve``.
        place: the file to put a copy of the card in, given its key (None: only cache it);
            raises :class:`SocialCardsError` for a place that is not allowed. A string,
            because a warm build calls it for every page and a ``Path`` costs more.
    """

    ref: str
    resolve: Callable[[], CardSpec]
    fingerprint: str | None = None
    place: Callable[[str], str | None] = _nowhere


@dataclass(frozen=True, slots=True)
class CardResult:
    """A card that is ready: in the cache (if it is on) and at its target (if any)."""

    ref: str
    key: str
    width: int
    height: int
    target: str | None
    cached: bool


Recalled = tuple[str, str, int, int, str | None]
"""A card whose key the caller recalled by fingerprint (``Store.recall``): its ref, key, width,
height, and where it goes (see :meth:`Batch.serve_recalled`).

A plain tuple, like ``placement.Slot``: the batch keeps one per page of a warm build until it
ends, and the collector stops tracking plain tuples of strings and numbers.
"""


@dataclass(slots=True)
class BatchReport:
    """Counts of a batch, updated as it runs (for progress) and final at the end."""

    cards: int = 0
    cached: int = 0
    drawn: int = 0
    failed: int = 0
    errors: list[CardError] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.cached + self.drawn + self.failed

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class _StopBatch(Exception):
    pass


def _card(doc: Any, base: Path) -> tuple[CardInput, str, OutputFormat, str | None]:
    if not isinstance(doc, dict):
        raise SocialCardsError(f"expected a JSON object, got {type(doc).__name__}")
    unknown = set(doc) - _KNOWN
    if unknown:
        raise SocialCardsError(f"unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(_KNOWN))}")
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise SocialCardsError("'title' is required and must be a non-empty string")
    text = {}
    for name in _TEXT_FIELDS:
        value = doc.get(name, "")
        if not isinstance(value, (str, int, float)):
            raise SocialCardsError(f"'{name}' must be a string")
        text[name] = str(value)
    lists = {}
    for name in _LIST_FIELDS:
        value = doc.get(name, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise SocialCardsError(f"'{name}' must be a string or a list of strings")
        lists[name] = tuple(str(v) for v in value)
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise SocialCardsError("'options' must be an object of option names to values")
    logo = doc.get("logo")
    if logo is not None and not isinstance(logo, str):
        raise SocialCardsError("'logo' must be a path")
    output = doc.get("output")
    if output is not None and not isinstance(output, str):
        raise SocialCardsError("'output' must be a relative path")
    card = CardInput(
        title=text["title"],
        description=text["description"],
        site_name=text["site_name"],
        site_url=text["site_url"],
        page_url=text["page_url"],
        date=text["date"],
        authors=lists["authors"],
        tags=lists["tags"],
        categories=lists["categories"],
        logo=(base / logo).resolve() if logo else None,
        options=CardInput.options_from(options),
    )
    return card, str(doc.get("template", "default")), OutputFormat.named(str(doc.get("format", "png"))), output


def _target(out_dir: Path, output: str | None, key: str, fmt: OutputFormat) -> Path:
    name = output if output else f"{key}{fmt.suffix}"
    relative = Path(name)
    root = out_dir.resolve()
    target = (root / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(root) or target == root:
        raise SocialCardsError(f"'output' {name!r} is outside --out-dir; it must be a relative path inside it")
    return target


class Batch:
    """Cards made together: cached ones are only placed, the rest drawn by ``pool``.

    ``on_card`` hears of each card once it is ready (with ``later``, once it is known);
    failures go to the report's ``errors``. With ``strict``, the first failure stops
    the batch and raises :class:`SocialCardsError` naming its ``ref``.
    """

    def __init__(
        self,
        store: Store,
        pool: RenderPool,
        *,
        strict: bool = False,
        progress: Callable[[BatchReport], None] | None = None,
        on_card: Callable[[CardResult], None] | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.strict = strict
        self.progress = progress
        self.on_card = on_card
        self.report = BatchReport()
        # Cards being drawn, by key: the request that draws it, and others that want the same card.
        self._drawing: dict[str, tuple[_Pending, list[_Pending]]] = {}
        # Cards served from the cache before they were verified, by key (``later``), and those
        # served by serve_recalled() with what makes their request if they must be drawn after all.
        self._unverified: dict[str, list[_Pending]] = {}
        self._recalled: list[tuple[list[Recalled], Callable[[str], CardRequest]]] = []
        self._placing: Placing | None = None
        self._drawer: threading.Thread | None = None
        self._drawer_error: BaseException | None = None
        self._stopping = False
        # Requests fed and not yet looked up, and the misses on their way to the drawer thread.
        self._chunk = RESOLVE_CHUNK
        self._fed: list[CardRequest] = []
        self._misses: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        # Counts change in the caller's thread (lookups) and the drawer's (drawn cards).
        self._counting = threading.Lock()

    def run(self, requests: Iterable[CardRequest], *, later: bool = False) -> BatchReport:
        """Make every requested card.

        With ``later``, this returns as soon as every card is known (its key and size,
        the first thing ``on_card`` hears): a helper process verifies and places the
        cached cards, and a thread of this process has the pool draw the others, while
        the caller goes on. :meth:`finish` waits for both, draws again any cached card
        that failed its check, and reports in ``errors`` the cards that could not be made
        after all. Without ``later``, the batch is finished on return.
        """
        if not later:
            self._drain(self._jobs(requests))
            return self.finish()
        self.start(LOOKUP_CHUNK)
        for request in requests:
            self.feed(request)
        return self.end_input()

    def start(self, chunk: int = RESOLVE_CHUNK) -> None:
        """Take requests one by one with :meth:`feed` (``run`` with ``later``, a request at a time).

        Every ``chunk`` requests are looked up together; their misses go at once to a
        thread of this process that has the pool draw them, so drawing starts while the
        caller is still gathering requests. :meth:`end_input` ends the input.
        """
        self._chunk = chunk
        self._drawer = threading.Thread(target=self._draw_behind, name="social-cards-draw")
        self._drawer.start()

    def feed(self, request: CardRequest) -> None:
        """One more request (after :meth:`start`); ``on_card`` hears of it within ``chunk`` requests.

        Raises:
            SocialCardsError: with ``strict``, the first request that cannot be made.
        """
        self.report.cards += 1
        self._fed.append(request)
        if len(self._fed) >= self._chunk:
            self._look_up_fed()

    def serve_recalled(self, cards: list[Recalled], request_for: Callable[[str], CardRequest]) -> None:
        """Serve cards whose keys the caller recalled itself: a warm build's pages, with no object each.

        After :meth:`start`, before :meth:`end_input`. ``on_card`` hears nothing of these:
        the caller knows their key and size already. Those the cache no longer holds are
        drawn, and those whose check fails in :meth:`finish` drawn again, from
        ``request_for(ref)``, like any other request.
        """
        self.report.cards += len(cards)
        served = self.store.materialize_many(((key, target) for _, key, _, _, target in cards), later=True)
        missing = 0
        for card in cards:
            if card[1] not in served:
                missing += 1
                self._misses.put(_known(card, request_for))
        self._recalled.append((cards, request_for))
        with self._counting:
            self.report.cached += len(cards) - missing

    def end_input(self) -> BatchReport:
        """Look up the last requests fed and start placing the cached cards; see :meth:`run`.

        Raises:
            SocialCardsError: with ``strict``, the first request that cannot be made.
        """
        self._look_up_fed()
        self._misses.put(None)
        self._placing = self.store.place_queued()
        return self.report

    def _look_up_fed(self) -> None:
        chunk, self._fed = self._fed, []
        if not chunk:
            return
        try:
            for item in self._lookup(chunk, later=True):
                self._announce(item, cached=False)
                self._misses.put(item)
        except _StopBatch as exc:
            raise SocialCardsError(str(exc)) from None

    def finish(self) -> BatchReport:
        """Wait for cards being drawn and placed; draw again those that were damaged or gone.

        Returns the final report.

        Raises:
            SocialCardsError: with ``strict``, the first card that could not be made.
        """
        self._join_drawer()
        error, self._drawer_error = self._drawer_error, None
        if error is not None:
            self.cancel()
            raise error
        if self._placing is None:
            return self.report
        failed = self._placing.wait()
        self._placing = None
        retry = [item for key in failed for item in self._unverified.get(key, ())]
        if failed:
            retry += [_known(c, request_for) for cards, request_for in self._recalled for c in cards if c[1] in failed]
        self._unverified.clear()
        self._recalled = []
        self.report.cached -= len(retry)
        self._drain(self._draw(retry))
        return self.report

    def cancel(self) -> None:
        """Stop drawing and placing cards (the build failed); cards already made stay."""
        self._stopping = True
        self._join_drawer()
        if self._placing is not None:
            self._placing.cancel()
            self._placing = None

    def _draw_behind(self) -> None:
        try:
            self._drain(self._draw(iter(self._misses.get, None)))
        except BaseException as exc:  # handed to finish(), in the caller's thread
            self._drawer_error = exc

    def _join_drawer(self) -> None:
        if self._drawer is not None:
            self._misses.put(None)  # the end of the input, if end_input() did not say so
            self._drawer.join()
            self._drawer = None

    def _drain(self, jobs: Iterable[Job]) -> None:
        """Draw ``jobs`` in the pool, each outcome handled by :meth:`_done`."""
        try:
            for _ in self.pool.run(jobs, on_done=self._done):
                pass
        except _StopBatch as exc:
            raise SocialCardsError(str(exc)) from None

    def _fail(self, ref: str, reason: str) -> None:
        with self._counting:
            self.report.failed += 1
            self.report.errors.append(CardError(ref, reason))
        if self.strict:
            raise _StopBatch(f"{ref}: {reason}")

    def _ready(self, item: _Pending, cached: bool) -> None:
        with self._counting:
            if cached:
                self.report.cached += 1
            else:
                self.report.drawn += 1
        if not cached:
            self.store.touch([item.key])  # drawn by a worker, perhaps one started for an earlier build
        self._announce(item, cached)

    def _announce(self, item: _Pending, cached: bool) -> None:
        """Tell ``on_card`` of a card, once."""
        if self.on_card is not None and not item.announced:
            item.announced = True
            self.on_card(CardResult(item.request.ref, item.key, item.width, item.height, item.target, cached))

    def _jobs(self, requests: Iterable[CardRequest]) -> Iterator[Job]:
        for chunk in groups(requests, LOOKUP_CHUNK):
            self.report.cards += len(chunk)
            yield from self._draw(self._lookup(chunk, later=False))
            if self.progress is not None:
                self.progress(self.report)

    def _lookup(self, chunk: list[CardRequest], later: bool) -> Iterator[_Pending]:
        """Serve what is cached and yield the misses.

        Requests whose fingerprint is known are looked up together (the warm path: two
        queries a chunk). The others are resolved a few at a time, each few looked up and
        their misses yielded at once, so the pool starts drawing while the rest resolve.
        """
        known = self.store.recall(r.fingerprint for r in chunk if r.fingerprint is not None)
        recalled: list[_Pending] = []
        unknown: list[CardRequest] = []
        for request in chunk:
            hit = known.get(request.fingerprint) if request.fingerprint is not None else None
            if hit is None:
                unknown.append(request)
                continue
            key, width, height = hit
            if (item := self._placed(_Pending(request, key, width, height, None))) is not None:
                recalled.append(item)
        yield from self._serve(recalled, later)
        for start in range(0, len(unknown), RESOLVE_CHUNK):
            learned: list[tuple[str, Resolved]] = []
            items: list[_Pending] = []
            for request in unknown[start : start + RESOLVE_CHUNK]:
                try:
                    spec = request.resolve()
                except SocialCardsError as exc:
                    self._fail(request.ref, str(exc))
                    continue
                item = self._placed(_Pending(request, spec.key, spec.width, spec.height, spec))
                if item is None:
                    continue
                items.append(item)
                if request.fingerprint is not None:
                    learned.append((request.fingerprint, (item.key, item.width, item.height)))
            self.store.remember(learned)
            yield from self._serve(items, later)

    def _placed(self, item: _Pending) -> _Pending | None:
        """``item`` with its target; None (and a failure) when its place is not allowed."""
        try:
            item.target = item.request.place(item.key)
        except SocialCardsError as exc:
            self._fail(item.request.ref, str(exc))
            return None
        return item

    def _serve(self, items: list[_Pending], later: bool) -> list[_Pending]:
        """Materialize the cached cards among ``items`` (one query); returns the misses."""
        if not items:
            return []
        served = self.store.materialize_many(((item.key, item.target) for item in items), later=later)
        misses = []
        for item in items:
            if item.key in served:
                if later:
                    self._unverified.setdefault(item.key, []).append(item)
                self._ready(item, cached=True)
            else:
                misses.append(item)
        return misses

    def _draw(self, items: Iterable[_Pending]) -> Iterator[Job]:
        for item in items:
            if self._stopping:
                return
            if item.key in self._drawing:
                self._drawing[item.key][1].append(item)  # the same card again: copied once drawn
                continue
            try:
                spec = item.spec or item.request.resolve()  # known by fingerprint, but no longer cached
            except SocialCardsError as exc:
                self._fail(item.request.ref, str(exc))
                continue
            self._drawing[item.key] = (item, [])
            yield Job(spec, item.key, None if item.target is None else Path(item.target))

    def _done(self, outcome: Outcome) -> None:
        if outcome.cache_warning:
            self.store.disable(outcome.cache_warning)
        first, others = self._drawing.pop(outcome.key)
        if outcome.error is not None:
            for item in (first, *others):
                self._fail(item.request.ref, outcome.error)
        else:
            self._ready(first, cached=False)
            data = Path(first.target).read_bytes() if first.target is not None and others else None
            for item in others:
                if item.target is not None and data is not None:
                    write_card(Path(item.target), data)
                elif item.target is not None:
                    self.store.materialize_many([(item.key, item.target)])
                self._ready(item, cached=True)
        if self.progress is not None:
            self.progress(self.report)


def run_batch(
    requests: Iterable[CardRequest],
    store: Store,
    pool: RenderPool,
    *,
    strict: bool = False,
    progress: Callable[[BatchReport], None] | None = None,
    on_card: Callable[[CardResult], None] | None = None,
) -> BatchReport:
    """Make every requested card (a :class:`Batch` run to its end).

    Raises:
        SocialCardsError: with ``strict``, the first failure (naming its ``ref``).
    """
    return Batch(store, pool, strict=strict, progress=progress, on_card=on_card).run(requests)


class _Pending:
    """A card on its way; a plain class, as private types are (a dataclass costs 1.5 ms to define at import)."""

    __slots__ = ("announced", "height", "key", "request", "spec", "target", "width")

    def __init__(
        self,
        request: CardRequest,
        key: str,
        width: int,
        height: int,
        spec: CardSpec | None,
        target: str | None = None,
        announced: bool = False,
    ) -> None:
        self.request = request
        self.key = key
        self.width = width
        self.height = height
        self.spec = spec
        self.target = target
        self.announced = announced


def _known(card: Recalled, request_for: Callable[[str], CardRequest]) -> _Pending:
    """A recalled card that must be drawn after all, as a request its caller already knows of."""
    ref, key, width, height, target = card
    return _Pending(request_for(ref), key, width, height, None, target, announced=True)


def _failing(reason: str) -> Callable[[], CardSpec]:
    def resolve() -> CardSpec:
        raise SocialCardsError(reason)

    return resolve


def render_jsonl(
    source: Path,
    store: Store,
    pool: RenderPool,
    *,
    out_dir: Path | None = None,
    strict: bool = False,
    fonts: tuple[Path, ...] = (),
    progress: Callable[[BatchReport], None] | None = None,
) -> BatchReport:
    """Make every card a JSON Lines file describes; returns the counts and the line errors.

    Cards already cached are only copied to ``out_dir`` (if given); the rest are drawn
    by ``pool``. A line that cannot be used is reported with its number and reason
    (``CardError.ref`` is ``FILE:LINE``); the rest goes on. With ``strict``, the
    first bad line or failed card stops the batch.

    Raises:
        SocialCardsError: the source cannot be read; or, with ``strict``, the first failure.
    """
    templates: dict[str, Template] = {}
    base = source.parent

    def request(number: int, raw: str) -> CardRequest:
        ref = f"{source}:{number}"
        try:
            card, template_ref, fmt, output = _card(json.loads(raw), base)
            template = templates.get(template_ref)
            if template is None:
                local = base / template_ref
                template = templates[template_ref] = load_template(local if local.is_dir() else template_ref)
        except json.JSONDecodeError as exc:
            return CardRequest(ref, _failing(f"invalid JSON: {exc.msg} (column {exc.colno})"))
        except SocialCardsError as exc:
            return CardRequest(ref, _failing(str(exc)))

        def resolve() -> CardSpec:
            return template.resolve(card, output=fmt, fonts=fonts, strict=strict)

        def place(key: str) -> str | None:
            return str(_target(out_dir, output, key, fmt)) if out_dir is not None else None

        return CardRequest(ref, resolve, template.fingerprint(card, output=fmt, fonts=fonts, strict=strict), place)

    def requests() -> Iterator[CardRequest]:
        try:
            handle = source.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SocialCardsError(f"cannot read {source}: {exc.strerror or exc}") from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield request(number, raw)

    return run_batch(requests(), store, pool, strict=strict, progress=progress)
