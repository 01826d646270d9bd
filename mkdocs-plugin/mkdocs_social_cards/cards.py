"""From MkDocs pages to card requests, and from finished cards to each page's tags.

:class:`SiteCards` holds what is the same for every page of a build (templates,
fonts, theme defaults, where cards go); :meth:`SiteCards.run` resolves every
page's card and hands the lot to one ``social_cards.batch.Batch``.
The plugin and ``social-cards render mkdocs.yml`` both use it, so both compute
the same keys.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

from social_cards import CardInput, OutputFormat, SocialCardsError, Template, clean_text, load_template
from social_cards.batch import LOOKUP_CHUNK, Batch, BatchReport, CardRequest, CardResult, Recalled
from social_cards.collector import collector_paused
from social_cards.fonts import prefetch_system_fonts, system_fonts_wanted
from social_cards.pool import RenderPool
from social_cards.store import Store

if TYPE_CHECKING:
    from social_cards.spec import CardSpec
    from social_cards.template import CardFields

from .tags import CardTags, remove_tags, tag_lines
from .theme import theme_defaults

__all__ = ["FRONT_MATTER_KEYS", "Settings", "SiteCards", "check_cards_dir"]

FRONT_MATTER_KEYS = ("cards", "title", "description", "template", "options", "image")
"""Keys of a page's ``social:`` front matter."""

_WARNINGS_PER_REASON = 3
_NO_FRONT_MATTER: Mapping[str, Any] = MappingProxyType({})
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~/-]*")
"""What ``quote`` leaves as it is; checking first is five times cheaper than quoting every card's path."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The plugin's options, checked, with every path made absolute from ``mkdocs.yml``."""

    base: Path
    template: str = "default"
    options: Mapping[str, Any] = field(default_factory=dict)
    fonts: tuple[Path, ...] = ()
    cards_dir: str = "assets/images/social"
    card_names: str = "page"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    output: OutputFormat = field(default_factory=OutputFormat)
    strict: bool = False
    system_fonts: bool = True
    logo: Path | None = None


class _PageData:
    """A page's card, resolved lazily: what the batch needs and what the tags will say.

    It holds the page's :class:`CardInput` fields itself, so the template's fingerprint
    reads them here: a warm build makes no ``CardInput`` (a frozen dataclass costs
    2.7 us to make, against 0.4 us for this one, built positionally). A plain class,
    not a dataclass: it is private, and a dataclass costs 1.5 ms to define at import.
    """

    __slots__ = (
        "authors", "categories", "date", "description", "fingerprint", "kind", "logo", "options",
        "page_url", "path", "ref", "site_name", "site_url", "tags", "template", "title",
    )  # fmt: skip

    def __init__(
        self,
        ref: str,
        template: Template,
        fingerprint: Callable[[CardFields], str | None],
        kind: str,
        path: str,
        title: str,
        description: str,
        site_name: str,
        site_url: str,
        page_url: str,
        date: str,
        authors: tuple[str, ...],
        tags: tuple[str, ...],
        categories: tuple[str, ...],
        logo: Path | None,
        options: tuple[tuple[str, str], ...],
    ) -> None:
        self.ref = ref
        self.template = template
        self.fingerprint = fingerprint
        """The template's fingerprint with this build's settings."""
        self.kind = kind
        self.path = path
        """The card's path in the site; "" when it is named by its key (known once looked up)."""
        self.title = title
        self.description = description
        self.site_name = site_name
        self.site_url = site_url
        self.page_url = page_url
        self.date = date
        self.authors = authors
        self.tags = tags
        self.categories = categories
        self.logo = logo
        self.options = options

    def card(self) -> CardInput:
        """The page's card input, for resolving its template."""
        return CardInput.of(self)


