"""social-cards: social card images keyed by a content hash and kept in a disk cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .digest import RENDERER_VERSION
from .errors import (
    AssetError,
    CacheError,
    FontError,
    MissingGlyphError,
    RenderError,
    SocialCardsError,
    TemplateError,
)
from .model import CardInput, RenderSettings
from .output import OutputFormat, encode
from .template import Template, builtin_templates, load_template
from .text import clean_text

if TYPE_CHECKING:
    from .renderer import draw, render
    from .spec import CardSpec

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The renderer (Pillow's drawing, CairoSVG) and the spec's classes load when first used:
    # a warm build draws nothing and resolves nothing in its own process.
    if name in ("draw", "render"):
        from . import renderer

        return getattr(renderer, name)
    if name == "CardSpec":
        from .spec import CardSpec

        return CardSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RENDERER_VERSION",
    "AssetError",
    "CacheError",
    "CardInput",
    "CardSpec",
    "FontError",
    "MissingGlyphError",
    "OutputFormat",
    "RenderError",
    "RenderSettings",
    "SocialCardsError",
    "Template",
    "TemplateError",
    "builtin_templates",
    "clean_text",
    "draw",
    "encode",
    "load_template",
    "render",
]
