"""The local tier: a content-addressed card cache with diskcache as its one index.

Layout under the cache folder (see docs/cache.md)::

    v2/                 FORMAT_VERSION: a new version is a new folder; older ones are ignored
      cache.db          diskcache's index: each card's length and digest by key, what each
                        input fingerprint resolved to, the counters; and one table of when
                        each card was last used, and by which build
      cards/ab/<key>    the card files, named by their content key

A card file is written completely under a temporary name and renamed into place
before the index row that names it is written, so no reader sees a partial card,
even when the writer is killed. Every card is checked against the length and
xxh3_128 digest recorded with it before it is served; a damaged entry is dropped,
counted and reported as a miss. Since a file is named by its key, an entry can only
ever point at its own card.

A cache that cannot be used (read-only, full, not a folder, a damaged index) turns
the store off with one warning: the caller draws without caching and goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import diskcache
import xxhash

from .errors import CacheError
from .place import write_atomic

if TYPE_CHECKING:
    from .shared import SharedTier

__all__ = [
    "CACHE_DIR_ENV", "DEFAULT_CACHE_DIR", "FORMAT_VERSION", "Recalled", "Store", "check_of", "resolve_cache_dir",
]  # fmt: skip

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""On-disk layout version; bumping it makes every older folder invisible (and prunable)."""

CACHE_DIR_ENV = "SOCIAL_CARDS_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(".cache") / "social-cards"

INDEX_FILE = "cache.db"
CARDS_DIR = "cards"

_SQLITE_TIMEOUT_S = 60.0
_FINGERPRINT = "f:"
"""Prefix of the index keys that map an input fingerprint to a card key (card keys are bare hex)."""
_COUNTER = "n:"
_BUILDS = "n:builds"
_SQLITE_CACHE_PAGES = 2048
"""SQLite's page cache for the index: 8 MB of 4 KB pages."""
USES_KEPT = 10_000
"""Card uses a run holds in memory before it writes them to the table of use."""
_UNUSABLE = (OSError, sqlite3.Error, diskcache.Timeout)
"""What a cache that cannot be used raises: the store turns itself off and the run draws on."""
_MISSING = object()
_DAMAGED = object()
_USE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS CardUse (key TEXT PRIMARY KEY, last_used REAL NOT NULL, last_build INTEGER NOT NULL)"
)
_RECORD_USE = (
    "INSERT INTO CardUse (key, last_used, last_build) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
    "last_used = max(last_used, excluded.last_used), last_build = max(last_build, excluded.last_build)"
)


def resolve_cache_dir(given: Path | str | None, project: Path | None = None) -> Path:
    """The cache folder: ``given``, else ``$SOCIAL_CARDS_CACHE_DIR``, else ``.cache/social-cards`` in ``project``."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return (project or Path.cwd()) / DEFAULT_CACHE_DIR


class Recalled(NamedTuple):
    """What an input fingerprint resolved to last time: the card's key, picture size, and the
    length and digest of its bytes (:func:`check_of`), so a warm run asks the index once a card."""

    key: str
    width: int
    height: int
    check: str = ""


def check_of(data: bytes) -> str:
    """What the index records to verify a card's bytes by: their length and xxh3_128 digest."""
    return f"{len(data)} {xxhash.xxh3_128_hexdigest(data)}"


def is_card_key(name: str) -> bool:
    """Whether an index key names a card (32 hex digits), not a fingerprint or a counter."""
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


