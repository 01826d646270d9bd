"""Open Graph and Twitter meta tags: built escaped, added once each before a page's real ``</head>``.

The MkDocs plugin adds them to each page as MkDocs writes it.

The head is scanned as HTML, not searched as text: comments, the insides of
``<script>`` and ``<style>``, and quoted attribute values are stepped over, so a
``</head>`` in a script string or an ``og:image`` in a description is never taken
for the real thing. The tags a theme already wrote are found by their ``property``
or ``name`` attribute, and left as they are.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

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


def card_tags(card: CardInput, image: str, width: int, height: int, media_type: str, kind: str) -> CardTags:
    """The tags of a page whose picture is at ``image``, in plain text from the card's fields."""
    title = clean_text(card.title)
    return CardTags(image, width, height, media_type, title, clean_text(card.description) or title, card.page_url, kind)


_ATTRS = r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*"""  # quoted values may hold ">"
_TOKEN = re.compile(
    rf"""<!--.*?(?:-->|\Z)
    |<(?P<raw>script|style|title|textarea|noscript)\b{_ATTRS}>
    |(?P<end></head\s*>|<body\b)
    |<meta\b(?P<meta>{_ATTRS})>
    |<[A-Za-z!?/]{_ATTRS}>""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_CLOSING = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "title", "textarea", "noscript")
}
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


class HeadScan(NamedTuple):
    """Where a page's head ends (-1: no head to add to), and the og/twitter tags it already has."""

    end: int
    present: frozenset[str]


def scan_head(page: str) -> HeadScan:
    """Find the real end of ``page``'s head and the Open Graph and Twitter tags in it."""
    present: set[str] = set()
    pos = 0
    while (token := _TOKEN.search(page, pos)) is not None:
        pos = token.end()
        if token.group("end") is not None:
            return HeadScan(token.start(), frozenset(present))
        raw = token.group("raw")
        if raw is not None:
            closing = _CLOSING[raw.lower()].search(page, pos)
            if closing is None:
                break
            pos = closing.end()
        elif (attrs := token.group("meta")) is not None:
            for match in _ATTR.finditer(attrs):
                if match.group(1).lower() in ("property", "name"):
                    value = (match.group(2) or match.group(3) or match.group(4) or "").strip().lower()
                    if value.startswith(("og:", "twitter:")):
                        present.add(value)
    return HeadScan(-1, frozenset(present))


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
