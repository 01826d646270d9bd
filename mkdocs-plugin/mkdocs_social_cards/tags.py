"""Open Graph and Twitter meta tags: built escaped, added to a page's head once each.

The theme's templates pass each page's head, as MkDocs renders it, through a filter
that adds the tags the head lacks at its end (:func:`write_tags_in_heads`,
:func:`head_with_tags`). A page whose template has no head to filter gets them from
:func:`insert_tags`, as MkDocs writes it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import NamedTuple

import jinja2
from jinja2 import nodes

__all__ = ["CardTags", "head_with_tags", "insert_tags", "remove_tags", "tag_lines", "write_tags_in_heads"]

_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_EXISTING = re.compile(
    r"""<meta\b[^>]*?\b(?:property|name)\s*=\s*["']?((?:og|twitter):[\w:.-]+)""",
    re.IGNORECASE,
)


class CardTags(NamedTuple):
    """What a page's tags say. ``image`` is an absolute URL; text is plain text; 0 is an unknown size.

    A tuple, like the store's records: a warm build makes one per page.
    """

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


_COLONS_STEPPED = 32
"""Colons of a head looked at one by one before searching it for the endings instead."""


def _present(page_html: str, end: int) -> set[str]:
    """Names of the Open Graph and Twitter tags the head (``page_html`` up to ``end``) already has.

    Every such name holds "og:" or "twitter:" in some case: a colon after g or r. A head
    with none is answered without reading its meta tags, which is every head of the mkdocs,
    readthedocs and material themes. Those hold a few colons (8 in the material theme's:
    URLs, a style, a script), so stepping from colon to colon, a one-character search, is
    cheaper than searching for the four endings (3 against 7 us a page over a generated
    site's pages, 5 against 7 in its build); a head with many colons gets the four
    searches after the first few.
    """
    find = page_html.find
    colon = find(":", 0, end)
    stepped = 0
    while colon >= 0:
        if colon and page_html[colon - 1] in "gGrR" and _names_a_tag(page_html, colon):
            break
        stepped += 1
        if stepped == _COLONS_STEPPED:
            if all(find(ending, colon, end) < 0 for ending in ("g:", "r:", "G:", "R:")):
                return set()
            break
        colon = find(":", colon + 1, end)
    else:
        return set()
    return {m.group(1).lower() for m in _EXISTING.finditer(page_html, 0, end)}


def _names_a_tag(page_html: str, colon: int) -> bool:
    """Whether "og" or "twitter" (in any case) ends at ``colon``: not "Inter:300" in a font's URL."""
    return (
        page_html[max(0, colon - 2) : colon].lower() == "og"
        or page_html[max(0, colon - 7) : colon].lower() == "twitter"
    )


def _head_end(page_html: str) -> int:
    """Where ``</head>`` starts, or -1."""
    end = page_html.find("</head>")  # a plain search first: this runs for every page of a build
    if end < 0:
        match = _HEAD_END.search(page_html)
        return -1 if match is None else match.start()
    return end


def _line(attr: str, name: str, text: str) -> str:
    return f'<meta {attr}="{name}" content="{text}">'


def _every_line(tags: CardTags) -> str | None:
    """Every tag, each value escaped once: the usual page, which has none of them yet.

    The lines :meth:`CardTags.pairs` gives, in its order, in one string; None when a
    value is empty (that tag is left out, the general way).
    """
    title, description, url, image, kind, media_type = (
        tags.title, tags.description, tags.url, tags.image, tags.kind, tags.media_type
    )  # fmt: skip
    if not (kind and title and description and url and image and media_type and tags.width and tags.height):
        return None
    values = f"{title}{description}{url}{image}{kind}{media_type}"
    if "&" in values or "<" in values or ">" in values or '"' in values or "'" in values:  # five quick scans
        same = description == title
        title, url, image, kind, media_type = map(html.escape, (title, url, image, kind, media_type))
        description = title if same else html.escape(description)
    return (
        f'<meta property="og:type" content="{kind}">\n'
        f'<meta property="og:title" content="{title}">\n'
        f'<meta property="og:description" content="{description}">\n'
        f'<meta property="og:url" content="{url}">\n'
        f'<meta property="og:image" content="{image}">\n'
        f'<meta property="og:image:type" content="{media_type}">\n'
        f'<meta property="og:image:width" content="{tags.width}">\n'
        f'<meta property="og:image:height" content="{tags.height}">\n'
        f'<meta property="og:image:alt" content="{title}">\n'
        '<meta name="twitter:card" content="summary_large_image">\n'
        f'<meta name="twitter:title" content="{title}">\n'
        f'<meta name="twitter:description" content="{description}">\n'
        f'<meta name="twitter:image" content="{image}">\n'
    )


def _lines(tags: CardTags, present: set[str]) -> str:
    """The lines of the tags the head does not have yet (``present``), each value escaped once."""
    escaped: dict[str, str] = {}
    lines = []
    for attr, name, value in tags.pairs():
        if name not in present:
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = html.escape(value, quote=True)
            lines.append(_line(attr, name, text) + "\n")
    return "".join(lines)


def tag_lines(tags: CardTags) -> str:
    """What :func:`insert_tags` adds to a head that has none of the tags yet."""
    block = _every_line(tags)
    return _lines(tags, set()) if block is None else block


