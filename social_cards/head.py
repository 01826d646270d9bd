"""The head of an HTML page, read as HTML: where it really ends, and what it says.

Comments, the insides of ``<script>``, ``<style>`` and ``<title>``, and quoted
attribute values are stepped over, so a ``</head>`` in a script string or an
``og:image`` in a description is never taken for the real thing. Meta tags are
known by their ``property``, ``name`` or ``http-equiv`` attribute, not by the text
around them.

:func:`scan_head` is all a build needs to add tags to a page it writes;
:func:`read_head` also collects the title, the meta tags and the ``<html>``
attributes, for reading a page some other tool built.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["HeadScan", "PageHead", "attributes", "read_head", "scan_head"]

_ATTRS = r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*"""  # quoted values may hold ">"
_TOKEN = re.compile(
    rf"""<!--.*?(?:-->|\Z)
    |<(?P<raw>script|style|title|textarea|noscript)\b{_ATTRS}>
    |(?P<end></head\s*>|<body\b)
    |<meta\b(?P<meta>{_ATTRS})>
    |<(?P<tag>html|link)\b(?P<attrs>{_ATTRS})>
    |<[A-Za-z!?/]{_ATTRS}>""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_CLOSING = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "title", "textarea", "noscript")
}
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")
_SPACES = re.compile(r"\s+")


class HeadScan(NamedTuple):
    """Where a page's head ends (-1: no head to add to), and the og/twitter tags it already has."""

    end: int
    present: frozenset[str]


@dataclass(slots=True)
class PageHead:
    """What a page's head says.

    Attributes:
        end: where the head ends (-1: the page has no head to add to).
        present: the ``og:*`` and ``twitter:*`` tags it has, by name, lower case.
        title: the ``<title>``'s text, unescaped, spaces folded.
        meta: each meta tag's content by its lower-case ``property``, ``name`` or
            ``http-equiv`` (the first of each name).
        html: the ``<html>`` tag's attributes (``lang``, ``dir``), names in lower case.
        canonical: the ``<link rel="canonical">`` address, or "".
    """

    end: int = -1
    present: frozenset[str] = frozenset()
    title: str = ""
    meta: dict[str, str] = field(default_factory=dict)
    html: dict[str, str] = field(default_factory=dict)
    canonical: str = ""


def attributes(text: str) -> dict[str, str]:
    """A tag's attributes from the text between its name and ``>``: lower-case names, unescaped values."""
    found: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        value = match.group(2) if match.group(2) is not None else match.group(3) or match.group(4) or ""
        found.setdefault(match.group(1).lower(), html.unescape(value))
    return found


def scan_head(page: str) -> HeadScan:
    """Find the real end of ``page``'s head and the Open Graph and Twitter tags in it."""
    head = _scan(page, collect=False)
    return HeadScan(head.end, head.present)


def read_head(page: str) -> PageHead:
    """Everything :class:`PageHead` holds, read from ``page`` (its head is enough)."""
    return _scan(page, collect=True)


def _scan(page: str, *, collect: bool) -> PageHead:
    head = PageHead()
    present: set[str] = set()
    pos = 0
    while (token := _TOKEN.search(page, pos)) is not None:
        pos = token.end()
        if token.group("end") is not None:
            head.end = token.start()
            break
        raw = token.group("raw")
        if raw is not None:
            closing = _CLOSING[raw.lower()].search(page, pos)
            if closing is None:
                break
            if collect and raw.lower() == "title" and not head.title:
                head.title = _SPACES.sub(" ", html.unescape(page[pos : closing.start()])).strip()
            pos = closing.end()
        elif (text := token.group("meta")) is not None:
            if not collect:
                _note_present(text, present)
                continue
            attrs = attributes(text)
            for attr in ("property", "name", "http-equiv"):
                name = attrs.get(attr, "").strip().lower()
                if not name:
                    continue
                if name.startswith(("og:", "twitter:")):
                    present.add(name)
                head.meta.setdefault(name, attrs.get("content", ""))
            if "charset" in attrs:
                head.meta.setdefault("charset", attrs["charset"])
        elif collect and (tag := token.group("tag")) is not None:
            text = token.group("attrs")
            if tag.lower() == "html":
                head.html = attributes(text)
            elif not head.canonical and "canonical" in text.lower():  # a theme's many other links are skipped
                attrs = attributes(text)
                if "canonical" in attrs.get("rel", "").lower().split():
                    head.canonical = attrs.get("href", "").strip()
    head.present = frozenset(present)
    return head


def _note_present(text: str, present: set[str]) -> None:
    for match in _ATTR.finditer(text):
        if match.group(1).lower() in ("property", "name"):
            value = (match.group(2) or match.group(3) or match.group(4) or "").strip().lower()
            if value.startswith(("og:", "twitter:")):
                present.add(value)
