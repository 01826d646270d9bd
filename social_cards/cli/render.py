"""``render``: many cards into the cache ahead of a build, from a site's configuration or JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..model import RenderSettings
from ..pipeline import Report
from ..pool import RenderPool
from ..sources import open_site
from ..sources.jsonl import render_jsonl
from ..store import resolve_cache_dir
from .common import EXIT_FAILED, EXIT_OK, UsageError, fonts, open_store, parse_shard

__all__ = ["Progress", "render"]


class Progress:
    """A bar on a terminal; sparse plain lines otherwise (CI logs)."""

    def __init__(self, quiet: bool) -> None:
        self.tty = sys.stderr.isatty()
        self.quiet = quiet
        self.last = 0.0

    def __call__(self, report: Report) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        done, total = report.done, max(report.cards, 1)
        rate = done / report.seconds if report.seconds > 0 else 0.0
        if self.tty:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r[{bar}] {done}/{report.cards} {rate:.0f} cards/s ", end="", file=sys.stderr)
        else:
            print(f"social-cards: {done}/{report.cards} cards, {rate:.0f} cards/s", file=sys.stderr)

    def end(self) -> None:
        if self.tty and not self.quiet and self.last:
            print(file=sys.stderr)


def render(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers expects 1 or more, got {args.workers}")
    if not args.source.is_file():
        raise UsageError(f"SOURCE {args.source} is not a file (expected mkdocs.yml or a JSON Lines file)")
    progress = Progress(args.quiet)
    site = open_site(args.source)
    if site is not None and args.font:
        raise UsageError("--font is for JSON Lines sources; a site takes its fonts from its configuration")
    if site is not None:
        cache_dir = args.cache_dir if args.cache_dir is not None else site.cache_dir
        args.remote_cache = args.remote_cache or site.remote_cache
        args.remote_cache_mode = args.remote_cache_mode or site.remote_cache_mode
        workers = args.workers or site.workers
    else:
        cache_dir = resolve_cache_dir(args.cache_dir)
        workers = args.workers
    shard = parse_shard(args.shard)
    with open_store(cache_dir, args) as store, RenderPool(workers) as pool:
        try:
            if site is not None:
                report = site.run(store, pool, out_dir=args.out_dir, strict=args.strict, progress=progress, shard=shard)
            else:
                settings = RenderSettings(fonts=fonts(args), strict=args.strict)
                report = render_jsonl(
                    args.source, store, pool, settings=settings, out_dir=args.out_dir, strict=args.strict,
                    progress=progress, shard=shard,
                )  # fmt: skip
        finally:
            progress.end()
    for line in report.error_lines():
        print(f"social-cards: {line}", file=sys.stderr)
    seconds = report.seconds
    rate = report.done / seconds if seconds > 0 else 0.0
    remote = f" ({report.remote} from the shared cache)" if report.remote else ""
    elsewhere = f"; {report.elsewhere} left to other shards" if shard else ""
    print(
        f"{report.cards} cards: {report.cached} cached{remote}, {report.drawn} drawn, {report.failed} failed "
        f"in {seconds:.1f} s ({rate:.0f} cards/s){elsewhere}"
    )
    if args.json:
        names = ["cards", "cached", "drawn", "failed"]
        names += ["remote"] if store.shared is not None else []
        names += ["elsewhere"] if shard else []
        counts = {k: getattr(report, k) for k in names}
        print(json.dumps(counts | {"seconds": round(seconds, 3)}))
    return EXIT_FAILED if report.failed else EXIT_OK
