"""Open Graph and Twitter meta tags: built escaped, added to a page's head once each.

The theme's templates write a page's tags where its head ends, as MkDocs renders the
page (:func:`write_tags_from_templates`); :func:`settle_tags` then checks the page
and, when the head already had some of the tags, takes the block apart and adds only
the others. A page whose template has no place for them gets them from
:func:`insert_tags`, as MkDocs writes it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import NamedTuple

import jinja2

__all__ = ["CardTags", "insert_tags", "remove_tags", "settle_tags", "tag_lines", "write_tags_from_templates"]

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


def insert_tags(page_html: str, tags: CardTags) -> str:
    """``page_html`` with the tags before ``</head>``, leaving out any the page already has."""
    end = _head_end(page_html)
    if end < 0:
        return page_html
    present = _present(page_html, end)
    block = _lines(tags, present) if present else tag_lines(tags)
    if not block:
        return page_html
    if page_html.startswith("</head>", end):  # the first one, so one copy of the page where slicing makes two
        return page_html.replace("</head>", block + "</head>", 1)
    return f"{page_html[:end]}{block}{page_html[end:]}"


def settle_tags(page_html: str, tags: CardTags, block: str) -> str:
    """``page_html``, in which the theme's template wrote ``block`` (:func:`tag_lines`), made what
    :func:`insert_tags` would have made of the page without it.

    The usual page, with ``block`` just before its first ``</head>`` and no such tag
    before it, is that already; any other is taken apart and tagged again.
    """
    end = _head_end(page_html)
    at = end - len(block)
    if end >= 0 and at >= 0 and page_html.startswith(block, at) and not _present(page_html, at):
        return page_html
    at = page_html.find(block)
    if at >= 0:
        page_html = page_html[:at] + page_html[at + len(block) :]
    return insert_tags(page_html, tags)


_CALL_NAME = "social_cards_meta_tags"
_CALL = "{{ " + _CALL_NAME + "(page) }}"
_CALL_TOKENS = [
    ("variable_begin", "{{"), ("name", _CALL_NAME), ("operator", "("), ("name", "page"), ("operator", ")"),
    ("variable_end", "}}"),
]  # fmt: skip


def write_tags_from_templates(env: jinja2.Environment, render: Callable[[object], str]) -> None:
    """Have the theme's templates call ``render(page)`` just before their ``</head>``.

    Each template is changed as it is loaded, and only where Jinja's lexer reads the
    call as a call (not in a comment, a ``raw`` block or a string). A page whose
    templates have no such place is rendered as before; :func:`insert_tags` tags it.
    """
    loader = env.loader
    if loader is None:
        return
    if _CALL_NAME in env.globals:  # this environment's templates already make the call: only the target changes
        env.globals[_CALL_NAME] = render
        return
    get_source = loader.get_source

    def with_call(environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = get_source(environment, template)
        return _with_call(environment, source), filename, uptodate

    loader.get_source = with_call  # type: ignore[method-assign]  # this environment's loader only
    env.globals[_CALL_NAME] = render


def _with_call(env: jinja2.Environment, source: str) -> str:
    """``source`` with the call before its first ``</head>``, if the lexer reads it there as a call."""
    at = source.find("</head>")
    if at < 0:
        return source
    # The text before the call is lexed with it (1.0-1.7 ms for the mkdocs, readthedocs and
    # material base templates, once a build): inside a comment, a raw block or a string, the
    # call would be read as text.
    try:
        tokens = [(kind, value) for _, kind, value in env.lex(source[:at] + _CALL) if kind != "whitespace"]
    except jinja2.TemplateSyntaxError:
        return source
    if tokens[-len(_CALL_TOKENS) :] != _CALL_TOKENS:
        return source
    return f"{source[:at]}{_CALL}{source[at:]}"


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
