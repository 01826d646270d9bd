"""The card store: a content-addressed disk cache on diskcache that never serves a damaged card.

Layout under the cache folder (see ``cache/README.md``)::

    v1/                 FORMAT_VERSION: a new version is a new folder; old ones are invisible
      cache.db, xx/yy/  diskcache: card bytes by key, behind a header with length and checksum
      usage.db          SQLite: size, time written, time last used and last build of each entry;
                        the builds; the running counters

Writes are atomic: diskcache writes a value's file completely before the row that
names it is committed, so no reader ever sees a partial card, even when the writer
is killed. Every value is checked against the length and xxh3_128 recorded when it
was written; a damaged entry is dropped, counted and reported as a miss.

A cache that cannot be used (read-only, full, not a folder, a damaged index) turns
the store off with one warning: the caller draws without caching and goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import struct
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache
import xxhash

from .errors import CacheError

__all__ = [
    "CACHE_DIR_ENV",
    "DEFAULT_CACHE_DIR",
    "FORMAT_VERSION",
    "PruneResult",
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

_MAGIC = b"SCC1"
_HEADER = struct.Struct(">4sQ16s")  # magic, payload length in bytes, xxh3_128 digest
_SQLITE_TIMEOUT_S = 60.0
_USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, size INTEGER NOT NULL, written REAL NOT NULL,
    last_used REAL NOT NULL, last_build INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_last_used ON entries (last_used);
CREATE TABLE IF NOT EXISTS builds (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def resolve_cache_dir(given: Path | str | None, project: Path | None = None) -> Path:
    """The cache folder: ``given``, else ``$SOCIAL_CARDS_CACHE_DIR``, else ``.cache/social-cards`` in ``project``."""
    if given:
        return Path(given).expanduser()
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return (project or Path.cwd()) / DEFAULT_CACHE_DIR


class _Damaged(Exception):
    """A stored value does not match the length or checksum written with it."""


class CardDisk(diskcache.Disk):  # type: ignore[misc]
    """diskcache's Disk with a header on every value: length and xxh3_128, checked on every read."""

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        payload = bytes(value)
        header = _HEADER.pack(_MAGIC, len(payload), xxhash.xxh3_128_digest(payload))
        return super().store(header + payload, False, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> bytes:
        raw = super().fetch(mode, filename, value, False)
        if not isinstance(raw, bytes) or len(raw) < _HEADER.size:
            raise _Damaged("shorter than its header")
        magic, length, digest = _HEADER.unpack_from(raw)
        payload = raw[_HEADER.size :]
        if magic != _MAGIC or len(payload) != length or xxhash.xxh3_128_digest(payload) != digest:
            raise _Damaged("length or checksum mismatch")
        return payload


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


class Store:
    """A card cache in ``directory``. Use as a context manager, or call :meth:`close`.

    Args:
        directory: the cache folder (created when missing).
        build_id: names this run in the usage records (a random id by default).
    """

    def __init__(self, directory: Path, *, build_id: str | None = None) -> None:
        self.directory = Path(directory)
        self.build_id = build_id or uuid.uuid4().hex[:12]
        self.root = self.directory / f"v{FORMAT_VERSION}"
        self._cache: diskcache.Cache | None = None
        self._usage: sqlite3.Connection | None = None
        self._build_seq: int | None = None
        self._used: dict[str, float] = {}
        self._counts = {"hits": 0, "misses": 0, "damaged": 0}
        self.warning: str | None = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(
                str(self.root), disk=CardDisk, eviction_policy="none", statistics=False, size_limit=2**62, cull_limit=0
            )
            self._usage = sqlite3.connect(self.root / "usage.db", timeout=_SQLITE_TIMEOUT_S, isolation_level=None)
            self._usage.execute("PRAGMA journal_mode=WAL")
            self._usage.executescript(_USAGE_SCHEMA)
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)

    # --- life cycle -------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """False once the cache proved unusable: every get misses, every put is skipped."""
        return self._cache is not None

    def _disable(self, exc: BaseException) -> None:
        if self.warning is None:
            self.warning = (
                f"card cache at {self.directory} cannot be used ({type(exc).__name__}: {exc}); "
                "drawing every card without caching"
            )
            logger.warning(self.warning)
        for closer in (self._cache, self._usage):
            with contextlib.suppress(Exception):
                if closer is not None:
                    closer.close()
        self._cache = None
        self._usage = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Record what this run used and the counters, then close the files."""
        self.flush()
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
            cursor = self._db().execute("INSERT INTO builds (id, started) VALUES (?, ?)", (self.build_id, time.time()))
            self._build_seq = int(cursor.lastrowid or 0)
        return self._build_seq

    def flush(self) -> None:
        """Write usage times and counters gathered since the last flush (one transaction)."""
        if self._usage is None or not (self._used or any(self._counts.values())):
            return
        try:
            seq = self._seq()
            with self._transaction() as db:
                db.executemany(
                    "UPDATE entries SET last_used = max(last_used, ?), last_build = max(last_build, ?) WHERE key = ?",
                    [(when, seq, key) for key, when in self._used.items()],
                )
                db.executemany(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    [(name, n) for name, n in self._counts.items() if n],
                )
            self._used.clear()
            self._counts = dict.fromkeys(self._counts, 0)
        except sqlite3.Error as exc:
            self._disable(exc)

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

    def get(self, key: str) -> bytes | None:
        """The card stored under ``key`` if it is there and intact; ``None`` otherwise."""
        if self._cache is None:
            self._counts["misses"] += 1
            return None
        try:
            data = self._cache.get(key)
        except _Damaged as exc:
            self._counts["damaged"] += 1
            self._counts["misses"] += 1
            logger.warning("damaged cache entry %s dropped (%s); it will be redrawn", key, exc)
            self._drop(key)
            return None
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)
            self._counts["misses"] += 1
            return None
        if data is None:
            self._counts["misses"] += 1
            return None
        self._counts["hits"] += 1
        self._used[key] = time.time()
        return bytes(data)

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """Every intact card among ``keys`` (a miss is simply absent)."""
        found = {}
        for key in dict.fromkeys(keys):
            data = self.get(key)
            if data is not None:
                found[key] = data
        return found

    def put(self, key: str, data: bytes) -> bool:
        """Store a card; False when the cache is off or the write failed (with one warning)."""
        if self._cache is None or self._usage is None:
            return False
        try:
            seq = self._seq()
            self._cache.set(key, data)
            now = time.time()
            self._usage.execute(
                "INSERT INTO entries (key, size, written, last_used, last_build) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET size = excluded.size, written = excluded.written, "
                "last_used = excluded.last_used, last_build = excluded.last_build",
                (key, len(data), now, now, seq),
            )
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)
            return False
        return True

    def _drop(self, key: str) -> None:
        if self._cache is None or self._usage is None:
            return
        try:
            self._cache.delete(key)
            self._usage.execute("DELETE FROM entries WHERE key = ?", (key,))
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            self._disable(exc)

    # --- reporting and pruning --------------------------------------------------------

    def _reconcile(self) -> None:
        """Give entries a usage row when their writer died between the two writes."""
        if self._cache is None:
            return
        known = {row[0] for row in self._db().execute("SELECT key FROM entries")}
        missing = [key for key in self._cache.iterkeys() if key not in known]
        now = time.time()
        rows = []
        for key in missing:
            try:
                data = self._cache.get(key)
            except _Damaged:
                self._counts["damaged"] += 1
                self._cache.delete(key)
                continue
            if data is not None:
                rows.append((key, len(data), now, now, 0))
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
            cached = set(self._cache.iterkeys())
            stale = [(k,) for k in known if k not in cached]
            db.executemany("DELETE FROM entries WHERE key = ?", stale)

    def stats(self) -> StoreStats:
        """Entries, bytes, counters and the age range of the cache."""
        if self._cache is None or self._usage is None:
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
        if self._cache is None or self._usage is None:
            raise CacheError(self.warning or f"card cache at {self.directory} cannot be used")
        self.flush()
        self._reconcile()
        rows = self._usage.execute(
            "SELECT key, size, last_used, last_build FROM entries ORDER BY last_used, key"
        ).fetchall()
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
            for key in doomed:
                self._cache.delete(key)
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
