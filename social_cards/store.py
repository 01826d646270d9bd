"""The card store: a content-addressed disk cache on diskcache that never serves a damaged card.

Layout under the cache folder (see ``cache/README.md``)::

    v1/                 FORMAT_VERSION: a new version is a new folder; old ones are invisible
      cache.db, xx/     diskcache: the card files by key, one read-only file each
      usage.db          SQLite: file, size, digest, time written, time last used and last
                        build of each entry; the builds; the running counters; what input
                        fingerprints resolved to; each named run's memo (:mod:`social_cards.memo`)

Writes are atomic: diskcache writes a value's file completely before the row that
names it is committed, and the usage row (with the digest) comes after that, so no
reader ever sees a partial card, even when the writer is killed. Every card is
checked against the length and xxh3_128 recorded when it was written before it is
served; a damaged entry is dropped, counted and reported as a miss. The warm path
hard-links verified files into the site (a copy across filesystems), in this
process or in a helper one (:mod:`social_cards.placement`).

A cache that cannot be used (read-only, full, not a folder, a damaged index) turns
the store off with one warning: the caller draws without caching and goes on.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import random
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import xxhash

from .errors import CacheError
from .memo import Memo, MemoFile, Resolved
from .placement import Damaged, Placement, Slot, place_all, read_verified

if TYPE_CHECKING:
    import diskcache

_T = TypeVar("_T")

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_CACHE_DIR",
    "FORMAT_VERSION",
    "Placing",
    "PruneResult",
    "Resolved",
    "Store",
    "StoreStats",
    "parse_age",
    "parse_size",
    "resolve_cache_dir",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""On-disk layout version; bumping it makes every older entry invisible (and prunable)."""

CACHE_DIR_ENV = "SOCIAL_CARDS_CACHE_DIR"
DEFAULT_CACHE_DIR = Path(".cache") / "social-cards"

_SQLITE_TIMEOUT_S = 60.0
_SHARE_FROM_CARDS = 2000
"""From this many cards, ``materialize_many`` shares the work with a helper process (it costs ~25 ms to start)."""
_SQLITE_MAX_PARAMS = 500
_TOUCH = "UPDATE entries SET last_used = max(last_used, ?), last_build = max(last_build, ?) WHERE key IN ({})"
_USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, file TEXT NOT NULL, size INTEGER NOT NULL, digest TEXT NOT NULL,
    written REAL NOT NULL, last_used REAL NOT NULL, last_build INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used);
