"""MkDocs hooks: draw each page's card into the site and point ``og:image`` at it.

The hooks only gather page data and call the library; drawing and keys live in
``social_cards``.
"""

from __future__ import annotations

import html
import posixpath
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.pages import Page

from social_cards import CardInput, OutputFormat, SocialCardsError, Template, draw, load_template
from social_cards.output import write_card

log = get_plugin_logger(__name__)


class _PluginConfig(Config):
    enabled = c.Type(bool, default=True)
    """Set to false to build without cards."""
    template = c.Type(str, default="default")
    """A built-in template name, or a template folder relative to mkdocs.yml."""
    options = c.Type(dict, default={})
    """Template options such as colours."""
    fonts = c.ListOfItems(c.Type(str), default=[])
    """Extra fallback font files, relative to mkdocs.yml."""
    cards_dir = c.Type(str, default="assets/images/social")
    """Where cards go inside the site."""
    format = c.Choice(("png", "jpeg", "webp"), default="png")
    """The card file format."""
    strict = c.Type(bool, default=False)
    """Fail the build when a card cannot be drawn (default: warn and go on)."""


class SocialCardsPlugin(BasePlugin[_PluginConfig]):
    """Draws a card per page and adds Open Graph and Twitter meta tags."""

    def __init__(self) -> None:
        self._template: Template | None = None
        self._base = Path.cwd()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig | None:
        if not self.config.enabled:
            return config
        self._base = Path(config.config_file_path).resolve().parent
        ref = self.config.template
        local = self._base / ref
        try:
            self._template = load_template(local if local.is_dir() else ref)
        except SocialCardsError as exc:
            raise PluginError(f"social-cards: {exc}") from None
        if not config.site_url:
            log.warning(
                "site_url is not set: og:image needs absolute URLs, so cards are drawn but no meta tags are added"
            )
        return config

    def on_post_page(self, output: str, /, *, page: Page, config: MkDocsConfig) -> str | None:
        if self._template is None:
            return output
        output_format = OutputFormat.named(self.config.format)
        src = Path(page.file.src_uri).with_suffix(output_format.suffix).as_posix()
        rel = posixpath.join(self.config.cards_dir.strip("/"), src)
        card = CardInput(
            title=page.title or config.site_name,
            description=str(page.meta.get("description") or config.site_description or ""),
            site_name=config.site_name,
            site_url=config.site_url or "",
            page_url=page.canonical_url or "",
        )
        try:
            spec = self._template.resolve(
                card, output=output_format, fonts=[self._base / f for f in self.config.fonts], strict=self.config.strict
            )
            data = draw(spec)
        except SocialCardsError as exc:
            if self.config.strict:
                raise PluginError(f"social-cards: {page.file.src_uri}: {exc}") from None
            log.warning("%s: no card: %s", page.file.src_uri, exc)
            return output
        write_card(Path(config.site_dir) / rel, data)
        if not config.site_url:
            return output
        return _insert_tags(
            output, _tags(config.site_url.rstrip("/") + "/" + rel, card, spec.width, spec.height, output_format)
        )


def _tags(url: str, card: CardInput, width: int, height: int, output_format: OutputFormat) -> str:
    def meta(attr: str, name: str, value: Any) -> str:
        return f'<meta {attr}="{name}" content="{html.escape(str(value), quote=True)}">'

    return "\n".join(
        [
            meta("property", "og:image", url),
            meta("property", "og:image:type", output_format.media_type),
            meta("property", "og:image:width", width),
            meta("property", "og:image:height", height),
            meta("property", "og:image:alt", card.title),
            meta("name", "twitter:card", "summary_large_image"),
            meta("name", "twitter:image", url),
        ]
    )


def _insert_tags(output: str, tags: str) -> str:
    at = output.find("</head>")
    return output if at < 0 else f"{output[:at]}{tags}\n{output[at:]}"
