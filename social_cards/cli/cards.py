"""``card``, ``key``, ``templates`` and ``preview``: one card, its key, the templates, a sheet of samples."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import SocialCardsError
from ..model import RenderSettings
from ..output import OutputFormat
from ..pipeline import CardRequest, run
from ..pool import RenderPool
from ..preview import SAMPLES, PreviewSheet, draw_sheet, samples_from_titles
from ..store import Store, resolve_cache_dir
from ..template import builtin_templates, load_template
from .common import EXIT_FAILED, EXIT_OK, UsageError, card_input, fonts, open_store, parse_options

__all__ = ["card", "key", "preview", "templates"]

_SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}

WATCH_INTERVAL_S = 0.5
"""How often ``preview --watch`` looks for changed template files."""


def _request(args: argparse.Namespace) -> CardRequest:
    fmt = "jpeg" if args.format == "jpg" else args.format
    output: Path | None = getattr(args, "output", None)
    if output is not None:
        by_suffix = _SUFFIX_FORMATS.get(output.suffix.lower())
        if by_suffix is None:
            raise UsageError(f"-o {output}: a card is a .png, .jpg or .webp file; name it so (or use --format)")
        if fmt is not None and fmt != by_suffix:
            raise UsageError(f"-o {output} names a {by_suffix} file, but --format asks for {fmt}; make them agree")
        fmt = by_suffix
    fmt = fmt or "png"
    settings = RenderSettings(OutputFormat.named(fmt), fonts(args), args.strict)
    template = load_template(args.template)
    card = card_input(args)
    unknown = template.unknown_options(name for name, _ in card.options)
    if unknown and args.strict:
        raise UsageError(f"--option {unknown}")
    if unknown:
        print(f"social-cards: warning: --option {unknown}", file=sys.stderr)
    out, name = (output.parent, output.name) if output is not None else (None, None)
    return CardRequest(args.title, template, card, settings, out, name)


def templates(args: argparse.Namespace) -> int:
    if args.name:  # one template: its options and their defaults
        template = load_template(args.name)
        print(f"{template.name}: {template.description}")
        for option, default in sorted(template.defaults.items()):
            print(f"  {option:<16} {default or '(empty: the template decides)'}")
        return EXIT_OK
    for name, description in builtin_templates().items():
        print(f"{name:<10} {description}")
    return EXIT_OK


def key(args: argparse.Namespace) -> int:
    request = _request(args)
    print(request.template.resolve(request.card, output=request.settings.output, fonts=request.settings.fonts).key)
    return EXIT_OK


def card(args: argparse.Namespace) -> int:
    request = _request(args)
    with open_store(resolve_cache_dir(args.cache_dir), args) as store, RenderPool(1) as pool:
        report = run([request], store, pool, strict=True)
    result = report.results[request.ref]
    if not args.quiet:
        how = "from the shared cache" if report.remote else "from the cache" if result.cached else "drawn"
        size = args.output.stat().st_size
        fmt = request.settings.output.format
        print(f"wrote {args.output} ({size:,} bytes, {result.width}x{result.height} {fmt}, {how})")
    print(result.key)
    return EXIT_OK


def preview(args: argparse.Namespace) -> int:
    refs: list[str | Path] = list(args.template) or list(builtin_templates())
    samples = samples_from_titles(args.title) if args.title else SAMPLES
    options = parse_options(args.option)
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

    with Store(cache_dir) as store, RenderPool() as pool:
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
