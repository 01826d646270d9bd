"""The ``social-cards`` command line. It parses, calls the library, and reports.

Exit codes: 0 success, 1 a card failed, 2 a usage error. Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..errors import SocialCardsError
from ..model import CARD_FIELDS
from ..output import FORMATS
from . import site
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, add_remote_options

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _card_options(parser: argparse.ArgumentParser) -> None:
    """A card's fields as options (the title is the one argument), from the card model."""
    for field in CARD_FIELDS:
        if field.name == "title":
            parser.add_argument("title", metavar="TITLE", help=field.help)
        elif field.kind == "text":
            parser.add_argument(f"--{field.flag}", dest=field.name, default="", metavar="TEXT", help=field.help)
        elif field.kind == "path":
            parser.add_argument(f"--{field.flag}", dest=field.name, type=Path, metavar="FILE", help=field.help)
        else:
            metavar = "KEY=VALUE" if field.kind == "options" else "TEXT"
            parser.add_argument(
                f"--{field.flag}", dest=field.name, action="append", default=[], metavar=metavar,
                help=f"{field.help} (repeatable)",
            )  # fmt: skip
    parser.add_argument(
        "--template", default="default", metavar="NAME|DIR", help="built-in name or folder (default: default)"
    )
    parser.add_argument(
        "--format", choices=[*FORMATS, "jpg"], help="output format (default: from -o's suffix, else png)"
    )
    _font_option(parser)
    parser.add_argument("--strict", action="store_true", help="fail when a character cannot be drawn by any font")
    _cache_option(parser)
    add_remote_options(parser)


def _cache_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path, metavar="DIR", help="card cache folder")


def _font_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--font", action="append", default=[], type=Path, metavar="FILE", help="extra fallback font (repeatable)"
    )


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
    templates = sub.add_parser("templates", help="list the built-in templates, or one template's options")
    templates.add_argument("name", nargs="?", metavar="NAME|DIR", help="a template: list its options and defaults")
    render = sub.add_parser("render", help="draw many cards into the cache ahead of a build")
    render.add_argument(
        "source", type=Path, metavar="SOURCE", help="an MkDocs config (mkdocs.yml), or a JSON Lines file of cards"
    )
    _cache_option(render)
    render.add_argument(
        "--out-dir", type=Path, metavar="DIR",
        help="also write each card here: under its 'output' path, or its path in the site",
    )  # fmt: skip
    render.add_argument("--workers", type=int, metavar="N", help="processes to draw with (default: all cores)")
    _font_option(render)
    render.add_argument("--strict", action="store_true", help="stop at the first bad line or failed card")
    render.add_argument("--json", action="store_true", help="end with one JSON object of the counts")
    render.add_argument(
        "--shard", metavar="K/N", help="make only slice K of N (a stable split: N CI jobs, one slice each)"
    )
    add_remote_options(render)
    site.add_parser(sub)
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
    _cache_option(preview)
    stats = sub.add_parser("stats", help="what the card cache holds, and its hit rate")
    _cache_option(stats)
    stats.add_argument("--json", action="store_true", help="one JSON object on stdout")
    prune = sub.add_parser("prune", help="remove cache entries by size, age or build")
    _cache_option(prune)
    prune.add_argument("--max-size", metavar="SIZE", help="remove least recently used entries until the cache fits")
    prune.add_argument("--older-than", metavar="AGE", help="remove entries unused for AGE (30d, 12h)")
    prune.add_argument("--keep-builds", type=int, metavar="N", help="remove entries none of the last N builds used")
    prune.add_argument("--dry-run", action="store_true", help="report what would go, remove nothing")
    prune.add_argument(
        "--remote", action="store_true", help="prune the shared cache instead (by --older-than / --max-size)"
    )
    prune.add_argument("--remote-cache", metavar="URL", help="the shared cache (default: $SOCIAL_CARDS_REMOTE_CACHE)")
    prune.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser


def _run(args: argparse.Namespace) -> int:
    from . import cache, cards, render

    commands = {
        "card": cards.card,
        "key": cards.key,
        "templates": cards.templates,
        "preview": cards.preview,
        "render": render.render,
        "site": site.site,
        "stats": cache.stats,
        "prune": cache.prune,
    }
    return commands[args.command](args)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"social-cards: {record.levelname.lower()}: {record.getMessage()}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``social-cards`` console script; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
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
    except UsageError as exc:
        print(f"social-cards: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SocialCardsError as exc:
        print(f"social-cards: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("social-cards: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if _stdout_closed():
            # The reader of our output went away (`| head`): the work is done, say nothing more.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        print("social-cards: internal error: BrokenPipeError (please report this)", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # a bug: still one line, with what to report
        print(f"social-cards: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_FAILED
    finally:
        root.removeHandler(handler)


def _stdout_closed() -> bool:
    """Whether our own stdout is the pipe that broke (not, say, a worker process's)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False
