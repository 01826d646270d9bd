"""Cards for a site some other tool built: each HTML page's head read, its card made, its tags added.

Whatever made the site (Hugo, Sphinx, Zensical, Jekyll, ...), its pages say what a
card needs in their heads: the title (``og:title``, else the ``<title>`` less the
site name the generator appends, else the first ``<h1>``), the description, the
language and direction (``<html lang dir>``), and, for articles, the date and
authors. Pages are read one at a time, head first, and each is rewritten only when
it lacks a tag, so a rerun over an unchanged folder changes nothing and memory
stays flat however large the site.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import posixpath
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urljoin

from ..errors import SocialCardsError
from ..globs import glob
from ..head import scan_head
from ..model import CardInput, RenderSettings
from ..pipeline import CardRequest, CardResult, Pipeline, Report
from ..place import relative_path, write_atomic
from ..pool import RenderPool
from ..store import Store
from ..tags import card_tags, tag_lines
from ..template import load_template_near
from ..template.fingerprint import fingerprint
from ..text import escape_markup
from .page import SitePage, common_site_name, page_codec, plain, read_page

__all__ = ["SiteOptions", "SiteReport", "dry_run", "make_site_cards", "site_name_of", "site_pages"]

logger = logging.getLogger(__name__)

PAGE_SUFFIXES = (".html", ".htm")
TAGS_AHEAD = 256
"""Pages whose cards are on their way before the oldest one's tags are written: keeps the pool busy and memory flat."""
SAMPLE_TITLES = 64
"""Titles read to find the site name that the generator appends to each (``Page - Site``)."""

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True, slots=True)
class SiteOptions:
    """How a built site gets its cards. Paths are absolute.

    Attributes:
        template: a built-in template name, or a folder relative to ``base``.
        base: where a template folder and relative files are looked for.
        options: template options for every page.
        site_url: the site's address; without it, a page's own canonical link is used.
        site_name: the site's name (default: the pages' ``og:site_name``, else what their titles end with).
        cards_dir: where cards go inside the site.
        card_names: ``page`` (``blog/post.html`` -> ``blog/post.png``) or ``hash`` (the card's key).
        include: globs on page paths; when given, only matching pages get cards.
        exclude: globs on page paths that get no card.
        logo: a logo for every card.
        render: output format, fonts and strictness.
    """

    template: str = "default"
    base: Path = field(default_factory=Path.cwd)
    options: Mapping[str, object] = field(default_factory=dict)
    site_url: str = ""
    site_name: str = ""
    cards_dir: str = "assets/images/social"
    card_names: Literal["page", "hash"] = "page"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    logo: Path | None = None
    render: RenderSettings = field(default_factory=RenderSettings)

    @property
    def strict(self) -> bool:
        return self.render.strict


@dataclass(slots=True)
class SiteReport:
    """What a run over a site did: pages seen, skipped and given tags, and the cards' own report."""

    pages: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    tagged: int = 0
    untagged: int = 0
    cards: Report = field(default_factory=Report)
    warnings: list[str] = field(default_factory=list)


def site_pages(root: Path, options: SiteOptions) -> Iterator[Path]:
    """The HTML pages under ``root`` in a stable order, leaving out links, hidden folders and the cards' folder."""
    cards = root / options.cards_dir
    include = [glob(g) for g in options.include]
    exclude = [glob(g) for g in options.exclude]
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and here / d != cards)
        for name in sorted(files):
            if not name.lower().endswith(PAGE_SUFFIXES):
                continue
            path = here / name
            ref = path.relative_to(root).as_posix()
            if any(m(ref) for m in exclude) or (include and not any(m(ref) for m in include)):
                continue
            yield path


def site_name_of(root: Path, options: SiteOptions) -> str:
    """The site's name: given, else the pages' ``og:site_name``, else what most of their titles end with."""
    if options.site_name:
        return options.site_name
    titles: list[str] = []
    for path in site_pages(root, options):
        page = read_page(root, path)
        name = page.head.meta.get("og:site_name", "").strip()
        if name:
            return plain(name)
        if page.head.title:
            titles.append(page.head.title)
        if len(titles) >= SAMPLE_TITLES:
            break
    return common_site_name(titles)


def _date(value: str) -> str:
    match = _ISO_DATE.match(value.strip())
    if match is None:
        return plain(value)
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return plain(value)
    return f"{day:%B} {day.day}, {day.year}"


