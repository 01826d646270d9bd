"""MkDocs hooks: each page's card is started as the page is read, and its tags added as it is written.

As MkDocs reads each page (``on_page_content``), its card is recalled from the
cache and placed in the site, or handed to the pool to draw while MkDocs goes on.
As each page is written (``on_post_page``), its tags go in before its ``</head>``,
once its card exists; ``on_post_build`` waits for the rest and logs the summary.
The work lives in :mod:`.site` and the ``social_cards`` library.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from social_cards import SocialCardsError
from social_cards.pipeline import Pipeline, Report
from social_cards.pool import RenderPool
from social_cards.shared import open_shared
from social_cards.store import Store
from social_cards.tags import insert_tags

from .config import PluginConfig, settings_from
from .site import SiteCards

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
    progress: Callable[[Report], None] | None = None
    report: Report | None = None
    shard: tuple[int, int] | None = None


class _Forward(logging.Handler):
    """Warnings of the library (a broken cache, a missing glyph) shown as this plugin's."""

    def emit(self, record: logging.LogRecord) -> None:
        log.log(record.levelno, "social-cards: %s", record.getMessage())


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
        self._spent = 0.0
        if not (self.config.enabled and self.config.cards):
            return config
        with self._timed():
            base = Path(config.config_file_path).resolve().parent if config.config_file_path else Path.cwd()
            settings = settings_from(self.config, base)
            job = self.prerender
            if job is None:
                library = logging.getLogger("social_cards")
                if not any(isinstance(h, _Forward) for h in library.handlers):
                    library.addHandler(_Forward(logging.WARNING))
                    library.propagate = False
                if not config.site_url:
                    log.warning("social-cards: site_url is not set: cards are made, but no tags (they need it)")
                self._store = Store(settings.cache_dir, quiet=True)  # the build recovers: said at INFO
                self._store.shared = open_shared(settings.remote_cache, settings.remote_cache_mode)
                self._pool = self._pool or RenderPool(settings.workers)
                pipeline = Pipeline(self._store, self._pool, strict=settings.strict)
                out_dir: Path | None = Path(config.site_dir)
                tagging = bool(config.site_url)
            else:
                if job.strict:
                    settings = dataclasses.replace(settings, render=dataclasses.replace(settings.render, strict=True))
                pipeline = Pipeline(job.store, job.pool, strict=settings.strict, progress=job.progress, shard=job.shard)
                out_dir, tagging = job.out_dir, False
            self._site = SiteCards(settings, config, pipeline, out_dir=out_dir, tagging=tagging)
        return config

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files | None:
        if self._site is not None:
            self._site.docs_files = {file.dest_uri for file in files if not file.is_documentation_page()}
        return files

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

    @event_priority(100)  # first, so other plugins' post-build steps find every card in place
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        site = self._site
        if site is None:
            return
        with self._timed():
            report = site.pipeline.finish()
        self._close()
        for warning in [*site.warnings, *report.error_lines()]:
            log.warning("social-cards: %s", warning)
        if self.prerender is not None:
            self.prerender.report = report
            return
        if report.damaged:
            log.info(f"social-cards: {report.damaged} damaged cache entries were dropped and drawn again")
        if site.pipeline.store.warning:
            log.info(f"social-cards: {site.pipeline.store.warning}")
        made = report.cached + report.drawn
        shared = f", {report.remote} of them shared" if report.remote else ""
        log.info(
            f"social-cards: {made} cards ({report.cached} cached{shared}, {report.drawn} drawn) in {self._spent:.2f} s"
        )

    def on_build_error(self, *, error: Exception) -> None:
        if self._site is not None:
            self._site.pipeline.cancel()
        self._close()

    def on_shutdown(self) -> None:
        self._close()
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        """Count the time spent inside for the summary; what the library raises becomes MkDocs' kind of error."""
        started = time.perf_counter()
        try:
            yield
        except SocialCardsError as exc:
            self._close()
            raise PluginError(f"social-cards: {exc}") from None
        finally:
            self._spent += time.perf_counter() - started

    def _close(self) -> None:
        """Let go of this build's cards and close its cache; the pool stays for the next `mkdocs serve` build."""
        self._site = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if not self._serving and self._pool is not None:
            self._pool.close()
            self._pool = None
