"""MkDocs hooks: collect pages, make every card in one batch, add the meta tags.

Pages are gathered as MkDocs reads them; once every page is read (``on_env``,
before any page is written) all cards go through one batch: one pass of
lookups, after which every card's key and size are known. While MkDocs writes
the pages (on one core), the misses are drawn in a process pool and the cached
cards verified and linked into the site by a helper process. The theme's
templates pass each page's head through a filter that adds the tags it lacks, as
MkDocs renders the page (a theme without a head to filter gets them in
``on_post_page``). ``on_post_build`` waits for the pool and the helper, draws any
card the cache failed to serve, takes the tags out of any page whose card could
not be made, and logs the summary. From ``on_env`` to ``on_post_build`` the objects
alive once every page is read are frozen out of the collector's passes. The work lives in
:mod:`mkdocs_social_cards.cards` and the ``social_cards`` library.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from social_cards import OutputFormat, SocialCardsError
from social_cards.batch import BatchReport
from social_cards.collector import collector_paused
from social_cards.pool import RenderPool
from social_cards.store import CACHE_DIR_ENV, DEFAULT_CACHE_DIR, Store

from .cards import Settings, SiteCards, check_cards_dir
from .tags import head_with_tags, insert_tags, write_tags_in_heads

__all__ = ["PrerenderJob", "Prerendered", "SocialCardsPlugin", "settings_from"]

# MkDocs' plugin logger would prefix "[social-cards]"; the build summary has a fixed form instead.
log = logging.getLogger("mkdocs.plugins.social_cards")


class _PluginConfig(Config):  # type: ignore[no-untyped-call]
    enabled = c.Type(bool, default=True)
    """Set to false to build without cards (for example in a quick local preview)."""
    template = c.Type(str, default="default")
    """A built-in template name (`social-cards templates` lists them), or a template folder relative to mkdocs.yml."""
    options = c.Type(dict, default={})
    """Template options such as colours, for every page (a page's `social: options` wins)."""
    fonts = c.ListOfItems(c.Type(str), default=[])
    """Extra fallback font files, relative to mkdocs.yml, tried after the bundled fonts."""
    system_fonts = c.Type(bool, default=True)
    """Let installed fonts (emoji, CJK, ...) draw characters the template's fonts lack."""
    logo = c.Optional(c.Type(str))
    """A logo file relative to mkdocs.yml (default: the theme's logo)."""
    cache_dir = c.Optional(c.Type(str))
    """The card cache, relative to mkdocs.yml (default: $SOCIAL_CARDS_CACHE_DIR, else .cache/social-cards)."""
    cards_dir = c.Type(str, default="assets/images/social")
    """Where cards go inside the site."""
    card_names = c.Choice(("page", "hash"), default="page")
    """`page`: a card is named after its page (posts/foo.png); `hash`: after its content key, for cache-busting."""
    include = c.ListOfItems(c.Type(str), default=[])
    """Globs on page source paths (`blog/**`); when given, only matching pages get cards."""
    exclude = c.ListOfItems(c.Type(str), default=[])
    """Globs on page source paths that get no card (`drafts/**`, `**/index.md`)."""
    format = c.Choice(("png", "jpeg", "webp"), default="png")
    """The card file format."""
    workers = c.Optional(c.Type(int))
    """Processes drawing cards (default: all cores)."""
    strict = c.Type(bool, default=False)
    """Fail the build when a card cannot be made (default: warn, leave that page without a card, go on)."""


def settings_from(options: _PluginConfig | dict[str, Any], base: Path) -> tuple[Settings, Path, int | None]:
    """The checked settings, the cache folder and the worker count of a plugin configuration.

    Raises:
        SocialCardsError: an option is out of range or names a missing file.
    """
    get = options.get
    workers = get("workers")
    if workers is not None and workers < 1:
        raise SocialCardsError(f"workers must be 1 or more, got {workers}")
    fonts = tuple((base / str(f)).resolve() for f in get("fonts") or [])
    for font in fonts:
        if not font.is_file():
            raise SocialCardsError(f"fonts: {font} is not a file (paths are relative to mkdocs.yml)")
    logo = (base / str(get("logo"))).resolve() if get("logo") else None
    if logo is not None and not logo.is_file():
        raise SocialCardsError(f"logo: {logo} is not a file (paths are relative to mkdocs.yml)")
    options_value = get("options") or {}
    bad = [k for k, v in options_value.items() if isinstance(v, (dict, list))]
    if bad:
        raise SocialCardsError(f"options: {', '.join(map(str, bad))} must be plain values (text, numbers, colours)")
    cache = get("cache_dir") or os.environ.get(CACHE_DIR_ENV)
    cache_dir = (base / Path(str(cache)).expanduser()) if cache else base / DEFAULT_CACHE_DIR
    settings = Settings(
        base=base,
        template=str(get("template") or "default"),
        options=dict(options_value),
        fonts=fonts,
        cards_dir=check_cards_dir(str(get("cards_dir") or "assets/images/social")),
        card_names=str(get("card_names") or "page"),
        include=tuple(get("include") or ()),
        exclude=tuple(get("exclude") or ()),
        output=OutputFormat.named(str(get("format") or "png")),
        strict=bool(get("strict")),
        system_fonts=get("system_fonts") is not False,
        logo=logo,
    )
    return settings, cache_dir, workers


@dataclass(frozen=True, slots=True)
class PrerenderJob:
    """Set on the plugin by ``social-cards render mkdocs.yml``: use these, then stop the build."""

    store: Store
    pool: RenderPool
    out_dir: Path | None
    strict: bool
    progress: Callable[[BatchReport], None] | None


class Prerendered(Exception):
    """Raised once a pre-render has made its cards, to end the build before it writes pages."""

    def __init__(self, report: BatchReport) -> None:
        super().__init__("cards pre-rendered")
        self.report = report


class _Forward(logging.Handler):
    """Warnings of the library (a broken cache, a missing glyph) shown as this plugin's."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "social-cards: %s", record.getMessage())


def _forward_library_logs() -> None:
    library = logging.getLogger("social_cards")
    if not any(isinstance(h, _Forward) for h in library.handlers):
        library.addHandler(_Forward(logging.WARNING))
        library.propagate = False


class SocialCardsPlugin(BasePlugin[_PluginConfig]):  # type: ignore[no-untyped-call]
    """A social card for every page, and the Open Graph and Twitter tags that show it."""

    def __init__(self) -> None:
        self._site: SiteCards | None = None
        self._cache_dir: Path | None = None
        self._workers: int | None = None
        self._pool: RenderPool | None = None
        self._store: Store | None = None
        self._headed: Page | None = None
        """The page whose head the theme's template last passed through :meth:`_tags_in_head`."""
        self._spent = 0.0
        self._serving = False
        self._froze = False
        """Whether this build froze the collector's objects (see :meth:`_freeze`)."""
        self.prerender: PrerenderJob | None = None

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        # Defining this hook keeps the plugin (and its pool) alive across `mkdocs serve` rebuilds.
        self._serving = command == "serve"

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        self._abandon()  # what an earlier `mkdocs serve` build left when it failed
        self._site = None
        self._headed = None
        self._spent = 0.0
        started = time.perf_counter()
        if not self.config.enabled:
            return config
        base = Path(config.config_file_path).resolve().parent if config.config_file_path else Path.cwd()
        try:
            settings, self._cache_dir, self._workers = settings_from(self.config, base)
            if self.prerender is not None and self.prerender.strict:
                settings = dataclasses.replace(settings, strict=True)
            self._site = SiteCards(settings, config)
        except SocialCardsError as exc:
            raise PluginError(f"social-cards: {exc}") from None
        # A site's builds (and its pre-renders) share a memo: a warm build then looks nothing up.
        memo = f"mkdocs {base / Path(config.config_file_path or 'mkdocs.yml').name}"
        if self.prerender is not None:
            self._site.site_dir = self.prerender.out_dir
            self._site.tagging = False  # it stops before writing pages
            self.prerender.store.use_memo(memo)
        else:
            _forward_library_logs()
        if not config.site_url and self.prerender is None:
            log.warning("social-cards: site_url is not set: cards are made, but no meta tags (they need absolute URLs)")
        if self.prerender is None:
            store = self._store = Store(self._cache_dir)
            store.use_memo(memo)
            if store.empty:
                # A first build draws every card: the workers load the drawing code on the
                # other core while MkDocs reads the pages on this one, then draw them as read.
                pool = self._pool_for(self._cache_dir if store.enabled else None, store.build_id)
                pool.start()
                self._site.stream(store, pool)
        self._spent = time.perf_counter() - started
        return config

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        site = self._site
        if site is None:
            return html
        if not site.streaming:  # the page is only noted: timing that would cost more than it does
            site.add(page)
            return html
        started = time.perf_counter()
        try:
            site.add(page)
        except SocialCardsError as exc:
            self._abandon()
            raise PluginError(f"social-cards: {exc}") from None
        self._spent += time.perf_counter() - started
        return html

    def on_env(self, env: Any, /, *, config: MkDocsConfig, files: Files) -> Any:
        if self._site is None or self._cache_dir is None:
            return env
        if self.prerender is not None:
            job = self.prerender
            try:
                report = self._site.run(job.store, job.pool, progress=job.progress)
            except SocialCardsError as exc:
                raise PluginError(str(exc)) from None
            raise Prerendered(report)
        started = time.perf_counter()
        store = self._store
        if store is None:
            return env
        pool = self._pool_for(self._cache_dir if store.enabled else None, store.build_id)
        # Paused through the batch's start and on to the freeze: resumed in between, the
        # collector's first pass walked every object the batch had just made (10-15 ms at
        # 10,000 pages), all of which the freeze then leaves alone anyway.
        try:
            with collector_paused() as collecting:
                self._site.run(store, pool, later=True)
                # A first build's tags come as its cards are drawn, so not only if some are known yet.
                if self._site.tagging:
                    write_tags_in_heads(env, self._tags_in_head)
                if collecting:
                    self._freeze()
        except SocialCardsError as exc:
            self._abandon()
            raise PluginError(f"social-cards: {exc}") from None
        self._spent += time.perf_counter() - started
        return env

    def _freeze(self) -> None:
        """Leave every object alive now out of the collector's passes until the build ends.

        Once every page is read, what the build holds (the pages and their content, the
        theme, each page's card and tags) stays alive until it ends, so a full collection
        while pages are written walks all of it only to find it alive: 80-100 ms, once or
        more a 10,000-page build. Objects made later are collected as before. :meth:`_unfreeze`
        undoes it when the build ends or fails; nothing is frozen when something else has
        frozen objects already. Called only when the collector is on (it is paused here).
        """
        if not gc.get_freeze_count():
            gc.freeze()
            self._froze = True

    def _unfreeze(self) -> None:
        if self._froze:
            self._froze = False
            gc.unfreeze()

    def _tags_in_head(self, head: str, page: object) -> str:
        """``page``'s head, as its template rendered it, with the tags it lacks (see on_post_page)."""
        site = self._site
        if site is None or not isinstance(page, Page):
            return head
        started = time.perf_counter()
        ref = page.file.src_uri
        block = site.blocks.get(ref)  # made with the tags, before any page is written
        if block is None:
            return head
        head = head_with_tags(head, site.tags[ref], block)
        self._headed = page
        self._spent += time.perf_counter() - started
        return head

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        headed, self._headed = self._headed, None
        if headed is page:  # its template tagged its head
            return output
        site = self._site
        tags = site.tags.get(page.file.src_uri) if site is not None else None
        if site is None or tags is None:
            return output
        started = time.perf_counter()
        output = insert_tags(output, tags, site.blocks.get(page.file.src_uri))  # its lines, made with the tags
        self._spent += time.perf_counter() - started
        return output

    @event_priority(100)  # first, so other plugins' post-build steps find every card in place
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        self._unfreeze()
        if self._site is None or self._store is None:
            return
        started = time.perf_counter()
        try:
            report = self._site.finish()
        except SocialCardsError as exc:
            raise PluginError(f"social-cards: {exc}") from None
        finally:
            self._abandon()  # the batch is over either way: close the cache and the pool
        for warning in self._site.warnings:
            log.warning("social-cards: %s", warning)
        # MkDocs keeps every plugin until the process ends: held here, the build's pages would be
        # freed only as the interpreter shuts down, which made that 0.4 s longer at 10,000 pages.
        self._site = None
        made = report.cached + report.drawn
        spent = self._spent + time.perf_counter() - started
        log.info(f"social-cards: {made} cards ({report.cached} cached, {report.drawn} drawn) in {spent:.2f} s")

    def on_build_error(self, *, error: Exception) -> None:
        self._abandon()

    def on_shutdown(self) -> None:
        self._abandon()
        self._close_pool()

    def _abandon(self) -> None:
        """Stop placing cards, close the cache and (unless serving) the pool; unfreeze the collector's objects."""
        self._unfreeze()
        if self._site is not None:
            self._site.cancel()
        if self._store is not None:
            self._store.close()
            self._store = None
        if not self._serving:
            self._close_pool()

    def _pool_for(self, cache_dir: Path | None, build_id: str) -> RenderPool:
        if self._pool is None or self._pool.cache_dir != cache_dir:
            self._close_pool()
            self._pool = RenderPool(cache_dir, self._workers, build_id=build_id)
        return self._pool

    def _close_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