class SiteCards:
    """Cards for one build of one site.

    Raises:
        SocialCardsError: the configured template cannot be loaded.
    """

    def __init__(self, settings: Settings, config: MkDocsConfig) -> None:
        if system_fonts_wanted(settings.system_fonts):
            prefetch_system_fonts()  # every key depends on them; fontconfig answers while pages are read
        self.settings = settings
        self.config = config
        self.site_dir: Path | None = Path(config.site_dir)
        """Where cards are placed (None: only into the cache)."""
        self.site_url = (config.site_url or "").rstrip("/") + "/" if config.site_url else ""
        # Read once: each read of a MkDocs config option costs about as much as a dictionary copy.
        self._site_name: str = config.site_name
        self._site_url: str = config.site_url or ""
        self._site_description = _text(config.site_description)
        self._site_description_clean = clean_text(self._site_description)
        self._templates: dict[str, tuple[Template, Callable[[CardFields], str | None]]] = {}
        self._site_options: dict[str, tuple[tuple[str, str], ...]] = {}
        self._template(settings.template)  # loaded now: a template that cannot be loaded stops the build here
        theme = theme_defaults(config)
        self.logo = settings.logo or theme.logo
        self.primary = theme.primary
        self.tags: dict[str, CardTags] = {}
        self.blocks: dict[str, str] = {}
        """Each page's tags as written into a head that has none (:func:`tag_lines`), made with them."""
        self.tagging = bool(self.site_url)
        """Whether pages get tags: not without ``site_url`` (they need absolute URLs), nor in a
        pre-render, which writes no page. When false, :attr:`tags` and :attr:`blocks` stay empty."""
        self.warnings: list[str] = []
        self._by_key = settings.card_names == "hash"
        self._suffix = settings.output.suffix
        self._media_type = settings.output.media_type
        self._include = [_glob(g) for g in settings.include]
        self._exclude = [_glob(g) for g in settings.exclude]
        self._batch: Batch | None = None
        self._wanted: dict[str, _PageData] = {}
        self._pages: list[Page] = []
        self._pages_written = False
        self.streaming = False
        """True after :meth:`stream`: each page's card is worked out as the page is added."""

    def _template(self, ref: str) -> tuple[Template, Callable[[CardFields], str | None]]:
        """The template ``ref`` names, and its fingerprint with this build's settings."""
        known = self._templates.get(ref)
        if known is None:
            local = self.settings.base / ref
            template = load_template(local if local.is_dir() else ref)
            s = self.settings
            fingerprint = template.fingerprinter(
                output=s.output, fonts=s.fonts, strict=s.strict, system_fonts=s.system_fonts
            )
            known = self._templates[ref] = (template, fingerprint)
        return known

    def _warn(self, page: Page, message: str) -> None:
        if self.settings.strict:
            raise SocialCardsError(f"{page.file.src_uri}: {message}")
        self.warnings.append(f"{page.file.src_uri}: {message}")

    # --- one page ------------------------------------------------------------------

    def _wanted_by_globs(self, src: str) -> bool:
        """False for a page ``include``/``exclude`` leave out."""
        if self._include and not any(p.fullmatch(src) for p in self._include):
            return False
        return not (self._exclude and any(p.fullmatch(src) for p in self._exclude))

    def page_data(self, page: Page) -> _PageData | CardTags | None:
        """The card a page asks for, the tags of its own ``image``, or None for no card.

        None for pages ``include``/``exclude`` leave out or with ``social: cards: false``.
        """
        ref = page.file.src_uri
        if not self._wanted_by_globs(ref):
            return None
        social = _front_matter(page)
        if social:  # most pages have no social: front matter
            if social.get("cards", True) is False:
                return None
            social = self._checked_front_matter(page, social)
        title = _text(social.get("title")) or _text(page.title) or self._site_name
        description = _text(social.get("description")) or _text(page.meta.get("description")) or self._site_description
        date = _date(page)
        if "image" in social:
            plain_title = clean_text(title)
            plain = (plain_title, clean_text(description) or plain_title)
            tags = self._image_tags(page, str(social["image"]), *plain, "article" if date else "website")
            if tags is not None:
                return tags
        template, fingerprint = self._templates[self.settings.template]
        if "template" in social:
            try:
                template, fingerprint = self._template(str(social["template"]))
            except SocialCardsError as exc:
                self._warn(page, f"social.template: {exc}; using {self.settings.template!r}")
        path = "" if self._by_key else self._card_path(ref, "")
        meta = page.meta
        return _PageData(  # positionally, in the order of the fields: this runs for every page
            ref,
            template,
            fingerprint,
            "article" if date else "website",
            path,
            title,
            description,
            self._site_name,
            self._site_url,
            page.canonical_url or "",
            date,
            _names(getattr(page, "authors", None) or meta.get("authors") or meta.get("author")),
            _names(meta.get("tags")),
            _names(getattr(page, "categories", None) or meta.get("categories")),
            self.logo,
            self._options(template, social.get("options")),
        )

    def _options(self, template: Template, page_options: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
        """A card's options: the theme's colour, then the plugin's, then the page's own."""
        if not page_options:  # most pages: the same for every page of a template
            known = self._site_options.get(template.digest)
            if known is not None:
                return known
        options: dict[str, object] = dict.fromkeys(template.theme_color, self.primary) if self.primary else {}
        options.update(self.settings.options)
        options.update(page_options or {})
        frozen = CardInput.options_from(options)
        if not page_options:
            self._site_options[template.digest] = frozen
        return frozen

    def _checked_front_matter(self, page: Page, social: Mapping[str, Any]) -> Mapping[str, Any]:
        social = dict(social)
        for key in list(social):
            if key not in FRONT_MATTER_KEYS:
                self._warn(page, f"unknown key social.{key} ignored; expected one of {', '.join(FRONT_MATTER_KEYS)}")
                del social[key]
        if "options" in social and not isinstance(social["options"], Mapping):
            self._warn(page, "social.options must be a mapping of option names to values; ignored")
            del social["options"]
        return social

    def _image_tags(self, page: Page, image: str, title: str, description: str, kind: str) -> CardTags | None:
        """Tags for a page's own picture: a URL as it is, or a file of the docs (never outside them)."""
        if re.match(r"^https?://", image):
            media = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif"}
            suffix = PurePosixPath(image.split("?", 1)[0]).suffix.lower()
            return CardTags(
                image, 0, 0, media.get(suffix, "image/png"), title, description, page.canonical_url or "", kind
            )
        docs = Path(self.config.docs_dir).resolve()
        relative = (
            image.lstrip("/") if image.startswith("/") else posixpath.join(posixpath.dirname(page.file.src_uri), image)
        )
        path = (docs / relative).resolve()
        if not path.is_relative_to(docs):
            self._warn(page, f"social.image {image!r} is outside the docs folder; drawing a card instead")
            return None
        from PIL import Image, UnidentifiedImageError  # only for pages that name their own picture

        try:
            with Image.open(path) as picture:
                width, height = picture.size
                media_type = Image.MIME.get(picture.format or "", "image/png")
        except (OSError, UnidentifiedImageError) as exc:
            self._warn(page, f"social.image {image!r} cannot be used ({exc}); drawing a card instead")
            return None
        url = self.site_url + quote(path.relative_to(docs).as_posix())
        return CardTags(url, width, height, media_type, title, description, page.canonical_url or "", kind)

    def _target(self, data: _PageData, key: str) -> str | None:
        """Where a page's card goes in the site, given its key (None: only into the cache)."""
        return self._placed_at(self._site_path(data, key))

    def _site_path(self, data: _PageData, key: str) -> str:
        """A page's card's path in the site: after the page, or after ``key`` when cards are named by it."""
        return data.path or self._card_path(data.ref, key)

    def _placed_at(self, path: str) -> str | None:
        """The file of the card at ``path`` in the site (None: only into the cache)."""
        return None if self.site_dir is None else f"{self.site_dir}/{path}"

    def _card_path(self, ref: str, key: str) -> str:
        name = f"{key}{self._suffix}" if self._by_key else _stem(ref) + self._suffix
        return f"{self.settings.cards_dir}/{name}"

    # --- the batch -------------------------------------------------------------------

    def add(self, page: Page) -> None:
        """Take a page as MkDocs reads it.

        Its card is worked out in :meth:`run`, all at once with the collector paused
        (done page by page while MkDocs reads, the same work made the collector's
        passes over the whole build cost 0.4 s more at 10,000 pages); or at once, after
        :meth:`stream`, so that it is drawn while MkDocs reads the other pages.

        Raises:
            SocialCardsError: after :meth:`stream`, with ``strict``, a front-matter
                problem on the page or a card that cannot be made.
        """
        self._pages.append(page)
        if self.streaming and self._batch is not None:
            data = self._take(page)
            if data is not None:
                self._batch.feed(self._request_for(data.ref))

    def stream(self, store: Store, pool: RenderPool) -> None:
        """Make each card as its page is added, for a build that will draw every card anyway.

        A first build (an empty cache) draws while MkDocs reads the rest of the pages,
        instead of leaving the other core idle until every page is read.
        """
        self._batch = Batch(store, pool, strict=self.settings.strict, on_card=self._tag)
        self._batch.start()
        self.streaming = True

    def _take(self, page: Page) -> _PageData | None:
        """Note the card ``page`` wants (and return it), or the tags of its own picture."""
        data = self.page_data(page)
        if isinstance(data, CardTags):
            if self.tagging:
                self._set_tags(page.file.src_uri, data)
        elif data is not None:
            self._wanted[data.ref] = data
            return data
        return None

    def _tag(self, result: CardResult) -> None:
        """The tags of a page whose card is known."""
        data = self._wanted[result.ref]
        self._tags_of(data, self._site_path(data, result.key), result.width, result.height)

    def _tags_of(self, data: _PageData, path: str, width: int, height: int) -> None:
        """The tags of a page whose card is at ``path`` in the site."""
        if not self.tagging:
            return
        title = clean_text(data.title)
        tags = CardTags(
            self.site_url + (path if _URL_SAFE.fullmatch(path) else quote(path)),
            width,
            height,
            self._media_type,
            title,
            self._clean_description(data.description) or title,
            data.page_url,
            data.kind,
        )
        self._set_tags(data.ref, tags)

    def _set_tags(self, ref: str, tags: CardTags) -> None:
        # The lines are made here, in one loop over every page for a warm build: made as each page
        # is rendered, between two renders of the theme, they cost 5.6 against 0.8 us a page.
        self.tags[ref] = tags
        self.blocks[ref] = tag_lines(tags)  # after the tags: a template that finds the lines finds them

    def _clean_description(self, description: str) -> str:
        if description is self._site_description:  # most pages without a description of their own
            return self._site_description_clean
        return clean_text(description) if description else ""

    def _request(self, data: _PageData, fingerprint: str | None) -> CardRequest:
        return CardRequest(data.ref, _resolver(data, self.settings), fingerprint, partial(self._target, data))

    def _request_for(self, ref: str) -> CardRequest:
        data = self._wanted[ref]
        return self._request(data, data.fingerprint(data))

    def _start_later(self, batch: Batch, store: Store) -> None:
        """Start a batch that finishes while pages are written (see :meth:`run`).

        Pages whose key the store recalls by fingerprint (every page of a warm build)
        get their tags here and go to the batch as plain tuples; only the others
        become requests (a request, a pending card and a result per page made a warm
        10,000-page build's plugin time 0.70 s against 0.60 s without them).
        """
        wanted = list(self._wanted.values())
        fingerprints = [data.fingerprint(data) for data in wanted]
        known = store.recall(fp for fp in fingerprints if fp is not None)
        batch.start(LOOKUP_CHUNK)
        recalled: list[Recalled] = []
        for data, fingerprint in zip(wanted, fingerprints, strict=True):
            hit = known.get(fingerprint) if fingerprint is not None else None
            if hit is None:
                batch.feed(self._request(data, fingerprint))
                continue
            key, width, height = hit
            path = self._site_path(data, key)  # once, for both the file and the tags
            recalled.append((data.ref, key, width, height, self._placed_at(path)))
            self._tags_of(data, path, width, height)
        batch.serve_recalled(recalled, self._request_for)
        batch.end_input()

    def run(
        self,
        store: Store,
        pool: RenderPool,
        progress: Callable[[BatchReport], None] | None = None,
        *,
        later: bool = False,
    ) -> BatchReport:
        """Make the cards of the pages added; fills :attr:`tags` for every page that has one.

        With ``later``, cached cards are placed by a helper process and the others drawn
        by the pool while the build writes pages; :meth:`finish` waits for them, and takes
        the tags out of pages whose card could not be made after all. The warnings are
        complete once the batch is finished.

        Raises:
            SocialCardsError: with ``strict``, a front-matter problem on a page, or the
                first page whose card cannot be made.
        """
        if self.streaming and self._batch is not None:
            self._pages_written = True
            return self._batch.end_input()
        batch = self._batch = Batch(store, pool, strict=self.settings.strict, progress=progress, on_card=self._tag)
        # By now MkDocs holds every page in memory; the collector's passes over all of it cost
        # more than the batch's own work (about half the warm time at 10,000 pages).
        with collector_paused():
            for page in self._pages:
                self._take(page)
            if later:
                self._start_later(batch, store)
            else:
                batch.run(map(self._request_for, self._wanted))
            self._pages_written = later  # by finish(), MkDocs has written them with their tags
        return batch.report if later else self.finish()

    def finish(self) -> BatchReport:
        """Wait for cards still being placed, draw any the cache failed to serve, gather the warnings.

        Raises:
            SocialCardsError: with ``strict``, the first page whose card cannot be made.
        """
        if self._batch is None:
            return BatchReport()
        report = self._batch.finish()
        self._batch = None
        if self._pages_written:
            self._untag({error.ref for error in report.errors})
        by_reason: dict[str, list[str]] = {}
        for error in report.errors:
            by_reason.setdefault(error.reason, []).append(error.ref)
        for reason, refs in by_reason.items():
            if len(refs) <= _WARNINGS_PER_REASON:
                self.warnings.extend(f"{ref}: no card: {reason}" for ref in refs)
            else:  # one cause (say, no cairo library) should not bury the log under a line per page
                shown = ", ".join(refs[:_WARNINGS_PER_REASON])
                self.warnings.append(f"{len(refs)} pages have no card ({shown}, ...): {reason}")
        return report

    def _untag(self, refs: set[str]) -> None:
        """Take the tags out of pages already written with a card that could not be made."""
        if not refs:
            return
        for page in self._pages:
            if page.file.src_uri not in refs:
                continue
            tags = self.tags.pop(page.file.src_uri, None)
            self.blocks.pop(page.file.src_uri, None)
            path = Path(page.file.abs_dest_path)
            if tags is not None and path.is_file():
                written = path.read_text(encoding="utf-8")
                path.write_text(remove_tags(written, tags), encoding="utf-8")

    def cancel(self) -> None:
        """Stop drawing and placing cards (the build failed)."""
        if self._batch is not None:
            self._batch.cancel()
            self._batch = None


def _resolver(data: _PageData, settings: Settings) -> Callable[[], CardSpec]:
    def resolve() -> CardSpec:
        return data.template.resolve(
            data.card(),
            output=settings.output,
            fonts=settings.fonts,
            strict=settings.strict,
            system_fonts=settings.system_fonts,
        )

    return resolve


def _stem(ref: str) -> str:
    """``posixpath.splitext(ref)[0]``, without its cost for the usual ``.md`` page."""
    if ref.endswith(".md") and len(ref) > 3 and ref[-4] not in "/.":
        return ref[:-3]
    return posixpath.splitext(ref)[0]


def _front_matter(page: Page) -> Mapping[str, Any]:
    social = page.meta.get("social")
    if social is None:
        return _NO_FRONT_MATTER
    return social if isinstance(social, Mapping) else _NO_FRONT_MATTER


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _names(value: object) -> tuple[str, ...]:
    """Names from a string, a list, or objects with a ``name`` or ``title`` (Material's authors, categories)."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        # A plain string first: str has a title() method, which would stand in for the name.
        name = item if isinstance(item, str) else getattr(item, "name", None) or getattr(item, "title", None) or item
        if isinstance(name, (str, int, float)) and str(name).strip():
            out.append(str(name).strip())
    return tuple(out)


def _date(page: Page) -> str:
    """A post's date as text: Material's blog date, or a ``date`` in the front matter."""
    value: object = None
    config = getattr(page, "config", None)
    date = getattr(config, "date", None)
    if date is not None:
        value = getattr(date, "created", None) or date
    if value is None:
        value = page.meta.get("date")
        if value is None:  # most pages
            return ""
    if isinstance(value, Mapping):
        value = value.get("created")
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%B} {value.day}, {value.year}"
    return _text(value) if isinstance(value, str) else ""


def _glob(pattern: str) -> re.Pattern[str]:
    """A glob on source paths: ``*`` and ``?`` stay within a folder, ``**/`` spans folders."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def check_cards_dir(value: str) -> str:
    """``cards_dir`` as a clean relative folder inside the site.

    Raises:
        SocialCardsError: an absolute path, or one that climbs out of the site.
    """
    path = PurePosixPath(value.replace("\\", "/").strip("/"))
    if value.startswith(("/", "\\")) or ".." in path.parts or re.match(r"^[A-Za-z]:", value) or not path.parts:
        raise SocialCardsError(
            f"cards_dir must be a folder inside the site such as 'assets/images/social', got {value!r}"
        )
    return path.as_posix()