CREATE TABLE IF NOT EXISTS builds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS resolved (
    fingerprint TEXT PRIMARY KEY, key TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS memos (
    name TEXT PRIMARY KEY, digest TEXT NOT NULL, last_used REAL NOT NULL, last_build INTEGER NOT NULL,
    body BLOB NOT NULL);
"""


def resolve_cache_dir(given: Path | str | None, project: Path | None = None) -> Path:
    """The cache folder: ``given``, else ``$SOCIAL_CARDS_CACHE_DIR``, else ``.cache/social-cards`` in ``project``."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return (project or Path.cwd()) / DEFAULT_CACHE_DIR


@dataclass(frozen=True, slots=True)
class StoreStats:
    """What ``social-cards stats`` reports."""

    entries: int
    bytes: int
    hits: int
    misses: int
    damaged: int
    oldest: float | None
    newest: float | None
    builds: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What ``prune`` removed (or, in a dry run, would remove)."""

    removed: int
    freed_bytes: int
    dry_run: bool


class Placing:
    """Cards a helper process is verifying and placing for a store (see :meth:`Store.place_queued`)."""

    def __init__(self, store: Store, slots: list[Slot], keys: list[str]) -> None:
        self._store = store
        self._keys = keys
        self._slots = slots
        self._placement: Placement | None = Placement(slots)

    def wait(self) -> set[str]:
        """Block until every card is placed; returns the keys that were not served after all.

        Those were damaged (now dropped and counted) or gone, and must be drawn again.
        Calling it again returns an empty set.
        """
        if self._placement is None:
            return set()
        failed = self._placement.wait()
        self._placement = None
        served = self._store._settle_placed(self._keys, self._slots, failed)
        return set(self._keys) - served

    def cancel(self) -> None:
        """Stop placing (a build that failed); cards already placed stay."""
        if self._placement is not None:
            self._placement.cancel()
        self._placement = None


def _split(names: list[str], memo: dict[str, _T] | None) -> tuple[dict[str, _T], list[str]]:
    """What ``memo`` knows of ``names``, and the names left to look up."""
    if memo is None:
        return {}, names
    known: dict[str, _T] = {}
    rest = []
    for name in names:
        hint = memo.get(name)
        if hint is None:
            rest.append(name)
        else:
            known[name] = hint
    return known, rest


def _retry_locked(open_: Callable[[], _T]) -> _T:
    """Run ``open_``, waiting out other processes that are creating the same cache.

    Switching a new database to WAL needs a moment alone with the file, and SQLite
    answers "locked" at once rather than waiting, so builds starting together on a
    new cache retry here.
    """
    deadline = time.monotonic() + _SQLITE_TIMEOUT_S
    while True:
        try:
            return open_()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.05)  # noqa: S311 (jitter)


@functools.cache
def _card_disk() -> type[diskcache.Disk]:
    """diskcache, imported when the index is first opened: a warm build never needs it (4 ms)."""
    import diskcache

    class _CardDisk(diskcache.Disk):  # type: ignore[misc]
        """diskcache's file naming with one level of 256 folders instead of two of 65,536.

        With two levels nearly every card of a cold build lands in a folder of its own, and
        creating those folders cost as much as writing the cards. Names stay random, so a
        card rewritten under the same key never replaces a file a reader holds open. Where
        each file is, is recorded in the index, so caches written with either naming read alike.
        """

        def __init__(self, directory: str, **settings: Any) -> None:
            super().__init__(directory, **settings)
            self._written = threading.local()

        @property
        def last_written(self) -> str:
            """The file this thread's latest ``set`` wrote its value to (a store learns it without a query)."""
            return str(getattr(self._written, "path", ""))

        def filename(self, key: Any = diskcache.UNKNOWN, value: Any = diskcache.UNKNOWN) -> tuple[str, str]:
            name = uuid.uuid4().hex
            filename = f"{name[:2]}/{name[2:]}.val"
            self._written.path = full = os.path.join(self._directory, filename)  # noqa: PTH118
            return filename, full

    return _CardDisk


def _open_usage(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=_SQLITE_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            db.execute("PRAGMA journal_mode=WAL")
        # As diskcache does for its own index: in WAL mode a commit then waits for no fsync
        # (a quarter of the cost of storing a card), and a crash still leaves the file whole;
        # a row lost to a power cut only costs a redraw, since every card is verified before use.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_USAGE_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db


class Store:
    """A card cache in ``directory``. Use as a context manager, or call :meth:`close`.

    Args:
        directory: the cache folder (created when missing).
        build_id: names this run in the usage records (a random id by default).
        quiet: keep the reason a cache cannot be used in :attr:`warning` without logging it.
    """

    def __init__(self, directory: Path, *, build_id: str | None = None, quiet: bool = False) -> None:
        self.directory = Path(directory)
        self.quiet = quiet
        self.build_id = build_id or uuid.uuid4().hex[:12]
        self.root = self.directory / f"v{FORMAT_VERSION}"
        self._cache: diskcache.Cache | None = None
        self._usage: sqlite3.Connection | None = None
        self._build_seq: int | None = None
        self._used: dict[str, float] = {}
        self._counts = {"hits": 0, "misses": 0, "damaged": 0}
        self._queued_keys: list[str] = []
        self._queued_slots: list[Slot] = []
        # With a memo (use_memo): the last run's answers, and what this run recalled and found.
        self._memo_name: str | None = None
        self._memo = Memo()
        self._memo_digest = ""
        self._recalled: dict[str, Resolved] = {}
        self._found: dict[str, MemoFile] = {}
        self.warning: str | None = None
        self._opening = threading.Lock()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._usage = _retry_locked(lambda: _open_usage(self.root / "usage.db"))
        except (OSError, sqlite3.Error) as exc:
            self._disable(exc)

    def _index(self) -> diskcache.Cache | None:
        """diskcache's index of the card files, opened when first needed (None: the cache is off).

        Only writing, dropping and listing cards need it: lookups ask the usage database,
        which records each card's file. So a warm build never opens it, which spared it
        3 ms and four of its eight fsyncs (each a chance to wait on a busy disk).
        """
        with self._opening:
            if self._cache is None and self._usage is not None:
                import diskcache

                disk = _card_disk()
                try:
                    # Every value is a file of its own (min size 0), so a card can be hard-linked into a site.
                    self._cache = _retry_locked(
                        lambda: diskcache.Cache(
                            str(self.root),
                            disk=disk,
                            eviction_policy="none",
                            statistics=False,
                            size_limit=2**62,
                            cull_limit=0,
                            disk_min_file_size=0,
                        )
                    )
                except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
                    self._disable(exc)
            return self._cache

    # --- life cycle -------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once the cache proved unusable: every get misses, every put is skipped."""
        return self._usage is not None

    @property
    def empty(self) -> bool:
        """True when the cache holds no card (or cannot be used): every card will be drawn."""
        if self._usage is None:
            return True
        try:
            return self._usage.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None
        except sqlite3.Error as exc:
            self._disable(exc)
            return True

    def _disable(self, exc: BaseException) -> None:
        self.disable(
            f"card cache at {self.directory} cannot be used ({type(exc).__name__}: {exc}); "
            "drawing every card without caching"
        )

    def disable(self, warning: str) -> None:
        """Stop using the cache; ``warning`` is logged unless this store is quiet (the first one is kept).

        A pool worker's store is quiet: its reason travels back with the card, and the
        batch's own store says it once, however many workers hit the same full disk.
        """
        if self.warning is None:
            self.warning = warning
            if not self.quiet:
                logger.warning(warning)
        self._close_files()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Place cards still queued, record what this run used and the counters, then close the files."""
        if self._queued_slots:
            self.place_queued().wait()
        self.flush()
        self._close_files()

    def _close_files(self) -> None:
        for closer in (self._cache, self._usage):
            with contextlib.suppress(Exception):
                if closer is not None:
                    closer.close()
        self._cache = None
        self._usage = None

    def _db(self) -> sqlite3.Connection:
        if self._usage is None:
            raise CacheError(self.warning or f"card cache at {self.directory} is closed")
        return self._usage

    def _seq(self) -> int:
        if self._build_seq is None:
            # Worker processes of one build share its id, and so its number.
            db = self._db()
            db.execute("INSERT OR IGNORE INTO builds (id, started) VALUES (?, ?)", (self.build_id, time.time()))
            (self._build_seq,) = db.execute("SELECT seq FROM builds WHERE id = ?", (self.build_id,)).fetchone()
        return self._build_seq

    def use_memo(self, name: str) -> None:
        """Answer lookups from the memo of the last run called ``name``, and write this run's at close.

        A site's builds share a name (the MkDocs plugin uses its config file). A warm
        run then asks the index nothing, and records its use of every card it served
        by fingerprint as one row instead of one per card. See :mod:`social_cards.memo`.
        """
        self._memo_name = name
        self._recalled = {}
        self._found = {}
        if self._usage is None:
            return
        try:
            row = self._usage.execute("SELECT body, digest FROM memos WHERE name = ?", (name,)).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return
        self._memo = Memo.decode(row[0]) if row is not None else Memo()
        self._memo_digest = row[1] if row is not None else ""

    def flush(self) -> None:
        """Write usage times, counters and the memo gathered since the last flush (one transaction)."""
        if self._usage is None or not (self._used or any(self._counts.values())):
            return
        try:
            seq = self._seq()
            memo = self._next_memo() if self._memo_name is not None and self._used else None
            by_time: dict[float, list[str]] = {}
            used = self._used
            # The memo's row records the use of its cards: the others get a row each.
            for key in used.keys() - memo.card_keys() if memo is not None else used:
                by_time.setdefault(used[key], []).append(key)
            written = ""
            with self._transaction() as db:
                if memo is not None and self._memo_name is not None:
                    written = self._write_memo(db, self._memo_name, memo, seq)
                # Cards are used in batches at one time: a statement per few hundred keys, not per key.
                for when, keys in by_time.items():
                    self._touch(db, keys, when, seq)
                db.executemany(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    [(name, n) for name, n in self._counts.items() if n],
                )
            self._used.clear()
            self._counts = dict.fromkeys(self._counts, 0)
            if memo is not None:
                self._memo, self._recalled, self._found = memo, {}, {}
                self._memo_digest = written
        except sqlite3.Error as exc:
            self._disable(exc)

    @staticmethod
    def _touch(db: sqlite3.Connection, keys: list[str], when: float, seq: int) -> None:
        for start in range(0, len(keys), _SQLITE_MAX_PARAMS):
            chunk = keys[start : start + _SQLITE_MAX_PARAMS]
            db.execute(_TOUCH.format(",".join("?" * len(chunk))), [when, seq, *chunk])

    def _next_memo(self) -> Memo:
        """The cards this run served by fingerprint, with their files (a query for those drawn here)."""
        used = self._used
        memo = self._memo
        if self._recalled == memo.resolved and self._found == memo.files and used.keys() >= memo.files.keys():
            return memo  # the usual warm run: every card of the memo, served from the files it names
        resolved = {fp: r for fp, r in self._recalled.items() if r[0] in used}  # r: (key, width, height)
        files = self._found
        files.update(self._files(list({key for key, _, _ in resolved.values() if key not in files})))
        resolved = {fp: r for fp, r in resolved.items() if r[0] in files}
        return Memo(resolved, {key: files[key] for key, _, _ in resolved.values()})

    def _write_memo(self, db: sqlite3.Connection, name: str, memo: Memo, seq: int) -> str:
        """Record ``memo`` as the use of its cards by this run, in the caller's transaction.

        Returns the digest of the memo now in the index. Cards the memo in the index
        named and this one does not are given that memo's use first, so nothing a run
        used ever looks unused to ``prune``. The memo in the index is read again here,
        not taken from :meth:`use_memo`: another build of the same site may have
        written one since.
        """
        now = time.time()
        row = db.execute("SELECT digest, last_used, last_build FROM memos WHERE name = ?", (name,)).fetchone()
        # The usual warm build: the same cards as the memo it read, which no one has replaced since.
        if row is not None and row[0] == self._memo_digest and memo == self._memo:
            digest, body = str(row[0]), b""
        else:
            body = memo.encode()
            digest = Memo.digest(body)
        if row is not None and row[0] == digest:
            db.execute("UPDATE memos SET last_used = ?, last_build = ? WHERE name = ?", (now, seq, name))
            return digest
        if row is not None:
            (old_body,) = db.execute("SELECT body FROM memos WHERE name = ?", (name,)).fetchone()
            left = Memo.decode(old_body).card_keys() - memo.card_keys()
            self._touch(db, sorted(left), row[1], row[2])
        db.execute(
            "INSERT OR REPLACE INTO memos (name, digest, last_used, last_build, body) VALUES (?, ?, ?, ?, ?)",
            (name, digest, now, seq, body),
        )
        return digest

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- cards --------------------------------------------------------------------------

    def _located(self, keys: list[str]) -> dict[str, MemoFile]:
        """Where each card's file is, its size and digest: a query per few hundred keys.

        With a memo, the keys it names are answered from it, unchecked: placing a card
        verifies it anyway, and one the memo was wrong about is looked up again or drawn.
        """
        files, rest = _split(keys, self._memo.files if self._memo_name is not None else None)
        files.update(self._files(rest))
        if self._memo_name is not None:
            self._found.update(files)
        return files

    def _files(self, keys: list[str]) -> dict[str, MemoFile]:
        rows = self._select_in("SELECT key, file, size, digest FROM entries WHERE key IN ({})", keys)
        return {key: (file, size, digest) for key, file, size, digest in rows}

    def _select_in(self, query: str, values: list[str]) -> list[tuple[Any, ...]]:
        """Rows of ``query`` (with ``{}`` for the list of ``?`` marks), a few hundred values a statement.

        No rows when the cache is off; a database error turns it off.
        """
        if self._usage is None:
            return []
        rows: list[tuple[Any, ...]] = []
        try:
            for start in range(0, len(values), _SQLITE_MAX_PARAMS):
                chunk = values[start : start + _SQLITE_MAX_PARAMS]
                rows.extend(self._usage.execute(query.format(",".join("?" * len(chunk))), chunk))
        except sqlite3.Error as exc:
            self._disable(exc)
            return []
        return rows

    def recall(self, fingerprints: Iterable[str]) -> dict[str, Resolved]:
        """The keys earlier runs resolved these input fingerprints to (one query per few hundred).

        A fingerprint digests every input of a resolve (see ``Template.fingerprint``), so a
        warm build learns each page's key without resolving the template again.
        """
        memo = self._memo.resolved if self._memo_name is not None else None
        answers, wanted = _split(list(dict.fromkeys(fingerprints)), memo)
        rows = self._select_in("SELECT fingerprint, key, width, height FROM resolved WHERE fingerprint IN ({})", wanted)
        answers.update((fingerprint, (key, width, height)) for fingerprint, key, width, height in rows)
        if self._memo_name is not None:
            self._recalled.update(answers)
        return answers

    def remember(self, resolved: Iterable[tuple[str, Resolved]]) -> None:
        """Record what input fingerprints resolved to, in one transaction."""
        resolved = list(resolved)
        if self._memo_name is not None:
            self._recalled.update(resolved)
        rows = [(fingerprint, *r) for fingerprint, r in resolved]
        if self._usage is None or not rows:
            return
        try:
            with self._transaction() as db:
                db.executemany("INSERT OR REPLACE INTO resolved VALUES (?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            self._disable(exc)

    def _settle(self, key: str, outcome: str, reason: str = "") -> None:
        if outcome == "hit":
            self._counts["hits"] += 1
            self._used[key] = time.time()
            return
        self._counts["misses"] += 1
        if outcome == "damaged":
            self._counts["damaged"] += 1
            logger.warning("damaged cache entry %s dropped (%s); it will be redrawn", key, reason)
            self._drop(key)

    def get(self, key: str) -> bytes | None:
        """The card stored under ``key`` if it is there and intact; ``None`` otherwise."""
        entry = self._files([key]).get(key)  # from the index: one card is not worth a memo's risk of a stale file
        if entry is None:
            self._settle(key, "miss")
            return None
        try:
            file, size, digest = entry
            data = read_verified(f"{self.root}/{file}", size, digest)
        except Damaged as exc:
            self._settle(key, "damaged", str(exc))
            return None
        except OSError:
            self._settle(key, "miss")  # removed by a prune or a newer write since the lookup
            return None
        self._settle(key, "hit")
        return data

    def materialize_many(
        self, items: Iterable[tuple[str, str | os.PathLike[str] | None]], *, later: bool = False
    ) -> set[str]:
        """Put each cached card at its target path (``None``: only check it); returns the keys served.

        The warm path of a build: one query for all keys, then each card is verified
        against its digest and hard-linked (copied across filesystems). Keys not
        returned must be drawn.

        With ``later``, nothing is read yet: the keys found in the index are returned and
        their cards queued for :meth:`place_queued`, which verifies and places them in a
        helper process; what fails there is only known from :meth:`Placing.wait`.
        """
        pairs = [(key, "" if target is None else os.fspath(target)) for key, target in items]
        unique = list(dict.fromkeys(key for key, _ in pairs))
        files = self._located(unique)
        prefix = f"{self.root}/"
        keys: list[str] = []
        slots: list[Slot] = []
        for key, target in pairs:
            found = files.get(key)
            if found is not None:
                file, size, digest = found
                keys.append(key)
                slots.append((prefix + file, size, digest, target))
        self._counts["misses"] += len(unique) - len(files)
        if later:
            self._queued_keys += keys
            self._queued_slots += slots
            return set(keys)
        if len(slots) < _SHARE_FROM_CARDS:
            return self._settle_placed(keys, slots, place_all(slots))
        # Many cards: a helper process places some on another core meanwhile. Split by folder,
        # because links made in one folder by two processes wait for each other.
        mine: list[int] = []
        theirs: list[int] = []
        for i, slot in enumerate(slots):
            (theirs if hash(os.path.dirname(slot[3])) % 2 else mine).append(i)  # noqa: PTH120
        helper = Placement([slots[i] for i in theirs])
        failed = {mine[i]: outcome for i, outcome in place_all([slots[i] for i in mine]).items()}
        failed.update((theirs[i], outcome) for i, outcome in helper.wait().items())
        return self._settle_placed(keys, slots, failed)

    def place_queued(self) -> Placing:
        """Start verifying and placing the cards queued by ``materialize_many(later=True)``."""
        placing = Placing(self, self._queued_slots, self._queued_keys)
        self._queued_keys, self._queued_slots = [], []
        return placing

    def _settle_placed(self, keys: list[str], slots: list[Slot], failed: dict[int, tuple[str, str]]) -> set[str]:
        """Count and record what a placement served; drop damaged entries. Returns the keys served."""
        if failed:
            failed = self._place_moved(keys, slots, failed)
        bad = {keys[index]: outcome for index, outcome in failed.items()}
        served = set(keys) - bad.keys()
        now = time.time()
        self._used.update(dict.fromkeys(served, now))
        self._counts["hits"] += len(served)
        for key, (outcome, reason) in bad.items():
            self._settle(key, outcome, reason)
        return served

    def _place_moved(
        self, keys: list[str], slots: list[Slot], failed: dict[int, tuple[str, str]]
    ) -> dict[int, tuple[str, str]]:
        """Place again the failed cards whose file the index now names differently; returns what still failed.

        Another process that wrote the same card again replaced its file (a build of
        another site sharing the cache, say), which leaves a memo, or a lookup made
        before, naming a file that is gone. Those cards are not missing.
        """
        current = self._files(list({keys[i] for i in failed}))
        root = str(self.root)
        moved = [i for i in failed if keys[i] in current and f"{root}/{current[keys[i]][0]}" != slots[i][0]]
        if not moved:
            return failed
        if self._memo_name is not None:
            self._found.update((keys[i], current[keys[i]]) for i in moved)
        retry = []
        for i in moved:
            file, size, digest = current[keys[i]]
            retry.append((f"{root}/{file}", size, digest, slots[i][3]))
        again = place_all(retry)
        placed_again = set(moved)
        still = {i: outcome for i, outcome in failed.items() if i not in placed_again}
        still.update((moved[j], outcome) for j, outcome in again.items())
        return still

    def touch(self, keys: Iterable[str]) -> None:
        """Record ``keys`` as used by this build (cards other processes of the build wrote)."""
        now = time.time()
        self._used.update(dict.fromkeys(keys, now))

    def put(self, key: str, data: bytes) -> bool:
        """Store a card; False when the cache is off or the write failed (with one warning)."""
        cache = self._index()
        if cache is None or self._usage is None:
            return False
        import diskcache  # loaded by _index()

        try:
            seq = self._seq()
            # As a file object diskcache copies it in 4 MB chunks; as bytes it would write line by line.
            cache.set(key, io.BytesIO(data), read=True)  # a file value is always written to a file
            path = Path(cache.disk.last_written)
            # Read-only, so a hard-linked copy in a site cannot be edited in place by accident.
            path.chmod(0o444)
            now = time.time()
            rel = path.relative_to(self.root).as_posix()
            self._usage.execute(
                "INSERT INTO entries (key, file, size, digest, written, last_used, last_build) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET file = excluded.file, "
                "size = excluded.size, digest = excluded.digest, written = excluded.written, "
                "last_used = excluded.last_used, last_build = excluded.last_build",
                (key, rel, len(data), xxhash.xxh3_128_hexdigest(data), now, now, seq),
            )
        except (OSError, AttributeError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)
            return False
        return True

    def _drop(self, key: str) -> None:
        cache = self._index()
        if cache is None or self._usage is None:
            return
        import diskcache  # loaded by _index()

        try:
            cache.delete(key)
            self._usage.execute("DELETE FROM entries WHERE key = ?", (key,))
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)

    # --- reporting and pruning --------------------------------------------------------

    def _reconcile(self) -> None:
        """Match the two indexes after writers died between their two writes."""
        cache = self._index()
        if cache is None:
            return
        known = {row[0] for row in self._db().execute("SELECT key FROM entries")}
        cached = set(cache.iterkeys())
        now = time.time()
        rows = []
        for key in cached - known:
            with contextlib.suppress(OSError, AttributeError):
                with cache.get(key, read=True) as handle:
                    path = Path(handle.name)
                    data = handle.read()
                rel = path.relative_to(self.root).as_posix()
                rows.append((key, rel, len(data), xxhash.xxh3_128_hexdigest(data), now, now, 0))
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in known - cached])

    def stats(self) -> StoreStats:
        """Entries, bytes, counters and the age range of the cache."""
        if self._index() is None or self._usage is None:
            raise CacheError(self.warning or f"card cache at {self.directory} cannot be used")
        self.flush()
        self._reconcile()
        entries, size, oldest, newest = self._usage.execute(
            "SELECT count(*), coalesce(sum(size), 0), min(written), max(written) FROM entries"
        ).fetchone()
        counters = dict(self._usage.execute("SELECT name, value FROM counters").fetchall())
        builds = self._usage.execute("SELECT count(*) FROM builds").fetchone()[0]
        return StoreStats(
            entries, size, counters.get("hits", 0), counters.get("misses", 0), counters.get("damaged", 0),
            oldest, newest, builds,
        )  # fmt: skip

    def prune(
        self,
        *,
        max_size: int | None = None,
        older_than: float | None = None,
        keep_builds: int | None = None,
        dry_run: bool = False,
    ) -> PruneResult:
        """Remove entries by age of last use, by total size (least recently used first), or
        those none of the last ``keep_builds`` builds used. Older format versions go too.

        Args:
            max_size: total payload bytes to fit in.
            older_than: seconds since last use.
            keep_builds: how many recent builds' entries to keep.
            dry_run: report the same figures, remove nothing.
        """
        cache = self._index()
        if cache is None or self._usage is None:
            raise CacheError(self.warning or f"card cache at {self.directory} cannot be used")
        self.flush()
        self._reconcile()
        memos = {
            name: (Memo.decode(body), used, build)
            for name, used, build, body in self._usage.execute("SELECT name, last_used, last_build, body FROM memos")
        }
        rows = self._usage.execute("SELECT key, size, last_used, last_build FROM entries").fetchall()
        if memos:  # a memo's row is the last use of every card it names
            memo_use: dict[str, tuple[float, int]] = {}
            for memo, used, build in memos.values():
                for key in memo.card_keys():
                    was = memo_use.get(key, (used, build))
                    memo_use[key] = (max(was[0], used), max(was[1], build))
            for i, (key, size, used, build) in enumerate(rows):
                if key in memo_use:
                    rows[i] = (key, size, max(used, memo_use[key][0]), max(build, memo_use[key][1]))
        rows.sort(key=lambda row: (row[2], row[0]))
        doomed: dict[str, int] = {}
        if older_than is not None:
            cutoff = time.time() - older_than
            doomed.update((key, size) for key, size, used, _ in rows if used < cutoff)
        if keep_builds is not None:
            recent = self._usage.execute("SELECT seq FROM builds ORDER BY seq DESC LIMIT ?", (max(keep_builds, 0),))
            seqs = [row[0] for row in recent]
            floor = min(seqs) if seqs and keep_builds > 0 else float("inf")
            doomed.update((key, size) for key, size, _, build in rows if build < floor)
        if max_size is not None:
            total = sum(size for key, size, _, _ in rows if key not in doomed)
            for key, size, _, _ in rows:
                if total <= max_size:
                    break
                if key not in doomed:
                    doomed[key] = size
                    total -= size
        old_versions = [
            p for p in self.directory.iterdir() if p.is_dir() and re.fullmatch(r"v\d+", p.name) and p != self.root
        ]
        freed = sum(doomed.values())
        removed = len(doomed)
        for folder in old_versions:
            removed += 1
            freed += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        if not dry_run:
            with self._transaction() as db:
                db.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k in doomed])
                db.execute("DELETE FROM resolved WHERE key NOT IN (SELECT key FROM entries)")
                gone = set(doomed)
                for name, (memo, _, _) in memos.items():
                    if not gone.isdisjoint(memo.files):
                        body = memo.without(gone).encode()
                        digest = Memo.digest(body)
                        db.execute("UPDATE memos SET body = ?, digest = ? WHERE name = ?", (body, digest, name))
            for key in doomed:
                cache.delete(key)
            for folder in old_versions:
                shutil.rmtree(folder, ignore_errors=True)
        return PruneResult(removed, freed, dry_run)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40,
}  # fmt: skip
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_size(text: str) -> int:
    """Bytes from ``500MB``, ``1GiB``, ``2.5G`` or a plain number of bytes.

    Raises:
        CacheError: not a size.
    """
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise CacheError(f"expected a size such as 500MB, 1GiB or 1048576 (bytes), got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def parse_age(text: str) -> float:
    """Seconds from ``30d``, ``12h``, ``45m``, ``90s`` or ``2w``.

    Raises:
        CacheError: not an age.
    """
    match = _AGE.match(text)
    if match is None:
        raise CacheError(f"expected an age such as 30d, 12h, 45m or 2w, got {text!r}")
    return float(match.group(1)) * _AGE_UNITS[match.group(2).lower()]
