"""``site DIR``: cards and tags for a site some other tool built (Hugo, Sphinx, Zensical, ...)."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

from ..errors import CacheError, SocialCardsError
from ..fontfile import check_font
from ..model import RenderSettings
from ..output import OutputFormat
from ..place import relative_path
from ..pool import RenderPool
from ..sources.html import SiteOptions, dry_run, make_site_cards
from ..store import Store, resolve_cache_dir
from .common import EXIT_FAILED, EXIT_OK, UsageError, add_remote_options, open_store, parse_options
from .render import Progress

__all__ = ["add_parser", "site"]

_CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "template": str, "options": dict, "fonts": list, "system_fonts": bool, "logo": str, "cache_dir": str,
    "cards_dir": str, "card_names": str, "include": list, "exclude": list, "format": str, "workers": int,
    "strict": bool, "site_url": str, "site_name": str,
}  # fmt: skip
"""The keys a ``--config`` file may hold: the MkDocs plugin's, and the two a built site cannot say itself."""


def add_parser(sub: Any) -> None:
    site = sub.add_parser("site", help="cards and tags for an already built site (any generator)")
    site.add_argument("dir", type=Path, metavar="DIR", help="the built site's folder (public/, _build/html/, site/)")
    site.add_argument("--site-url", metavar="URL", help="the site's address, for the tags' full image URLs")
    site.add_argument("--site-name", metavar="TEXT", help="the site's name (default: read from the pages)")
    site.add_argument("--template", metavar="NAME|DIR", help="built-in name or folder (default: default)")
    site.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="template option")
    site.add_argument("--logo", type=Path, metavar="FILE", help="a logo for every card")
    site.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")
    site.add_argument("--cards-dir", metavar="PATH", help="where cards go in the site (default: assets/images/social)")
    site.add_argument(
        "--card-names", choices=("page", "hash"), help="name cards after their page (default) or their content key"
    )
    site.add_argument("--include", action="append", default=[], metavar="GLOB", help="only pages matching (repeatable)")
    site.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="no card for these (repeatable)")
    site.add_argument("--format", choices=("png", "jpeg", "webp"), help="card format (default: png)")
    site.add_argument("--font", action="append", default=[], type=Path, metavar="FILE", help="extra fallback font")
    site.add_argument("--workers", type=int, metavar="N", help="processes to draw with (default: all cores)")
    site.add_argument("--config", type=Path, metavar="FILE", help="a TOML or YAML file of these settings")
    site.add_argument("--strict", action="store_true", help="stop at the first page or card that fails")
    site.add_argument("--dry-run", action="store_true", help="list each page's card and whether it is cached")
    site.add_argument("--json", action="store_true", help="end with one JSON object of the counts")
    add_remote_options(site)


def _config(path: Path | None) -> dict[str, Any]:
    """The ``--config`` file's settings, checked; relative paths in it are made absolute from its folder."""
    if path is None:
        return {}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yml", ".yaml"):
            import yaml  # type: ignore[import-untyped]  # MkDocs' own dependency

            doc = yaml.safe_load(raw) or {}
        else:
            doc = tomllib.loads(raw.decode("utf-8"))
    except Exception as exc:  # the parser's own error, as one line
        kind = "YAML" if path.suffix.lower() in (".yml", ".yaml") else "TOML"
        raise UsageError(f"--config {path}: not valid {kind}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"--config {path}: expected a table of settings, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(_CONFIG_KEYS))
    if unknown:
        raise UsageError(f"--config {path}: unknown key(s) {', '.join(unknown)}; expected {', '.join(_CONFIG_KEYS)}")
    for key, expected in _CONFIG_KEYS.items():
        if key in doc and not isinstance(doc[key], expected):
            raise UsageError(f"--config {path}: {key} must be a {getattr(expected, '__name__', expected)}")
    base = path.parent.resolve()
    for key in ("logo", "cache_dir"):
        if key in doc:
            doc[key] = base / Path(doc[key]).expanduser()
    doc["fonts"] = [base / Path(str(f)).expanduser() for f in doc.get("fonts", [])]
    doc["base"] = base
    return doc


