"""social-cards: social card images keyed by a content hash and kept in a disk cache."""

from __future__ import annotations

from .errors import (
    AssetError,
    CacheError,
    FontError,
    MissingGlyphError,
    RenderError,
    SocialCardsError,
    TemplateError,
)
from .output import OutputFormat, encode
from .renderer import draw, render
from .spec import RENDERER_VERSION, CardSpec
from .template import CardInput, Template, builtin_templates, load_template
from .text import clean_text

__version__ = "0.1.0"

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
