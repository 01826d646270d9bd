"""Open Graph and Twitter meta tags: built escaped, added once each before a page's real ``</head>``.

The MkDocs plugin adds them to each page as MkDocs writes it.

The head is scanned as HTML, not searched as text (:mod:`social_cards.head`), and
the tags a theme already wrote are found by their ``property`` or ``name``
attribute, and left as they are.
"""

from __future__ import annotations

import html
from typing import NamedTuple

from .head import HeadScan, scan_head
from .model import CardInput
from .text import clean_text

__all__ = ["CardTags", "HeadScan", "card_tags", "insert_tags", "scan_head", "tag_lines"]


class CardTags(NamedTuple):
    """What a page's tags say. ``image`` is an absolute URL; text is plain text; 0 is an unknown size."""

    image: str
    width: int
    height: int
    media_type: str
    title: str
    description: str
    url: str
    kind: str = "website"

    def pairs(self) -> list[tuple[str, str, str]]:
        """(attribute, name, value) for every tag, in the order they are written."""
        og = [
            ("og:type", self.kind),
            ("og:title", self.title),
            ("og:description", self.description),
            ("og:url", self.url),
            ("og:image", self.image),
            ("og:image:type", self.media_type),
            ("og:image:width", str(self.width) if self.width else ""),
            ("og:image:height", str(self.height) if self.height else ""),
            ("og:image:alt", self.title),
        ]
        twitter = [
            ("twitter:card", "summary_large_image"),
            ("twitter:title", self.title),
            ("twitter:description", self.description),
            ("twitter:image", self.image),
        ]
        return [("property", n, v) for n, v in og if v] + [("name", n, v) for n, v in twitter if v]


def card_tags(card: CardInput, image: str, width: int, height: int, media_type: str) -> CardTags:
    """The tags of a page whose picture is at ``image``, in plain text from the card's fields.

    A dated page is an article (a blog post); the others are the website's pages.
    """
    title = clean_text(card.title)
    kind = "article" if card.date else "website"
    return CardTags(image, width, height, media_type, title, clean_text(card.description) or title, card.page_url, kind)


def tag_lines(tags: CardTags, present: frozenset[str] = frozenset()) -> str:
    """The lines of the tags a head does not have yet, each value escaped."""
    return "".join(
        f'<meta {attr}="{name}" content="{html.escape(value, quote=True)}">\n'
        for attr, name, value in tags.pairs()
        if name not in present
    )


def insert_tags(page: str, tags: CardTags) -> str:
    """``page`` with the tags before its real ``</head>``, leaving out any the page already has."""
    end, present = scan_head(page)
    if end < 0:
        return page
    block = tag_lines(tags, present)
    return f"{page[:end]}{block}{page[end:]}" if block else page
