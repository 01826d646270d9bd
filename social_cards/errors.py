"""The exception tree: every error the library raises is a ``SocialCardsError``."""

from __future__ import annotations

__all__ = [
    "AssetError",
    "CacheError",
    "FontError",
    "MissingGlyphError",
    "RenderError",
    "SocialCardsError",
    "TemplateError",
]


class SocialCardsError(Exception):
    """Base class: a card could not be made, with a message that says why and how to fix it."""


class TemplateError(SocialCardsError):
    """A template folder, its layout or a layer in it is unusable."""


class FontError(SocialCardsError):
    """A font file is missing, unreadable or not a font."""


class AssetError(SocialCardsError):
    """An image or SVG file a layer names is missing, outside its folder, or unusable."""


class MissingGlyphError(SocialCardsError):
    """Strict mode: a character that no font in the fallback chain can draw."""


class RenderError(SocialCardsError):
    """Drawing or encoding a card failed (for example, the cairo library is missing)."""


class CacheError(SocialCardsError):
    """The card cache cannot be used as asked (a bad size or age given to ``prune``)."""
