"""Where card requests come from: a JSON Lines file (:mod:`.jsonl`), or a site a plugin reads.

A package that knows how to read a kind of site (the MkDocs plugin reads an
``mkdocs.yml``) registers an opener under the ``social_cards.sources`` entry point
group: a callable that takes a file and returns a :class:`SiteSource` for it, or
None when the file is not its kind. ``social-cards render FILE`` asks each in turn,
so this library never imports a plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..pipeline import Report
    from ..pool import RenderPool
    from ..store import Store

__all__ = ["ENTRY_POINT_GROUP", "SiteSource", "open_site"]

ENTRY_POINT_GROUP = "social_cards.sources"


class SiteSource(Protocol):
    """A site whose cards can be made ahead of its build, with the keys its build will use."""

    @property
    def cache_dir(self) -> Path:
        """The cache folder the site's configuration names."""

    @property
    def workers(self) -> int | None:
        """The drawing processes the site's configuration asks for."""

    @property
    def remote_cache(self) -> str | None:
        """The shared tier's URL the site's configuration names."""

    @property
    def remote_cache_mode(self) -> str:
        """``read-write`` or ``read``."""

    def run(
        self,
        store: Store,
        pool: RenderPool,
        *,
        out_dir: Path | None,
        strict: bool,
        progress: Callable[[Report], None] | None,
        shard: tuple[int, int] | None = None,
    ) -> Report:
        """Make the site's cards into ``store`` (and under ``out_dir``, at their paths in the site).

        ``shard`` ``(k, n)``: only slice ``k`` of ``n`` (see :func:`social_cards.pipeline.in_shard`).
        """


def open_site(path: Path) -> SiteSource | None:
    """The site ``path`` configures, from the first registered opener that knows its kind.

    Raises:
        SocialCardsError: an opener knows the kind, but the file is not usable.
    """
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        opener: Callable[[Path], SiteSource | None] = entry.load()
        site = opener(path)
        if site is not None:
            return site
    return None
