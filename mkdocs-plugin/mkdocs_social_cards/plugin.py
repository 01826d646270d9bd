"""MkDocs hooks: each page's card is started as the page is read, and its tags added as it is written.

As MkDocs reads each page (``on_page_content``), its card is recalled from the
cache and placed in the site, or handed to the pool to draw while MkDocs goes on.
As each page is written (``on_post_page``), its tags go in before its ``</head>``,
once its card exists; ``on_post_build`` waits for the rest and logs the summary.
The work lives in :mod:`.site` and the ``social_cards`` library.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from social_cards import SocialCardsError
from social_cards.pipeline import Report
from social_cards.pool import RenderPool
from social_cards.store import Store

from .config import PluginConfig, settings_from
from .site import SiteCards, strict_settings
from .tags import insert_tags

__all__ = ["PrerenderJob", "SocialCardsPlugin"]

# MkDocs' plugin logger would prefix "[social-cards]"; the build summary has a fixed form instead.
log = logging.getLogger("mkdocs.plugins.social_cards")


@dataclass(slots=True)
class PrerenderJob:
    """Set on the plugin by ``social-cards render mkdocs.yml``: make the cards with these, write no tags."""

    store: Store
    pool: RenderPool
    out_dir: Path | None
    strict: bool
    progress: object = None
    report: Report | None = None


class _Forward(logging.Handler):
    """Warnings of the library (a broken cache, a missing glyph) shown as this plugin's."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "social-cards: %s", record.getMessage())


def _forward_library_logs() -> None:
    library = logging.getLogger("social_cards")
    if not any(isinstance(h, _Forward) for h in library.handlers):
        library.addHandler(_Forward(logging.WARNING))
        library.propagate = False


class SocialCardsPlugin(BasePlugin[PluginConfig]):  # type: ignore[no-untyped-call]
    """A social card for every page, and the Open Graph and Twitter tags that show it."""

    def __init__(self) -> None:
        self._site: SiteCards | None = None
        self._store: Store | None = None
        self._pool: RenderPool | None = None
        self._serving = False
        self._spent = 0.0
        """Time spent in this build's hooks, for the summary."""
        self.prerender: PrerenderJob | None = None

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        # Defining this hook keeps the plugin (and its pool) alive across `mkdocs serve` rebuilds.
        self._serving = command == "serve"

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        self._close()  # what an earlier `mkdocs serve` build left when it failed
        if not self.config.enabled:
            return config
        started = time.perf_counter()
        base = Path(config.config_file_path).resolve().parent if config.config_file_path else Path.cwd()
        job = self.prerender
        try:
            settings = settings_from(self.config, base)
            if job is not None:
                settings = strict_settings(settings) if job.strict else settings
                self._site = SiteCards.open(
                    settings, config, job.store, job.pool, out_dir=job.out_dir, tagging=False, progress=job.progress
                )
                return config
            _forward_library_logs()
            if not config.site_url:
                log.warning(
                    "social-cards: site_url is not set: cards are made, but no meta tags (they need absolute URLs)"
                )
            self._store = Store(settings.cache_dir)
            if self._pool is None:
                self._pool = RenderPool(settings.workers)
            self._site = SiteCards.open(
                settings, config, self._store, self._pool, out_dir=Path(config.site_dir), tagging=bool(config.site_url)
            )
        except SocialCardsError as exc:
            self._close()
            raise PluginError(f"social-cards: {exc}") from None
        finally:
            self._spent = time.perf_counter() - started
        return config

    def on_page_content(self, html: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str | None:
        if self._site is not None:
            with self._timed():
                self._site.add(page)
        return html

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if self._site is None:
            return output
        with self._timed():
            tags = self._site.tags(page)
            return output if tags is None else insert_tags(output, tags)

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        """Count the time spent inside for the summary; a card that cannot be made is MkDocs' kind of error."""
        started = time.perf_counter()
        try:
            yield
        except SocialCardsError as exc:
            raise PluginError(f"social-cards: {exc}") from None
        finally:
            self._spent += time.perf_counter() - started

    @event_priority(100)  # first, so other plugins' post-build steps find every card in place
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        site = self._site
        if site is None:
            return
        try:
            with self._timed():
                report = site.finish()
        finally:
            self._close()
        for warning in site.warnings:
            log.warning("social-cards: %s", warning)
        if self.prerender is not None:
            self.prerender.report = report
            return
        if report.damaged:
            log.info(f"social-cards: {report.damaged} damaged cache entries were dropped and drawn again")
        made = report.cached + report.drawn
        log.info(f"social-cards: {made} cards ({report.cached} cached, {report.drawn} drawn) in {self._spent:.2f} s")

    def on_build_error(self, *, error: Exception) -> None:
        if self._site is not None:
            self._site.cancel()
        self._close()

    def on_shutdown(self) -> None:
        self._close()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _close(self) -> None:
        """Let go of this build's cards and close its cache; the pool stays for the next `mkdocs serve` build."""
        self._site = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if not self._serving and self._pool is not None:
            self._pool.close()
            self._pool = None
