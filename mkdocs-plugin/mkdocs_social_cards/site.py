"""A site's cards for one build: each page's request as it is read, its tags as it is written.

:class:`SiteCards` holds what is the same for every page (templates, the theme's
logo and colour, where cards go) and hands each page's card to one pipeline. The
plugin and ``social-cards render mkdocs.yml`` both use it, so both compute the
same keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.pages import Page

from social_cards import CardInput, SocialCardsError, Template
from social_cards.fonts import prefetch_system_fonts
from social_cards.globs import glob
from social_cards.pipeline import CardRequest, Pipeline
from social_cards.tags import CardTags, card_tags
from social_cards.template import load_template_near

from .config import Settings
from .pages import card_path, date_of, first_heading, front_matter, names, own_image, text
from .theme import theme_defaults

__all__ = ["SiteCards"]


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
        self.site_url = config.site_url.rstrip("/") + "/" if config.site_url else ""
        self.warnings: list[str] = []
        self._templates: dict[str, Template] = {}
        template = self._template(settings.template)  # loaded now: one that cannot be loaded stops the build here
        theme = theme_defaults(config)
        self.logo = settings.logo or theme.logo
        self.primary = theme.primary
        if settings.options:
            self._check_options(template)
        for message in settings.messages:
            self._warn("plugins.social-cards", message)
        self._include = [glob(g) for g in settings.include]
        self._exclude = [glob(g) for g in settings.exclude]
        self._cards: dict[str, CardInput] = {}
        self._own: dict[str, CardTags] = {}
        self.docs_files: set[str] = set()
        """Where the docs' own files go in the site: a card never replaces one of them."""

    def _template(self, ref: str) -> Template:
        template = self._templates.get(ref)
        if template is None:
            template = self._templates[ref] = load_template_near(ref, self.settings.base)
        return template

    def _check_options(self, template: Template) -> None:
        """Site-wide options are checked once, as the build starts: a bad one stops it there, naming it.

        Raises:
            SocialCardsError: an option the template cannot use (a colour that is not one, say), or,
                with ``strict``, an option the template does not have.
        """
        theme_options = self._options(template, None)
        unknown = template.check_options(dict(theme_options), site_name=self.config.site_name, logo=self.logo,
                                         output=self.settings.render.output)  # fmt: skip
        if unknown:
            self._warn("options", unknown)

    def _warn(self, ref: str, message: str) -> None:
        if self.settings.strict:
            raise SocialCardsError(f"{ref}: {message}")
        self.warnings.append(f"{ref}: {message}")

    def add(self, page: Page) -> None:
        """Start making ``page``'s card (drawn in the background when the cache lacks it).

        Raises:
            SocialCardsError: with ``strict``, a front-matter problem or a card that cannot be made.
        """
        request = self.request(page)
        if request is not None:
            self._cards[request.ref] = request.card
            self.pipeline.submit(request)

    def request(self, page: Page) -> CardRequest | None:
        """The card ``page`` asks for; None when it has none, or shows its own picture (its tags are kept).

        Raises:
            SocialCardsError: with ``strict``, a front-matter problem.
        """
        ref, s = page.file.src_uri, self.settings
        if any(m(ref) for m in self._exclude) or (self._include and not any(m(ref) for m in self._include)):
            return None
        social = front_matter(page, lambda message: self._warn(ref, message))
        if social is None:
            return None
        try:
            template = self._template(str(social.get("template", s.template)))
        except SocialCardsError as exc:
            self._warn(ref, f"social.template: {exc}; using {s.template!r}")
            template = self._template(s.template)
        config, meta = self.config, page.meta
        card = CardInput(
            # As the page shows it: its front matter, its first heading, then what the nav calls it.
            title=(
                text(social.get("title"))
                or s.title
                or text(meta.get("title"))
                or text(first_heading(page.markdown or ""))
                or text(page.title)
                or config.site_name
            ),
            description=(
                text(social.get("description"))
                or s.description
                or text(meta.get("description"))
                or text(config.site_description)
            ),
            site_name=config.site_name,
            site_url=config.site_url or "",
            page_url=page.canonical_url or "",
            date=date_of(page),
            authors=names(getattr(page, "authors", None) or meta.get("authors") or meta.get("author")),
            tags=names(meta.get("tags")),
            categories=names(getattr(page, "categories", None) or meta.get("categories")),
            logo=self.logo,
            options=self._options(template, social.get("options")),
        )
        unknown = template.unknown_options(social.get("options") or {})
        if unknown:
            self._warn(ref, f"social.options: {unknown}")
        name = None if s.card_names == "hash" else card_path(s.cards_dir, ref, s.render.output.suffix)
        image = str(social["image"]) if "image" in social else None
        if name in self.docs_files:  # a file of the docs is where the card would go: it stays, as the picture
            self._warn(ref, f"docs/{name} is where this page's card would go; the page keeps that file instead")
            image = f"/{name}"
        if image is not None:
            try:
                picture = own_image(page, image, Path(config.docs_dir), self.site_url)
                self._own[ref] = card_tags(card, *picture)
                return None
            except SocialCardsError as exc:
                self._warn(ref, f"{exc}; drawing a card instead")
        if name is None:  # named by the key, once it is known
            out = None if self.out_dir is None else self.out_dir / s.cards_dir
            return CardRequest(ref, template, card, s.render, out)
        return CardRequest(ref, template, card, s.render, self.out_dir, name)

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
        card = self._cards.get(ref)
        if not self.tagging or self.out_dir is None or card is None:
            return self._own.get(ref) if self.tagging else None
        result = self.pipeline.result(ref)
        if result is None or result.target is None:
            return None
        url = self.site_url + quote(result.target.relative_to(self.out_dir).as_posix())
        media_type = self.settings.render.output.media_type
        return card_tags(card, url, result.width, result.height, media_type)
