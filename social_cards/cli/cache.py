"""``stats`` and ``prune``: what the cache holds, and making it smaller."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from ..errors import CacheError
from ..maintenance import cache_stats, parse_age, parse_size, prune_shared
from ..maintenance import prune as prune_cache
from ..shared import REMOTE_CACHE_ENV, open_shared
from ..store import Store, resolve_cache_dir
from .common import EXIT_OK, UsageError

__all__ = ["prune", "stats"]


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _when(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, tz=UTC).isoformat(timespec="seconds")


def stats(args: argparse.Namespace) -> int:
    directory = resolve_cache_dir(args.cache_dir)
    with Store(directory, create=False) as store:
        found = cache_stats(store)
    doc = {
        "directory": str(directory),
        "entries": found.entries,
        "bytes": found.bytes,
        "hits": found.hits,
        "misses": found.misses,
        "hit_rate": round(found.hit_rate, 4),
        "damaged": found.damaged,
        "builds": found.builds,
        "oldest": _when(found.oldest),
        "newest": _when(found.newest),
        "remote": found.remote,
    }
    if args.json:
        print(json.dumps(doc))
        return EXIT_OK
    print(f"cache:    {directory}")
    print(f"entries:  {found.entries:,} ({_human_bytes(found.bytes)})")
    print(f"hits:     {found.hits:,}   misses: {found.misses:,}   hit rate: {found.hit_rate:.1%}")
    print(f"damaged:  {found.damaged:,} entries seen and dropped")
    print(f"oldest:   {doc['oldest'] or '-'}   newest: {doc['newest'] or '-'}")
    remote = found.remote or {}
    if any(remote.values()):
        print("shared:   " + "   ".join(f"{name}: {count:,}" for name, count in remote.items()))
    return EXIT_OK


def prune(args: argparse.Namespace) -> int:
    try:
        max_size = parse_size(args.max_size) if args.max_size is not None else None
        older_than = parse_age(args.older_than) if args.older_than is not None else None
    except CacheError as exc:  # the documented exit code of a bad option
        raise UsageError(str(exc)) from None
    if args.keep_builds is not None and args.keep_builds < 0:
        raise UsageError(f"--keep-builds expects a number of builds (0 or more), got {args.keep_builds}")
    if args.remote:
        if args.keep_builds is not None or (max_size is None and older_than is None):
            raise UsageError("--remote prunes by --older-than and --max-size only (the shared cache knows no builds)")
        tier = open_shared(args.remote_cache, "read")
        if tier is None:
            raise UsageError(f"--remote needs --remote-cache URL or ${REMOTE_CACHE_ENV}")
        with tier:
            result = prune_shared(tier, max_size=max_size, older_than=older_than, dry_run=args.dry_run)
    else:
        with Store(resolve_cache_dir(args.cache_dir), create=False) as store:
            result = prune_cache(
                store, max_size=max_size, older_than=older_than, keep_builds=args.keep_builds, dry_run=args.dry_run
            )
    if args.json:
        print(json.dumps({"removed": result.removed, "freed_bytes": result.freed_bytes, "dry_run": result.dry_run}))
        return EXIT_OK
    if result.dry_run:
        for path in result.paths:
            print(f"would remove {path}")
    prefix = "would have " if result.dry_run else ""
    print(f"{prefix}removed {result.removed} entries, freed {_human_bytes(result.freed_bytes)}")
    return EXIT_OK
