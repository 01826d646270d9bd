"""What the cache holds (``stats``) and making it smaller (``prune``).

Both read diskcache's index and the table of card use; neither ever creates a cache.
``prune`` removes only what it can prove is its own: cards of its index, files in its
card folder that no entry names, and older format folders that hold their own index.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CacheError
from .store import INDEX_FILE, Store, is_card_key

if TYPE_CHECKING:
    from .shared import SharedTier

__all__ = ["CacheStats", "PruneResult", "cache_stats", "parse_age", "parse_size", "prune", "prune_shared"]

REMOTE_COUNTERS = ("hits", "misses", "uploads", "rejected", "errors")
"""What the shared tier did for the runs of this cache (``stats`` shows them)."""

ORPHAN_GRACE_S = 3600.0
"""A card file no entry names is left alone this long: its writer may be about to add the entry."""


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What ``social-cards stats`` reports."""

    entries: int
    bytes: int
    hits: int
    misses: int
    damaged: int
    oldest: float | None
    newest: float | None
    builds: int
    remote: dict[str, int] | None = None
    """The shared tier's counters (:data:`REMOTE_COUNTERS`) over this cache's runs."""

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
    paths: tuple[Path, ...] = ()
    """Every card file and folder removed (or that would be)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    size: int
    last_used: float
    last_build: int


def _entries(store: Store) -> list[_Entry]:
    """Every card in the index with its size and last use, least recently used first."""
    index = store.index
    uses = store.uses()
    entries = []
    for name in index.iterkeys():
        if not isinstance(name, str) or not is_card_key(name):
            continue
        value = index.get(name)
        try:
            size = int(str(value).split(" ")[0])
            written = store.path(name).stat().st_mtime
        except (ValueError, OSError):
            size, written = 0, 0.0
        used, build = uses.get(name, (0.0, 0))
        entries.append(_Entry(name, size, max(used, written), build))
    entries.sort(key=lambda e: (e.last_used, e.key))
    return entries


def cache_stats(store: Store) -> CacheStats:
    """Entries, bytes, counters and the age range of the cache.

    Raises:
        CacheError: the cache cannot be used.
    """
    entries = _entries(store)
    times = [e.last_used for e in entries if e.last_used]
    return CacheStats(
        len(entries), sum(e.size for e in entries), store.counter("hits"), store.counter("misses"),
        store.counter("damaged"), min(times, default=None), max(times, default=None), store.counter("builds"),
        {name: store.counter(f"remote_{name}") for name in REMOTE_COUNTERS},
    )  # fmt: skip


def prune(
    store: Store,
    *,
    max_size: int | None = None,
    older_than: float | None = None,
    keep_builds: int | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Remove cards by age of last use, by total size (least recently used first), or those
    none of the last ``keep_builds`` builds used. Older format folders go too.

    Args:
        max_size: total card bytes to fit in.
        older_than: seconds since last use.
        keep_builds: how many recent builds' cards to keep.
        dry_run: report the same, remove nothing.

    Raises:
        CacheError: the cache cannot be used.
    """
    entries = _entries(store)
    doomed: dict[str, int] = {}
    if older_than is not None:
        cutoff = time.time() - older_than
        doomed.update((e.key, e.size) for e in entries if e.last_used < cutoff)
    if keep_builds is not None:
        floor = store.counter("builds") - keep_builds + 1 if keep_builds > 0 else float("inf")
        doomed.update((e.key, e.size) for e in entries if e.last_build < floor)
    if max_size is not None:
        total = sum(e.size for e in entries if e.key not in doomed)
        for e in entries:
            if total <= max_size:
                break
            if e.key not in doomed:
                doomed[e.key] = e.size
                total -= e.size
    known = {e.key for e in entries}
    orphans = _orphans(store, known)
    folders = _older_formats(store)
    paths = [store.path(key) for key in doomed] + orphans + folders
    freed = sum(doomed.values()) + sum(_size(p) for p in orphans + folders)
    if not dry_run:
        for key in doomed:
            store.drop(key)
        store.forget_uses(doomed)
        _forget_fingerprints(store, set(doomed))
        for path in orphans:
            path.unlink(missing_ok=True)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    return PruneResult(len(doomed) + len(folders), freed, dry_run, tuple(paths))


def prune_shared(
    tier: SharedTier, *, max_size: int | None = None, older_than: float | None = None, dry_run: bool = False
) -> PruneResult:
    """Remove objects of the shared tier by age of last change, or oldest first down to a size.

    The tier knows no use: age is since an object was written. Old claims go too.

    Raises:
        SocialCardsError: the engine cannot list its objects (a plain HTTP cache).
    """
    objects = sorted(tier.objects(), key=lambda o: o[2])
    doomed: dict[str, int] = {}
    if older_than is not None:
        cutoff = time.time() - older_than
        doomed.update((path, size) for path, size, changed in objects if changed < cutoff)
    if max_size is not None:
        total = sum(size for path, size, _ in objects if path not in doomed)
        for path, size, _ in objects:
            if total <= max_size:
                break
            if path not in doomed:
                doomed[path] = size
                total -= size
    if not dry_run:
        for path in doomed:
            tier.delete(path)
    return PruneResult(len(doomed), sum(doomed.values()), dry_run, tuple(Path(p) for p in doomed))


def _orphans(store: Store, known: set[str]) -> list[Path]:
    """Card files no entry names (a writer killed between the file and its entry), once old enough."""
    if not store.cards.is_dir():
        return []
    cutoff = time.time() - ORPHAN_GRACE_S
    found = []
    for path in store.cards.glob("*/*"):
        if path.name in known:
            continue
        try:
            if path.lstat().st_mtime < cutoff:
                found.append(path)
        except OSError:
            continue
    return found


def _older_formats(store: Store) -> list[Path]:
    """Folders of other format versions that hold their own index: nothing else is ours to remove."""
    return [
        p
        for p in store.directory.iterdir()
        if re.fullmatch(r"v\d+", p.name) and p != store.root and not p.is_symlink() and (p / INDEX_FILE).is_file()
    ]


def _forget_fingerprints(store: Store, removed: set[str]) -> None:
    if not removed:
        return
    index = store.index
    for name in list(index.iterkeys()):
        if isinstance(name, str) and name.startswith("f:"):
            value = index.get(name)
            if isinstance(value, str) and value.split(" ")[0] in removed:
                index.delete(name)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    try:
        return path.lstat().st_size
    except OSError:
        return 0


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "": 1, "b": 1, "k": 1000, "kb": 1000, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40,
}  # fmt: skip
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_MAX_AGE_S = 1000 * 365 * 86400.0
"""Ages beyond a millennium mean 'never'."""
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
    return int(Decimal(match.group(1)) * _SIZE_UNITS[unit])  # exact, however large


def parse_age(text: str) -> float:
    """Seconds from ``30d``, ``12h``, ``45m``, ``90s`` or ``2w``.

    Raises:
        CacheError: not an age.
    """
    match = _AGE.match(text)
    if match is None:
        raise CacheError(f"expected an age such as 30d, 12h, 45m or 2w, got {text!r}")
    return min(float(match.group(1)) * _AGE_UNITS[match.group(2).lower()], _MAX_AGE_S)