class Store:
    """A card cache in ``directory``. Use as a context manager, or call :meth:`close`.

    Args:
        directory: the cache folder.
        create: make the folder when it is missing; when False, a missing cache is a
            :class:`CacheError` (``stats`` and ``prune`` never create one).
        quiet: keep the reason the cache cannot be used in :attr:`warning` without logging it
            (a caller that reports it its own way).
    """

    def __init__(self, directory: Path, *, create: bool = True, quiet: bool = False) -> None:
        self.directory = Path(directory)
        self.root = self.directory / f"v{FORMAT_VERSION}"
        self.cards = self.root / CARDS_DIR
        self.quiet = quiet
        self.warning: str | None = None
        self.counts = {"hits": 0, "misses": 0, "damaged": 0}
        self._used: set[str] = set()
        self._build: int | None = None
        self._index: diskcache.Cache | None = None
        self.shared: SharedTier | None = None
        """The shared tier behind this cache, if the run has one: the pipeline asks it for what this
        cache lacks and sends it what is drawn; closing the store waits for its uploads."""
        if not create and not (self.root / INDEX_FILE).is_file():
            raise CacheError(f"no card cache at {self.directory} (expected {self.root / INDEX_FILE})")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # diskcache keeps small values in its index: each entry is a line of text, never a file of its own.
            # SQLite reads the index through its own small page cache rather than by mapping the file, so a
            # run's memory does not grow with the size of the cache (a lookup touches a handful of pages).
            self._index = diskcache.Cache(
                str(self.root), eviction_policy="none", statistics=False, size_limit=2**62, cull_limit=0,
                timeout=_SQLITE_TIMEOUT_S, sqlite_mmap_size=0, sqlite_cache_size=_SQLITE_CACHE_PAGES,
            )  # fmt: skip
            with self._uses() as db:
                db.execute(_USE_SCHEMA)
        except _UNUSABLE as exc:
            self._disable(exc)

    # --- life cycle -------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once the cache proved unusable: every lookup misses, every put is skipped."""
        return self._index is not None

    def _disable(self, exc: BaseException) -> None:
        if self.warning is None:
            self.warning = (
                f"card cache at {self.directory} cannot be used ({type(exc).__name__}: {exc}); "
                "drawing every card without caching"
            )
            if not self.quiet:
                logger.warning(self.warning)
        if self._index is not None:
            with contextlib.suppress(Exception):
                self._index.close()
        self._index = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Record which cards this run used and the counters, then close the index (and the shared tier)."""
        if self.shared is not None:
            self.shared.close()
        self.flush()
        if self._index is not None:
            self._index.close()
            self._index = None

    def flush(self) -> None:
        """Record the use of every card served or stored since the last flush, and the counters."""
        index = self._index
        if index is None:
            return
        try:
            for name, count in self.counts.items():
                if count:
                    index.incr(_COUNTER + name, count)
            self.counts = dict.fromkeys(self.counts, 0)
            if self._used:
                if self._build is None:  # one build id for the whole run, however often its uses are written
                    self._build = index.incr(_BUILDS)
                now, build = time.time(), self._build
                with self._uses() as db:
                    db.executemany(_RECORD_USE, ((key, now, build) for key in self._used))
                self._used.clear()
        except _UNUSABLE as exc:
            self._disable(exc)

    @contextlib.contextmanager
    def _uses(self) -> Iterator[sqlite3.Connection]:
        """A connection to the table of card use, beside diskcache's own in its database file."""
        db = sqlite3.connect(self.root / INDEX_FILE, timeout=_SQLITE_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        finally:
            db.close()

    # --- cards ------------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """Where the card of ``key`` is kept."""
        return self.cards / key[:2] / key

    def recall(self, fingerprint: str) -> Recalled | None:
        """What ``fingerprint`` resolved to when it was last remembered."""
        value = self._lookup(_FINGERPRINT + fingerprint)
        if value is None:
            return None
        try:
            key, width, height, size, digest = value.split(" ")
            return Recalled(key, int(width), int(height), f"{size} {digest}")
        except ValueError:
            return None

    def remember(self, fingerprint: str, recalled: Recalled) -> None:
        """Note what ``fingerprint`` resolves to (see :meth:`recall`)."""
        self._write(_FINGERPRINT + fingerprint, f"{recalled.key} {recalled.width} {recalled.height} {recalled.check}")

    def get(self, key: str, check: str = "") -> bytes | None:
        """The card stored under ``key`` if it is there and intact; ``None`` otherwise.

        ``check`` is the card's length and digest as a recall gave them, which spares asking
        the index; when the file no longer matches it, the index is asked after all (the card
        may have been stored again since).
        """
        found = self._read(key, check or self._lookup(key))
        if found is _DAMAGED and check:
            current = self._lookup(key)
            if current is not None and current != check:
                found = self._read(key, current)
        if isinstance(found, bytes):
            self.counts["hits"] += 1
            self._note_use(key)
            return found
        if found is _DAMAGED:
            self.counts["damaged"] += 1
            logger.debug("damaged cache entry %s dropped; it will be redrawn", key)
            self.drop(key)
        self.counts["misses"] += 1
        return None

    def _read(self, key: str, check: str | None) -> bytes | object:
        """The card file's bytes if they match ``check``; else _MISSING or _DAMAGED."""
        if check is None:
            return _MISSING
        try:
            size = int(check.split(" ", 1)[0])
            with self.path(key).open("rb") as fh:
                data = fh.read(size + 1)
        except (OSError, ValueError):
            return _MISSING  # removed by a prune since, or a row this version did not write
        return data if check_of(data) == check else _DAMAGED

    def put(self, key: str, data: bytes) -> bool:
        """Store a card; False when the cache is off or the write failed (with one warning)."""
        if self._index is None:
            return False
        try:
            write_atomic(self.path(key), data)
        except OSError as exc:
            self._disable(exc)
            return False
        if self._write(key, check_of(data)):
            self._note_use(key)
            return True
        return False

    def _note_use(self, key: str) -> None:
        """Remember that this run used ``key``; written out every :data:`USES_KEPT` keys, so a run of any
        size keeps a bounded set in memory."""
        self._used.add(key)
        if len(self._used) >= USES_KEPT:
            self.flush()

    def drop(self, key: str) -> None:
        """Remove a card and its file (a damaged one, or one a prune removes)."""
        index = self._index
        if index is None:
            return
        try:
            index.delete(key)
            self.path(key).unlink(missing_ok=True)
        except _UNUSABLE as exc:
            self._disable(exc)

    def _lookup(self, name: str) -> str | None:
        index = self._index
        if index is None:
            return None
        try:
            value = index.get(name)
        except _UNUSABLE as exc:
            self._disable(exc)
            return None
        return value if isinstance(value, str) else None

    def _write(self, name: str, value: str) -> bool:
        index = self._index
        if index is None:
            return False
        try:
            index.set(name, value)
        except _UNUSABLE as exc:
            self._disable(exc)
            return False
        return True

    @property
    def index(self) -> diskcache.Cache:
        """diskcache's index, for reporting and pruning (:mod:`social_cards.maintenance`).

        Raises:
            CacheError: the cache cannot be used.
        """
        if self._index is None:
            raise CacheError(self.warning or f"card cache at {self.directory} cannot be used")
        return self._index

    def uses(self) -> dict[str, tuple[float, int]]:
        """When each card was last used, and the number of the last build that used it."""
        self.flush()
        with self._uses() as db:
            return {key: (used, build) for key, used, build in db.execute("SELECT * FROM CardUse")}

    def forget_uses(self, keys: Iterable[str]) -> None:
        """Take removed cards out of the table of use."""
        with self._uses() as db:
            db.executemany("DELETE FROM CardUse WHERE key = ?", ((key,) for key in keys))

    def counter(self, name: str) -> int:
        """A running counter: ``hits``, ``misses``, ``damaged`` or ``builds``."""
        value = self.index.get(_COUNTER + name, 0)
        return value if isinstance(value, int) else 0
