"""The ``social-cards`` MkDocs plugin: a social card and its meta tags for every page."""

from __future__ import annotations

__all__ = ["SocialCardsPlugin"]

from .plugin import SocialCardsPlugin