class _Site:
    """One run over one site folder: requests out, tags in, a page at a time."""

    def __init__(self, root: Path, options: SiteOptions, report: SiteReport) -> None:
        self.root = root
        self.options = options
        self.report = report
        self.site_name = site_name_of(root, options)
        self.site_url = options.site_url.rstrip("/") + "/" if options.site_url else ""
        self.template = load_template_near(options.template, options.base)  # every page's: a built page names none
        unknown = self.template.check_options(
            options.options, site_name=self.site_name, logo=options.logo, output=options.render.output
        )
        if unknown:
            self.warn(f"options: {unknown}")
        self.card_options = CardInput.options_from(options.options)

    def warn(self, message: str) -> None:
        if self.options.strict:
            raise SocialCardsError(message)
        self.report.warnings.append(message)

    def page_url(self, page: SitePage) -> str:
        """The page's address: its canonical link, else the site's address and its path (a folder for index.html)."""
        if page.head.canonical.startswith(("http://", "https://")):
            return page.head.canonical
        if not self.site_url:
            return ""
        path = page.ref
        if posixpath.basename(path) in ("index.html", "index.htm"):
            path = posixpath.dirname(path) + "/" if "/" in path else ""
        return self.site_url + quote(path)

    def card_name(self, page: SitePage) -> str | None:
        """Where the card goes in the site (None: named by its key, under the cards' folder)."""
        if self.options.card_names == "hash":
            return None
        stem = posixpath.splitext(page.ref)[0]
        return f"{self.options.cards_dir}/{stem}{self.options.render.output.suffix}"

    def card(self, page: SitePage) -> CardInput:
        meta, attrs = page.head.meta, page.head.html
        authors = [a for a in (meta.get("article:author", ""), meta.get("author", "")) if a.strip()]
        # A built page's text is plain: escaped, so that a name like __init__ is not read as Markdown.
        return CardInput(
            title=escape_markup(page.title),
            description=escape_markup(plain(meta.get("description", ""))),
            site_name=escape_markup(self.site_name),
            site_url=self.options.site_url,
            page_url=self.page_url(page),
            date=escape_markup(_date(meta.get("article:published_time", ""))),
            authors=tuple(dict.fromkeys(escape_markup(plain(a)) for a in authors)),
            logo=self.options.logo,
            options=self.card_options,
            lang=attrs.get("lang", "").strip(),
            direction=attrs.get("dir", "").strip().lower(),
        )

    def request(self, page: SitePage, card: CardInput) -> CardRequest:
        name = self.card_name(page)
        if name is None:
            out = self.root / relative_path(self.options.cards_dir, "cards_dir must stay inside the site")
            return CardRequest(page.ref, self.template, card, self.options.render, out)
        return CardRequest(page.ref, self.template, card, self.options.render, self.root, name)

    def add_tags(self, page: SitePage, card: CardInput, result: CardResult | None) -> None:
        """Write the tags of ``page``'s card into it; the page is left alone when it has them all."""
        if result is None or result.target is None:
            return
        card_ref = result.target.relative_to(self.root).as_posix()
        if self.site_url:
            image = self.site_url + quote(card_ref)
        elif card.page_url:
            image = urljoin(card.page_url, quote(posixpath.relpath(card_ref, posixpath.dirname(page.ref) or ".")))
        else:
            self.report.untagged += 1
            return
        tags = card_tags(card, image, result.width, result.height, self.options.render.output.media_type)
        try:
            data = page.data if page.data is not None else page.path.read_bytes()
            codec = page_codec(page.head)
            offset = page.head_end
            if offset >= 0 and data[offset : offset + 7].lower() in (b"</head>", b"</head ", b"<body>", b"<body "):
                block = tag_lines(tags, page.head.present)  # the page as it was read: its head is known
            else:  # another encoding, or a page that changed since it was read: scan it again
                text = data.decode(codec, "surrogateescape")
                end, present = scan_head(text)
                block = tag_lines(tags, present) if end >= 0 else ""
                offset = len(text[:end].encode(codec, "surrogateescape"))
            if not block:
                return
            # Only the tags are new: the page's own bytes stay as they were, whatever its encoding.
            write_atomic(page.path, data[:offset] + block.encode(codec, "xmlcharrefreplace") + data[offset:], page.mode)
        except (OSError, UnicodeError) as exc:
            self.warn(f"{page.ref}: tags not added: {getattr(exc, 'strerror', None) or exc}")
            return
        self.report.tagged += 1


def make_site_cards(
    root: Path,
    options: SiteOptions,
    store: Store,
    pool: RenderPool,
    *,
    progress: Callable[[Report], None] | None = None,
) -> SiteReport:
    """Give every page of the built site at ``root`` its card and tags; returns what was done.

    Raises:
        SocialCardsError: the template or an option cannot be used; or, with ``strict``,
            the first page or card that fails.
    """
    report = SiteReport()
    pipeline = Pipeline(store, pool, strict=options.strict, progress=progress)
    report.cards = pipeline.report
    site = _Site(root, options, report)
    waiting: deque[tuple[SitePage, CardInput]] = deque()
    with pipeline:
        for path in site_pages(root, options):
            report.pages += 1
            page = read_page(root, path, site.site_name)
            if page.skip:
                report.skipped[page.skip] += 1
                if page.skip.startswith(("no title", "cannot", "larger")):
                    site.warn(f"{page.ref}: no card: {page.skip}")
                continue
            card = site.card(page)
            pipeline.submit(site.request(page, card))
            waiting.append((page, card))
            if len(waiting) > TAGS_AHEAD:
                page, card = waiting.popleft()
                site.add_tags(page, card, pipeline.take(page.ref))
        while waiting:
            page, card = waiting.popleft()
            site.add_tags(page, card, pipeline.take(page.ref))
    if report.untagged:
        site.warn(
            f"{report.untagged} pages got a card but no tags: an og:image must be a full address; "
            "give --site-url (or site_url in --config)"
        )
    return report


def dry_run(root: Path, options: SiteOptions, store: Store | None) -> Iterator[tuple[SitePage, str, str]]:
    """What a run would do, page by page: the page, its card's path, and ``cached`` or ``to draw``.

    Nothing is drawn or written; without a ``store`` (no cache yet) every card is to draw.
    """
    report = SiteReport()
    site = _Site(root, options, report)
    for path in site_pages(root, options):
        page = read_page(root, path, site.site_name)
        if page.skip:
            yield page, "", page.skip
            continue
        card = site.card(page)
        fp = fingerprint(site.template, card, options.render)
        recalled = store.recall(fp) if fp is not None and store is not None else None
        cached = recalled is not None and store is not None and store.path(recalled.key).is_file()
        name = site.card_name(page)
        if name is None:
            name = f"{options.cards_dir}/{recalled.key if recalled else '<key>'}{options.render.output.suffix}"
        yield page, name, "cached" if cached else "to draw"
