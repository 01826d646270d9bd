"""A site's cards for one build: each page's request as it is read, its tags as it is written.

:class:`SiteCards` holds what is the same for every page (templates, the theme's
logo and colour, where cards go) and hands each page's card to one
``social_cards.pipeline.Pipeline``. The plugin and ``social-cards render mkdocs.yml``
both use it, so both compute the same keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

from social_cards import CardInput, SocialCardsError, Template, clean_text, load_template
from social_cards.fonts import prefetch_system_fonts
from social_cards.pipeline import CardRequest, Pipeline, Report
from social_cards.pool import RenderPool
from social_cards.store import Store

from .config import Settings
from .pages import card_path, date_of, front_matter, glob, image_tags, names, own_image, text
from .tags import CardTags
from .theme import theme_defaults

__all__ = ["SiteCards"]

_WARNINGS_PER_REASON = 3


class SiteCards:
    """Cards for one build of one site.

    Args:
        settings: the plugin's checked options.
        config: the MkDocs configuration.
        pipeline: makes the cards.
        out_dir: where cards are placed (None: only into the cache).
        tagging: whether pages get tags (not without ``site_url``, nor in a pre-render).

    Raises:
        SocialCardsError: the configured template cannot be loaded.
    """

    def __init__(
        self, settings: Settings, config: MkDocsConfig, pipeline: Pipeline, *, out_dir: Path | None, tagging: bool
    ) -> None:
        if settings.render.system_fonts:
            prefetch_system_fonts()  # every key depends on them: fontconfig answers while pages are read
        self.settings = settings
        self.config = config
        self.pipeline = pipeline
        self.out_dir = out_dir
        self.tagging = tagging
        self.site_url = (config.site_url or "").rstrip("/") + "/" if config.site_url else ""
        self.warnings: list[str] = []
        self._templates: dict[str, Template] = {}
        self._template(settings.template)  # loaded now: a template that cannot be loaded stops the build here
        theme = theme_defaults(config)
        self.logo = settings.logo or theme.logo
        self.primary = theme.primary
        self._include = [glob(g) for g in settings.include]
        self._exclude = [glob(g) for g in settings.exclude]
        self._cards: dict[str, CardRequest] = {}
        self._kinds: dict[str, str] = {}
        self._own: dict[str, CardTags] = {}

    def _template(self, ref: str) -> Template:
        template = self._templates.get(ref)
        if template is None:
            local = self.settings.base / ref
            template = self._templates[ref] = load_template(local if local.is_dir() else ref)
        return template

    def _warn(self, ref: str, message: str) -> None:
        if self.settings.strict:
            raise SocialCardsError(f"{ref}: {message}")
        self.warnings.append(f"{ref}: {message}")

    def _wanted(self, ref: str) -> bool:
        if self._include and not any(match(ref) for match in self._include):
            return False
        return not any(match(ref) for match in self._exclude)

    def add(self, page: Page) -> None:
        """Start making ``page``'s card (drawn in the background when the cache lacks it).

        Raises:
            SocialCardsError: with ``strict``, a front-matter problem or a card that cannot be made.
        """
        request = self.request(page)
        if request is not None:
            self._cards[request.ref] = request
            self.pipeline.submit(request)

    def request(self, page: Page) -> CardRequest | None:
        """The card ``page`` asks for; None when it has none, or shows its own picture (its tags are kept).

        Raises:
            SocialCardsError: with ``strict``, a front-matter problem.
        """
        ref = page.file.src_uri
        if not self._wanted(ref):
            return None
        social = front_matter(page, lambda message: self._warn(ref, message))
        if social is None:
            return None
        config = self.config
        date = date_of(page)
        kind = "article" if date else "website"
        try:
            template = self._template(str(social.get("template", self.settings.template)))
        except SocialCardsError as exc:
            self._warn(ref, f"social.template: {exc}; using {self.settings.template!r}")
            template = self._template(self.settings.template)
        meta = page.meta
        card = CardInput(
            title=text(social.get("title")) or text(page.title) or config.site_name,
            description=(
                text(social.get("description")) or text(meta.get("description")) or text(config.site_description)
            ),
            site_name=config.site_name,
            site_url=config.site_url or "",
            page_url=page.canonical_url or "",
            date=date,
            authors=names(getattr(page, "authors", None) or meta.get("authors") or meta.get("author")),
            tags=names(meta.get("tags")),
            categories=names(getattr(page, "categories", None) or meta.get("categories")),
            logo=self.logo,
            options=self._options(template, social.get("options")),
        )
        if "image" in social:
            docs = Path(config.docs_dir)
            image = own_image(page, str(social["image"]), docs, self.site_url, lambda m: self._warn(ref, m))
            if image is not None:
                self._own[ref] = image_tags(card, kind, image)
                return None
        self._kinds[ref] = kind
        by_key = self.settings.card_names == "hash"
        suffix = self.settings.render.output.suffix
        out = self.out_dir
        if out is not None and by_key:
            out = out / self.settings.cards_dir
        name = None if by_key else card_path(self.settings.cards_dir, ref, suffix)
        return CardRequest(ref, template, card, self.settings.render, out, name)

    def _options(self, template: Template, page_options: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
        """A card's options: the theme's colour, then the plugin's, then the page's own."""
        options: dict[str, object] = dict.fromkeys(template.theme_color, self.primary) if self.primary else {}
        options.update(self.settings.options)
        options.update(page_options or {})
        return CardInput.options_from(options)

    def tags(self, page: Page) -> CardTags | None:
        """The tags of ``page``, once its card exists (waiting for it if it is being drawn); None: no tags.

        Raises:
            SocialCardsError: with ``strict``, a card that could not be made.
        """
        ref = page.file.src_uri
        if not self.tagging:
            return None
        own = self._own.get(ref)
        if own is not None:
            return own
        wanted = self._cards.get(ref)
        result = self.pipeline.result(ref) if wanted is not None else None
        if wanted is None or result is None:
            return None
        path = card_path(self.settings.cards_dir, ref, self.settings.render.output.suffix)
        if self.settings.card_names == "hash":
            path = f"{self.settings.cards_dir}/{result.key}{self.settings.render.output.suffix}"
        from urllib.parse import quote

        title = clean_text(wanted.card.title)
        return CardTags(
            self.site_url + quote(path),
            result.width,
            result.height,
            self.settings.render.output.media_type,
            title,
            clean_text(wanted.card.description) or title,
            wanted.card.page_url,
            self._kinds[ref],
        )

    def finish(self) -> Report:
        """Wait for every card; the warnings are complete afterwards.

        Raises:
            SocialCardsError: with ``strict``, the first page whose card cannot be made.
        """
        report = self.pipeline.finish()
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

    def cancel(self) -> None:
        """Stop waiting for cards being drawn (the build failed)."""
        self.pipeline.cancel()

    @classmethod
    def open(
        cls,
        settings: Settings,
        config: MkDocsConfig,
        store: Store,
        pool: RenderPool,
        *,
        out_dir: Path | None,
        tagging: bool,
        progress: Any = None,
    ) -> SiteCards:
        """A site's cards made with ``store`` and ``pool``."""
        pipeline = Pipeline(store, pool, strict=settings.strict, progress=progress)
        return cls(settings, config, pipeline, out_dir=out_dir, tagging=tagging)


def strict_settings(settings: Settings) -> Settings:
    """``settings`` with strictness on (``render --strict``)."""
    return dataclasses.replace(settings, render=dataclasses.replace(settings.render, strict=True))
