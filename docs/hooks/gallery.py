"""Documentation build hook: the gallery's pictures are drawn by the project during the build.

Every built-in template, and the worked example of "Writing a template", is drawn
with the preview samples (a short and a long title, accented Latin with emoji,
Chinese, Arabic) through the same cache as the site's own cards, so a warm docs
build draws nothing. The pictures are added to the site under ``gallery/`` and
the gallery page's ``<!-- gallery -->`` marker becomes their markdown.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_social_cards.config import settings_from

from social_cards import SocialCardsError, builtin_templates
from social_cards.pool import RenderPool
from social_cards.preview import PreviewSheet, draw_sheet
from social_cards.store import Store

GALLERY_DIR = "gallery"
MARKER = "<!-- gallery -->"
EXAMPLE_TEMPLATE = Path("examples/release")
"""The worked example of the template guide, relative to the docs folder."""

_sheet: PreviewSheet | None = None


def on_files(files: Files, /, *, config: MkDocsConfig) -> Files:
    global _sheet
    base = Path(config.config_file_path).parent
    settings = settings_from(config.plugins["social-cards"].config, base)
    templates: list[str | Path] = [*builtin_templates(), Path(config.docs_dir) / EXAMPLE_TEMPLATE]
    with tempfile.TemporaryDirectory() as scratch, Store(settings.cache_dir) as store:
        with RenderPool(settings.workers) as pool:
            try:
                _sheet = draw_sheet(templates, Path(scratch), store, pool, site_name=config.site_name)
            except SocialCardsError as exc:
                raise PluginError(f"gallery: {exc}") from None
        if _sheet.failed:
            reasons = "; ".join(f"{c.file}: {c.error}" for c in _sheet.cards if c.error)
            raise PluginError(f"gallery: {_sheet.failed} card(s) could not be drawn: {reasons}")
        for card in _sheet.cards:
            content = (Path(scratch) / card.file).read_bytes()
            files.append(File.generated(config, f"{GALLERY_DIR}/{card.file}", content=content))
    return files


def on_page_markdown(markdown: str, /, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != "gallery.md":
        return markdown
    if _sheet is None or MARKER not in markdown:
        raise PluginError(f"gallery: gallery.md must hold the {MARKER} marker")
    parts: list[str] = []
    for template in dict.fromkeys(card.template for card in _sheet.cards):
        parts.append(f"## `{template}`\n")
        for card in (c for c in _sheet.cards if c.template == template):
            title = card.sample.title.replace("[", "\\[").replace("]", "\\]")
            parts.append(f"![{title}]({GALLERY_DIR}/{card.file}){{ loading=lazy width=600 }}\n")
            parts.append(f"*{card.sample.name}*\n")
    return markdown.replace(MARKER, "\n".join(parts))
