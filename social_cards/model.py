"""The card model: every field a card is made from, declared once.

The MkDocs plugin, the JSON Lines reader, the command line and the fingerprint all
read the fields of :class:`CardInput` through :data:`CARD_FIELDS`, so a field added
here reaches every front door and every key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .output import OutputFormat

__all__ = ["CARD_FIELDS", "CardField", "CardInput", "RenderSettings"]

FieldKind = Literal["text", "list", "path", "options"]


@dataclass(frozen=True, slots=True)
class CardInput:
    """What a page contributes to its card. Text fields may hold any string.

    ``options`` overrides the template's option defaults (colours and the like);
    ``logo`` is a trusted file path from configuration, the one file outside the
    template folder a layer may draw. ``lang`` (a BCP 47 tag) and ``direction``
    are the page's, as its ``<html lang dir>`` gives them.
    """

    title: str
    description: str = ""
    site_name: str = ""
    site_url: str = ""
    page_url: str = ""
    date: str = ""
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    logo: Path | None = None
    options: tuple[tuple[str, str], ...] = ()
    lang: str = ""
    direction: str = ""

    @staticmethod
    def options_from(mapping: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
        """Options in the frozen form this class keeps (sorted pairs of strings)."""
        return tuple(sorted((str(k), "" if v is None else str(v)) for k, v in mapping.items()))


@dataclass(frozen=True, slots=True)
class CardField:
    """One field of :class:`CardInput`: its name, what it holds, and a line of help."""

    name: str
    kind: FieldKind
    help: str
    flag: str
    """Its command-line option, without the dashes (one value each time for a list)."""


_KINDS: dict[str, FieldKind] = {"tuple[str, ...]": "list", "Path | None": "path"}
_HELP = {
    "title": "the card's title (any text; Markdown and HTML are stripped)",
    "description": "a line or two under the title",
    "site_name": "the site's name",
    "site_url": "the site's address",
    "page_url": "the page's address",
    "date": "a post's date, as text",
    "authors": "an author's name",
    "tags": "a tag",
    "categories": "a category",
    "logo": "a logo image (PNG, JPEG, WebP or SVG)",
    "options": "template options such as accent=#ff5500",
    "lang": "the page's language (ja, zh-Hant, ...): chooses among a script's font variants",
    "direction": "ltr or rtl: the text's base direction (default: from its first strong character)",
}

_FLAGS = {"authors": "author", "tags": "tag", "categories": "category", "options": "option"}

CARD_FIELDS: tuple[CardField, ...] = tuple(
    CardField(
        f.name,
        "options" if f.name == "options" else _KINDS.get(str(f.type), "text"),
        _HELP[f.name],
        _FLAGS.get(f.name, f.name.replace("_", "-")),
    )
    for f in dataclasses.fields(CardInput)
)
"""The fields of :class:`CardInput`, in order."""


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """How every card of a run is resolved: output format, extra fonts and strictness.

    Attributes:
        output: format and encoder settings.
        fonts: extra fallback font files, tried after the bundled ones.
        strict: a character no font can draw is an error instead of a warning.
        system_fonts: let installed fonts join the fallback chain.
    """

    output: OutputFormat = dataclasses.field(default_factory=OutputFormat)
    fonts: tuple[Path, ...] = ()
    strict: bool = False
    system_fonts: bool = True