def insert_tags(page_html: str, tags: CardTags, block: str | None = None) -> str:
    """``page_html`` with the tags before ``</head>``, leaving out any the page already has.

    ``block`` is :func:`tag_lines` of ``tags``, when the caller has it already.
    """
    end = _head_end(page_html)
    if end < 0:
        return page_html
    present = _present(page_html, end)
    block = _lines(tags, present) if present else block or tag_lines(tags)
    if not block:
        return page_html
    if page_html.startswith("</head>", end):  # the first one, so one copy of the page where slicing makes two
        return page_html.replace("</head>", block + "</head>", 1)
    return f"{page_html[:end]}{block}{page_html[end:]}"


_FILTER = "social_cards_head"
# "+" keeps the text around the two statements as it was in an environment that trims blocks.
_OPENING, _CLOSING = "{%+ filter " + _FILTER + "(page) +%}", "{%+ endfilter +%}"
_OPENING_TOKENS = [
    ("block_begin", "{%+"), ("name", "filter"), ("name", _FILTER), ("operator", "("), ("name", "page"),
    ("operator", ")"), ("block_end", "+%}"),
]  # fmt: skip
_HEAD_START = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)
_SETS_NAMES = (nodes.Assign, nodes.AssignBlock, nodes.Import, nodes.FromImport, nodes.Macro)
"""Statements whose names a ``filter`` section would keep to itself (those inside a ``block`` already are)."""


_Source = tuple[str, str | None, Callable[[], bool] | None]
"""What a Jinja loader's ``get_source`` returns."""


def write_tags_in_heads(env: jinja2.Environment, head_filter: Callable[[str, object], str]) -> None:
    """Have the theme's templates pass each page's rendered head through ``head_filter(head, page)``.

    The head (what a template renders between ``<head>`` and ``</head>``) goes through
    a Jinja ``filter`` section, put in as each template is loaded; the filter returns
    the head with the tags it lacks added at its end. A template is changed only where
    Jinja reads both ends as statements (not in a comment, a ``raw`` block or a string)
    and the head is a whole section of it that sets no name the rest of the template
    could read. A page whose templates have no such head is rendered as before;
    :func:`insert_tags` tags it.
    """
    loader = env.loader
    if loader is None:
        return
    known = _FILTER in env.filters  # an environment kept across builds: its templates already call it
    env.filters[_FILTER] = head_filter  # what a filter section gives is not escaped, even with autoescape
    if known:
        return
    get_source = loader.get_source

    def with_filter(environment: jinja2.Environment, template: str) -> _Source:
        source, filename, uptodate = get_source(environment, template)
        return _with_head_filter(environment, source), filename, uptodate

    loader.get_source = with_filter  # type: ignore[method-assign]  # this environment's loader only


def _with_head_filter(env: jinja2.Environment, source: str) -> str:
    """``source`` with its head in a ``filter`` section, where that changes nothing else; else ``source``."""
    start = _HEAD_START.search(source)
    if start is None:
        return source
    opened, end = start.end(), source.find("</head>", start.end())
    if end < 0:
        return source
    try:
        # The text before the head, lexed with the opening: inside a comment, a raw block or a
        # string, the statement would be read as text. Then the head alone, parsed: it must be
        # one whole section (no statement opened before it and closed in it, or the reverse).
        before = [(kind, value) for _, kind, value in env.lex(source[:opened] + _OPENING) if kind != "whitespace"]
        head = env.parse(_OPENING + source[opened:end] + _CLOSING)
    except jinja2.TemplateSyntaxError:
        return source
    if before[-len(_OPENING_TOKENS) :] != _OPENING_TOKENS:
        return source
    if len(head.body) != 1 or not isinstance(head.body[0], nodes.FilterBlock) or _sets_names(head.body[0]):
        return source
    return f"{source[:opened]}{_OPENING}{source[opened:end]}{_CLOSING}{source[end:]}"


def _sets_names(node: nodes.Node) -> bool:
    """Whether ``node`` holds, outside any ``block``, a statement that sets a name."""
    for child in node.iter_child_nodes():
        if isinstance(child, _SETS_NAMES) or (not isinstance(child, nodes.Block) and _sets_names(child)):
            return True
    return False


def head_with_tags(head: str, tags: CardTags, block: str) -> str:
    """A rendered head with the tags it lacks at its end; ``block`` is :func:`tag_lines` of ``tags``."""
    present = _present(head, len(head))
    return f"{head}{_lines(tags, present) if present else block}"


def remove_tags(page_html: str, tags: CardTags) -> str:
    """``page_html`` as it was before :func:`insert_tags` added ``tags`` (unchanged if it did not).

    For a page written with a card that could not be made after all.
    """
    end = _head_end(page_html)
    if end < 0:
        return page_html
    ours = [_line(attr, name, html.escape(value, quote=True)) + "\n" for attr, name, value in tags.pairs()]
    cuts = [end]
    while True:  # peel the tags off the end of the head, last first
        piece = next((p for p in ours if page_html.endswith(p, 0, cuts[-1])), None)
        if piece is None:
            break
        cuts.append(cuts[-1] - len(piece))
    # The theme may have had one of these very tags just before ours: keep the deepest cut that
    # gives back exactly this page when the tags are added again.
    for cut in reversed(cuts[1:]):
        before = page_html[:cut] + page_html[end:]
        if insert_tags(before, tags) == page_html:
            return before
    return page_html
