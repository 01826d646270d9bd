"""The ``social-cards`` command line. It parses, calls the library, and reports.

Exit codes: 0 success, 1 a card failed, 2 a usage error. Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .batch import BatchReport, render_jsonl
from .errors import SocialCardsError
from .output import FORMATS, OutputFormat
from .placement import write_card
from .pool import RenderPool
from .preview import SAMPLES, PreviewSheet, draw_sheet, samples_from_titles
from .renderer import draw
from .spec import CardSpec
from .store import Store, parse_age, parse_size, resolve_cache_dir
from .template import CardInput, builtin_templates, load_template

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _card_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("title", metavar="TITLE", help="the card's title (any text; markup is stripped)")
    parser.add_argument("--description", default="", metavar="TEXT", help="a line or two under the title")
    parser.add_argument(
        "--template", default="default", metavar="NAME|DIR", help="built-in name or folder (default: default)"
    )
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template option such as accent=#ff5500 (repeatable)",
    )
    parser.add_argument(
        "--format", choices=[*FORMATS, "jpg"], help="output format (default: from -o's suffix, else png)"
    )
    parser.add_argument("--site-name", default="", metavar="TEXT")
    parser.add_argument("--site-url", default="", metavar="URL")
    parser.add_argument("--page-url", default="", metavar="URL")
    parser.add_argument("--date", default="", metavar="TEXT")
    parser.add_argument("--author", action="append", default=[], metavar="NAME", help="repeatable")
    parser.add_argument("--tag", action="append", default=[], metavar="TAG", help="repeatable")
    parser.add_argument("--logo", type=Path, metavar="FILE", help="logo image (PNG, JPEG, WebP or SVG)")
    parser.add_argument(
        "--font", action="append", default=[], type=Path, metavar="FILE", help="extra fallback font (repeatable)"
    )
    parser.add_argument("--strict", action="store_true", help="fail when a character cannot be drawn by any font")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="social-cards", description="Social card images with a content-hash cache.")
    parser.add_argument("--version", action="version", version=f"social-cards {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    card = sub.add_parser("card", help="draw one card to a file and print its key")
    _card_options(card)
    card.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="where to write the card")
    key = sub.add_parser("key", help="print a card's key without drawing it")
    _card_options(key)
    sub.add_parser("templates", help="list the built-in templates")
    render = sub.add_parser("render", help="draw many cards into the cache ahead of a build")
    render.add_argument(
        "source", type=Path, metavar="SOURCE", help="an MkDocs config (mkdocs.yml), or a JSON Lines file of cards"
    )
    render.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")
    render.add_argument(
        "--out-dir",
        type=Path,
        metavar="DIR",
        help="also write each card here: under its 'output' path, or its path in the site",
    )
    render.add_argument("--workers", type=int, metavar="N", help="processes to draw with (default: all cores)")
    render.add_argument("--font", action="append", default=[], type=Path, metavar="FILE", help="extra fallback font")
    render.add_argument("--strict", action="store_true", help="stop at the first bad line or failed card")
    render.add_argument("--json", action="store_true", help="end with one JSON object of the counts")
    preview = sub.add_parser("preview", help="draw templates with sample titles onto one HTML page")
    preview.add_argument(
        "template", nargs="*", metavar="NAME|DIR", help="templates to show (default: every built-in template)"
    )
    preview.add_argument("-o", "--out-dir", type=Path, default=Path("preview"), metavar="DIR",
                         help="where the page and its cards go (default: ./preview)")  # fmt: skip
    preview.add_argument(
        "--title", action="append", default=[], metavar="TEXT", help="a sample title (repeatable; default: built-in)"
    )
    preview.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="template option")
    preview.add_argument("--site-name", default="social-cards", metavar="TEXT")
    preview.add_argument("--logo", type=Path, metavar="FILE", help="logo image (PNG, JPEG, WebP or SVG)")
    preview.add_argument("--watch", action="store_true", help="redraw whenever a template file changes")
    preview.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")
    stats = sub.add_parser("stats", help="what the card cache holds, and its hit rate")
    stats.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")
    stats.add_argument("--json", action="store_true", help="one JSON object on stdout")
    prune = sub.add_parser("prune", help="remove cache entries by size, age or build")
    prune.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")
    prune.add_argument("--max-size", metavar="SIZE", help="remove least recently used entries until the cache fits")
    prune.add_argument("--older-than", metavar="AGE", help="remove entries unused for AGE (30d, 12h)")
    prune.add_argument("--keep-builds", type=int, metavar="N", help="remove entries none of the last N builds used")
    prune.add_argument("--dry-run", action="store_true", help="report what would go, remove nothing")
    prune.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser


def _options(items: Sequence[str]) -> dict[str, str]:
    options = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _UsageError(f"--option expects KEY=VALUE, got {item!r}")
        options[name.strip()] = value
    return options


def _spec(args: argparse.Namespace) -> CardSpec:
    options = _options(args.option)
    fmt = args.format
    if fmt is None:
        output_path = getattr(args, "output", None)
        fmt = _SUFFIX_FORMATS.get(output_path.suffix.lower(), "png") if output_path is not None else "png"
    card = CardInput(
        title=args.title,
        description=args.description,
        site_name=args.site_name,
        site_url=args.site_url,
        page_url=args.page_url,
        date=args.date,
        authors=tuple(args.author),
        tags=tuple(args.tag),
        logo=args.logo.resolve() if args.logo else None,
        options=CardInput.options_from(options),
    )
    template = load_template(args.template)
    return template.resolve(card, output=OutputFormat.named(fmt), fonts=args.font, strict=args.strict)


def _run(args: argparse.Namespace) -> int:
    if args.command == "templates":
        for name, description in builtin_templates().items():
            print(f"{name:<10} {description}")
        return EXIT_OK
    if args.command == "stats":
        return _stats(args)
    if args.command == "render":
        return _render(args)
    if args.command == "prune":
        return _prune(args)
    if args.command == "preview":
        return _preview(args)
    spec = _spec(args)
    if args.command == "key":
        print(spec.key)
        return EXIT_OK
    with Store(resolve_cache_dir(args.cache_dir)) as store:
        data = store.get(spec.key)
        cached = data is not None
        if data is None:
            data = draw(spec)
            store.put(spec.key, data)
    try:
        write_card(args.output, data)
    except OSError as exc:
        raise SocialCardsError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    if not args.quiet:
        how = "from the cache" if cached else "drawn"
        print(f"wrote {args.output} ({len(data):,} bytes, {spec.width}x{spec.height} {spec.output.format}, {how})")
    print(spec.key)
    return EXIT_OK


class _Progress:
    """A bar on a terminal; sparse plain lines otherwise (CI logs)."""

    def __init__(self, quiet: bool) -> None:
        self.tty = sys.stderr.isatty()
        self.quiet = quiet
        self.last = 0.0

    def __call__(self, report: BatchReport) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        done, total = report.done, max(report.cards, 1)
        rate = done / report.seconds if report.seconds > 0 else 0.0
        left = (report.cards - done) / rate if rate > 0 else 0.0
        if self.tty:
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r[{bar}] {done}/{report.cards} {rate:.0f} cards/s {left:.0f} s left ", end="", file=sys.stderr)
        else:
            print(f"social-cards: {done}/{report.cards} cards, {rate:.0f} cards/s", file=sys.stderr)

    def end(self) -> None:
        if self.tty and not self.quiet and self.last:
            print(file=sys.stderr)


def _render(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers expects 1 or more, got {args.workers}")
    if not args.source.is_file():
        raise _UsageError(f"SOURCE {args.source} is not a file (expected mkdocs.yml or a JSON Lines file)")
    progress = _Progress(args.quiet)
    run: Callable[[Store, RenderPool], BatchReport]
    workers = args.workers
    if args.source.suffix.lower() in (".yml", ".yaml"):
        if args.font:
            raise _UsageError("--font is for JSON Lines sources; an MkDocs site takes its fonts from mkdocs.yml")
        # The plugin's own code reads the site, so the keys are the ones `mkdocs build` will look up.
        from mkdocs_social_cards.prerender import Prerender

        site = Prerender(args.source)
        cache_dir = args.cache_dir if args.cache_dir is not None else site.cache_dir
        workers = workers or site.workers

        def run(store: Store, pool: RenderPool) -> BatchReport:
            return site.run(store, pool, out_dir=args.out_dir, strict=args.strict, progress=progress)
    else:
        cache_dir = resolve_cache_dir(args.cache_dir)

        def run(store: Store, pool: RenderPool) -> BatchReport:
            return render_jsonl(
                args.source, store, pool, out_dir=args.out_dir, strict=args.strict, fonts=tuple(args.font),
                progress=progress,
            )  # fmt: skip

    with Store(cache_dir) as store:
        pool = RenderPool(cache_dir if store.enabled else None, workers, build_id=store.build_id)
        try:
            report = run(store, pool)
        finally:
            pool.close()
            progress.end()
    for error in report.errors:
        print(f"social-cards: {error.ref}: {error.reason}", file=sys.stderr)
    seconds = report.seconds
    rate = report.done / seconds if seconds > 0 else 0.0
    print(
        f"{report.cards} cards: {report.cached} cached, {report.drawn} drawn, {report.failed} failed "
        f"in {seconds:.1f} s ({rate:.0f} cards/s)"
    )
    if args.json:
        print(
            json.dumps(
                {k: getattr(report, k) for k in ("cards", "cached", "drawn", "failed")} | {"seconds": round(seconds, 3)}
            )
        )
    return EXIT_FAILED if report.failed else EXIT_OK


WATCH_INTERVAL_S = 0.5
"""How often ``preview --watch`` looks for changed template files."""


def _preview(args: argparse.Namespace) -> int:
    refs: list[str | Path] = list(args.template) or list(builtin_templates())
    samples = samples_from_titles(args.title) if args.title else SAMPLES
    options = _options(args.option)
    logo = args.logo.resolve() if args.logo else None
    cache_dir = resolve_cache_dir(args.cache_dir)

    def draw_once(store: Store, pool: RenderPool) -> PreviewSheet:
        sheet = draw_sheet(
            refs, args.out_dir, store, pool, samples=samples, options=options, site_name=args.site_name, logo=logo,
            refresh_seconds=2 if args.watch else 0,
        )  # fmt: skip
        for card in sheet.cards:
            if card.error:
                print(f"social-cards: {card.file}: {card.error}", file=sys.stderr)
        if not args.quiet:
            print(
                f"wrote {sheet.page}: {len(sheet.cards)} cards ({sheet.drawn} drawn, {sheet.cached} cached, "
                f"{sheet.failed} failed)"
            )
        return sheet

    with Store(cache_dir) as store, RenderPool(cache_dir if store.enabled else None, build_id=store.build_id) as pool:
        sheet = draw_once(store, pool)
        if not args.watch:
            return EXIT_FAILED if sheet.failed else EXIT_OK
        if not args.quiet:
            print("watching the template folders; Ctrl-C stops")
        roots = sheet.roots
        seen = _stamps(roots)
        try:
            while True:
                time.sleep(WATCH_INTERVAL_S)
                now = _stamps(roots)
                if now == seen:
                    continue
                seen = now
                try:
                    draw_once(store, pool)
                except SocialCardsError as exc:  # a half-saved layout: say why, keep watching
                    print(f"social-cards: error: {exc}", file=sys.stderr)
        except KeyboardInterrupt:
            return EXIT_OK


def _stamps(roots: Sequence[Path]) -> dict[Path, tuple[int, int]]:
    stamps = {}
    for root in roots:
        for path in root.rglob("*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps[path] = (stat.st_mtime_ns, stat.st_size)
    return stamps


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def _when(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, tz=UTC).isoformat(timespec="seconds")


def _stats(args: argparse.Namespace) -> int:
    directory = resolve_cache_dir(args.cache_dir)
    with Store(directory) as store:
        stats = store.stats()
    doc = {
        "directory": str(directory),
        "entries": stats.entries,
        "bytes": stats.bytes,
        "hits": stats.hits,
        "misses": stats.misses,
        "hit_rate": round(stats.hit_rate, 4),
        "damaged": stats.damaged,
        "builds": stats.builds,
        "oldest": _when(stats.oldest),
        "newest": _when(stats.newest),
    }
    if args.json:
        print(json.dumps(doc))
        return EXIT_OK
    print(f"cache:    {directory}")
    print(f"entries:  {stats.entries:,} ({_human_bytes(stats.bytes)})")
    print(f"hits:     {stats.hits:,}   misses: {stats.misses:,}   hit rate: {stats.hit_rate:.1%}")
    print(f"damaged:  {stats.damaged:,} entries seen and dropped")
    print(f"oldest:   {doc['oldest'] or '-'}   newest: {doc['newest'] or '-'}")
    return EXIT_OK


def _prune(args: argparse.Namespace) -> int:
    max_size = parse_size(args.max_size) if args.max_size is not None else None
    older_than = parse_age(args.older_than) if args.older_than is not None else None
    if args.keep_builds is not None and args.keep_builds < 0:
        raise _UsageError(f"--keep-builds expects a number of builds (0 or more), got {args.keep_builds}")
    with Store(resolve_cache_dir(args.cache_dir)) as store:
        result = store.prune(
            max_size=max_size, older_than=older_than, keep_builds=args.keep_builds, dry_run=args.dry_run
        )
    if args.json:
        print(json.dumps({"removed": result.removed, "freed_bytes": result.freed_bytes, "dry_run": result.dry_run}))
    else:
        prefix = "would have " if result.dry_run else ""
        print(f"{prefix}removed {result.removed} entries, freed {_human_bytes(result.freed_bytes)}")
    return EXIT_OK


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"social-cards: {record.levelname.lower()}: {record.getMessage()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``social-cards`` console script; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"social-cards: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("social_cards")
    root.addHandler(handler)
    root.setLevel(logging.ERROR if args.quiet else logging.WARNING)
    try:
        return _run(args)
    except _UsageError as exc:
        print(f"social-cards: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SocialCardsError as exc:
        print(f"social-cards: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("social-cards: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`): the work is done, say nothing more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: still one line, with what to report
        print(f"social-cards: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        root.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
