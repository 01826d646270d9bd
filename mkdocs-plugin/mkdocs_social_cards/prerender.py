"""``social-cards render mkdocs.yml``: the cards a build would make, made ahead of it.

MkDocs reads the site exactly as ``mkdocs build`` does (every plugin runs, so blog
posts and archive pages are there), into a throwaway site folder; once every page
is read, the plugin hands its cards to the caller's store and pool instead of its
own, and the build stops before writing pages. The keys are the plugin's own, so
the next ``mkdocs build`` finds every card cached.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from social_cards import SocialCardsError
from social_cards.batch import BatchReport
from social_cards.pool import RenderPool
from social_cards.store import Store

from .plugin import Prerendered, PrerenderJob, SocialCardsPlugin, settings_from

__all__ = ["Prerender"]


class Prerender:
    """A site's cards, from its ``mkdocs.yml``.

    Raises:
        SocialCardsError: the file is not a valid MkDocs configuration, or does not use the plugin.
    """

    def __init__(self, config_file: Path) -> None:
        self.config_file = config_file
        try:
            self.config = load_config(str(config_file))
        except (MkDocsException, OSError, ValueError) as exc:
            raise SocialCardsError(f"{config_file}: not a usable MkDocs configuration: {exc}") from None
        plugin = next((p for p in self.config.plugins.values() if isinstance(p, SocialCardsPlugin)), None)
        if plugin is None:
            raise SocialCardsError(f"{config_file} does not use the social-cards plugin (add it under 'plugins:')")
        if not plugin.config.enabled:
            raise SocialCardsError(f"{config_file} turns the social-cards plugin off (enabled: false)")
        self.plugin = plugin
        _, self.cache_dir, self.workers = settings_from(plugin.config, config_file.resolve().parent)

    def run(
        self,
        store: Store,
        pool: RenderPool,
        *,
        out_dir: Path | None = None,
        strict: bool = False,
        progress: Callable[[BatchReport], None] | None = None,
    ) -> BatchReport:
        """Make the cards; with ``out_dir``, also write each under its path in the site.

        Raises:
            SocialCardsError: the site cannot be read, or (strict) a card cannot be made.
        """
        self.plugin.prerender = PrerenderJob(store, pool, out_dir, strict, progress)
        self.config.plugins.on_startup(command="build", dirty=False)
        try:
            with tempfile.TemporaryDirectory(prefix="social-cards-") as scratch:
                # The build cleans and writes its site folder: a scratch one, never the real site.
                self.config.site_dir = scratch
                build(self.config)
        except Prerendered as done:
            return done.report
        except MkDocsException as exc:
            raise SocialCardsError(f"{self.config_file}: {exc}") from None
        finally:
            self.plugin.prerender = None
            self.config.plugins.on_shutdown()
        raise SocialCardsError(f"{self.config_file}: the build ended before its pages were read")
