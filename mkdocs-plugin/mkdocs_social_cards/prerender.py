"""``social-cards render mkdocs.yml``: the cards a build would make, made ahead of it.

The site is built as ``mkdocs build`` builds it (every plugin runs, so blog posts and
archive pages are there), into a scratch folder that is then deleted; the plugin makes
the cards with the caller's cache and pool, under its own keys, and writes no tags.
The library finds this through the ``social_cards.sources`` entry point.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException

from social_cards import SocialCardsError
from social_cards.pipeline import Report
from social_cards.pool import RenderPool
from social_cards.store import Store

from .config import settings_from
from .plugin import PrerenderJob, SocialCardsPlugin

__all__ = ["Prerender", "open_config"]


def open_config(path: Path) -> Prerender | None:
    """The site an ``mkdocs.yml`` configures; None for a file that is not YAML."""
    return Prerender(path) if path.suffix.lower() in (".yml", ".yaml") else None


class Prerender:
    """A site's cards, from its ``mkdocs.yml``.

    Raises:
        SocialCardsError: the file is not a valid MkDocs configuration with the plugin on.
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
        if not (plugin.config.enabled and plugin.config.cards):
            raise SocialCardsError(f"{config_file} turns the social-cards plugin off (enabled: false)")
        self.plugin = plugin
        settings = settings_from(plugin.config, config_file.resolve().parent)
        self.cache_dir, self.workers = settings.cache_dir, settings.workers
        self.remote_cache, self.remote_cache_mode = settings.remote_cache, settings.remote_cache_mode

    def run(
        self,
        store: Store,
        pool: RenderPool,
        *,
        out_dir: Path | None = None,
        strict: bool = False,
        progress: Callable[[Report], None] | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Report:
        """Make the cards (of slice ``shard``); with ``out_dir``, also write each under its path in the site.

        Raises:
            SocialCardsError: the site cannot be built, or (strict) a card cannot be made.
        """
        job = self.plugin.prerender = PrerenderJob(store, pool, out_dir, strict, progress, shard=shard)
        self.config.plugins.on_startup(command="build", dirty=False)
        try:
            with tempfile.TemporaryDirectory(prefix="social-cards-") as scratch:
                self.config.site_dir = scratch  # the build cleans its site folder: never the real one
                build(self.config)
        except MkDocsException as exc:
            raise SocialCardsError(f"{self.config_file}: {exc}") from None
        finally:
            self.plugin.prerender = None
            self.config.plugins.on_shutdown()
        if job.report is None:
            raise SocialCardsError(f"{self.config_file}: the build ended before its cards were made")
        return job.report