def _options(args: argparse.Namespace) -> tuple[SiteOptions, dict[str, Any]]:
    """The run's settings: the command line's, then the ``--config`` file's, then the defaults."""
    doc = _config(args.config)

    def pick(name: str, default: Any) -> Any:
        given = getattr(args, name, None)
        return given if given not in (None, []) else doc.get(name, default)

    fonts = tuple(check_font(Path(f), "--font" if args.font else "fonts") for f in pick("font", doc.get("fonts", [])))
    cards_dir = str(pick("cards_dir", "assets/images/social")).strip("/\\")
    try:
        cards_dir = relative_path(cards_dir, "cards_dir must be a folder inside the site").as_posix()
        output = OutputFormat.named(str(pick("format", "png")))
    except SocialCardsError as exc:
        raise UsageError(str(exc)) from None
    card_names = str(pick("card_names", "page"))
    if card_names not in ("page", "hash"):
        raise UsageError(f"card_names must be page or hash, got {card_names!r}")
    logo = pick("logo", None)
    if logo is not None and not Path(logo).is_file():
        raise UsageError(f"logo {logo} is not a file")
    site_url = str(pick("site_url", ""))
    if site_url and not site_url.startswith(("http://", "https://")):
        raise UsageError(f"--site-url must be a full address (https://example.org/), got {site_url!r}")
    options = dict(doc.get("options", {}))
    options.update(parse_options(args.option))
    strict = bool(args.strict or doc.get("strict", False))
    render = RenderSettings(output, fonts, strict, bool(doc.get("system_fonts", True)))
    site_options = SiteOptions(
        template=str(pick("template", "default")),
        base=doc.get("base", Path.cwd()),
        options=options,
        site_url=site_url,
        site_name=str(pick("site_name", "")),
        cards_dir=cards_dir,
        card_names="hash" if card_names == "hash" else "page",
        include=tuple(pick("include", [])),
        exclude=tuple(pick("exclude", [])),
        logo=Path(logo).resolve() if logo is not None else None,
        render=render,
    )
    return site_options, {"cache_dir": pick("cache_dir", None), "workers": pick("workers", None)}


def site(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        raise UsageError(f"DIR {args.dir} is not a folder (expected a built site: public/, _build/html/, site/)")
    options, run = _options(args)
    if run["workers"] is not None and run["workers"] < 1:
        raise UsageError(f"--workers expects 1 or more, got {run['workers']}")
    root = args.dir.resolve()
    cache_dir = resolve_cache_dir(run["cache_dir"])
    if args.dry_run:
        return _dry_run(root, options, cache_dir, args.quiet)
    progress = Progress(args.quiet)
    with open_store(cache_dir, args) as store, RenderPool(run["workers"]) as pool:
        try:
            report = make_site_cards(root, options, store, pool, progress=progress)
        finally:
            progress.end()
    for line in report.warnings:
        print(f"social-cards: warning: {line}", file=sys.stderr)
    cards = report.cards
    for line in cards.error_lines():
        print(f"social-cards: {line}", file=sys.stderr)
    skipped = sum(report.skipped.values())
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
    print(
        f"{report.pages} pages: {cards.cards} cards "
        f"({cards.cached} cached{f', {cards.remote} of them shared' if cards.remote else ''}, "
        f"{cards.drawn} drawn, {cards.failed} failed), "
        f"{report.tagged} pages tagged, {skipped} skipped{f' ({why})' if why else ''} in {cards.seconds:.1f} s"
    )
    if args.json:
        names = ["cards", "cached", "drawn", "failed", *(["remote"] if store.shared is not None else [])]
        counts = {k: getattr(cards, k) for k in names}
        extra = {"pages": report.pages, "tagged": report.tagged, "skipped": skipped}
        print(json.dumps(counts | extra | {"seconds": round(cards.seconds, 3)}))
    return EXIT_FAILED if cards.failed else EXIT_OK


def _dry_run(root: Path, options: SiteOptions, cache_dir: Path, quiet: bool) -> int:
    """A line per page (its card's path, and whether the cache has it), then the counts; nothing written."""
    try:
        store: Store | None = Store(cache_dir, create=False, quiet=True)
    except CacheError:
        store = None
    counts: dict[str, int] = {}
    try:
        for page, card, state in dry_run(root, options, store):
            counts[state] = counts.get(state, 0) + 1
            if not quiet:
                print(f"{page.ref}  ->  {f'{card}  ({state})  {page.title}' if card else f'no card: {state}'}")
    finally:
        if store is not None:
            store.close()
    print(", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no pages")
    return EXIT_OK
