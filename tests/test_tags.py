"""Meta tags: whatever a page's text holds, it stays inside its attribute value."""

from __future__ import annotations

import html
import html.parser
from collections.abc import Callable

import jinja2
import pytest
from conftest import hostile_text
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from mkdocs_social_cards.tags import (
    CardTags,
    _every_line,
    _line,
    insert_tags,
    remove_tags,
    settle_tags,
    tag_lines,
    write_tags_from_templates,
)  # fmt: skip

HEAD = '<html><head><meta charset="utf-8"><title>t</title></head><body><p>x</p></body></html>'


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))


def _elements(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser.elements


def _tags_hold_their_values(title: str, description: str, url: str) -> None:
    tags = CardTags(f"https://example.org/{url}", 1200, 630, "image/png", title, description, url, "article")
    page = insert_tags(HEAD, tags)
    added = _elements(page)[4:-2]  # after html, head, meta charset, title; before body, p
    expected = [("meta", [(attr, name), ("content", value)]) for attr, name, value in tags.pairs()]
    assert added == expected
    assert page.endswith("</head><body><p>x</p></body></html>")


@settings(max_examples=200, deadline=None)
@given(title=hostile_text(), description=hostile_text(), url=hostile_text())
def test_no_text_can_add_an_element_or_attribute(title: str, description: str, url: str) -> None:
    """Property (short run): each tag is one meta element with two attributes holding exactly the value."""
    _tags_hold_their_values(title, description, url)


@pytest.mark.fuzz
@settings(max_examples=20_000, deadline=None)
@given(title=hostile_text(), description=hostile_text(), url=hostile_text())
def test_fuzz_no_text_can_add_an_element_or_attribute(title: str, description: str, url: str) -> None:
    """Property (long run, `-m fuzz`): the same."""
    _tags_hold_their_values(title, description, url)


THEME_TAGS = ['<meta property="og:title" content="t">\n', '<meta name="twitter:card" content="summary">\n', ""]


@settings(max_examples=200, deadline=None)
@given(
    title=hostile_text(),
    description=hostile_text(),
    theme=st.sampled_from(THEME_TAGS),
    indent=st.sampled_from(["", "\n  "]),
)
def test_removing_tags_gives_the_page_back(title: str, description: str, theme: str, indent: str) -> None:
    """Property: tags taken out of a page (its card failed) leave it exactly as the theme wrote it."""
    page = HEAD.replace("</head>", f"{indent}{theme}</head>")
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", title, description, "https://example.org/")
    assert remove_tags(insert_tags(page, tags), tags) == page
    assert remove_tags(page, tags) == page


@settings(max_examples=200, deadline=None)
@given(
    title=hostile_text(),
    description=hostile_text(),
    url=hostile_text(),
    size=st.sampled_from([(1200, 630), (0, 0)]),
    media_type=st.sampled_from(["image/png", ""]),
)
def test_all_tags_at_once_are_the_tags_one_by_one(
    title: str, description: str, url: str, size: tuple[int, int], media_type: str
) -> None:
    """Property: the one-string form of a page's tags says exactly what the tag-by-tag form says, in its order."""
    tags = CardTags(f"https://example.org/{url}", *size, media_type, title, description, url, "website")
    one_by_one = "".join(_line(attr, name, html.escape(value)) + "\n" for attr, name, value in tags.pairs())
    at_once = _every_line(tags)
    if title and description and url and media_type and size[0]:
        assert at_once == one_by_one
    else:  # a tag is left out: the tag-by-tag form writes the page
        assert at_once is None
    assert insert_tags(HEAD, tags) == HEAD.replace("</head>", one_by_one + "</head>")


@pytest.mark.parametrize(
    ("theme", "name"),
    [
        ('<meta property="og:title" content="t">', "og:title"),
        ('<meta property="OG:TITLE" content="t">', "og:title"),
        ('<meta property="Og:Title" content="t">', "og:title"),
        ('<meta name="TWITTER:CARD" content="summary">', "twitter:card"),
        ('<META NAME="Twitter:Card" CONTENT="summary">', "twitter:card"),
    ],
)
@pytest.mark.parametrize("colons", [0, 31, 32, 33, 200], ids=lambda n: f"{n}-colons-before")
def test_a_tag_the_theme_wrote_in_any_case_is_not_written_again(theme: str, name: str, colons: int) -> None:
    """A theme's own Open Graph or Twitter tag, however it spells it, is the page's only tag of that name,
    however many other colons (URLs, styles, scripts) the head holds before it."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")
    style = "<style>" + "a{top:0}" * colons + "</style>"
    page = insert_tags(HEAD.replace("</head>", f"{style}{theme}</head>"), tags)
    names = [
        dict(attrs).get("property") or dict(attrs).get("name") or "" for tag, attrs in _elements(page) if tag == "meta"
    ]
    card_names = [n.lower() for n in names if n.lower().startswith(("og:", "twitter:"))]
    assert card_names.count(name) == 1
    assert len(card_names) == 13


_BASE = (
    '<html><head><meta charset="utf-8"><title>{{ title }}</title>{{ head }}</head><body><p>{{ body }}</p></body></html>'
)
_HEADS = ["", '<meta property="og:title" content="theme">', "<script>'</head>'</script>", "<style>a{top:0}</style>"]


def _render(base: str, context: dict[str, object], tags: CardTags | None) -> tuple[str, list[object]]:
    """``base`` rendered with ``context``; with ``tags``, by templates that write them, and who asked."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"base.html": base}))
    asked: list[object] = []
    if tags is not None:

        def render(page: object) -> str:
            asked.append(page)
            return Markup(tag_lines(tags))

        write_tags_from_templates(env, render)
    return env.get_template("base.html").render(context), asked


@settings(max_examples=150, deadline=None)
@given(title=hostile_text(), description=hostile_text(), body=hostile_text(), head=st.sampled_from(_HEADS))
def test_tags_a_template_wrote_end_as_tags_added_to_the_page(
    title: str, description: str, body: str, head: str
) -> None:
    """Property: a page whose template wrote its tags ends, once checked, exactly as the same page rendered
    without them and then tagged, whatever the page and the tags hold (lone surrogates, NUL, any script), with
    the theme's own og:title in the head, or a "</head>" in a script before the real one."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", title, description, "https://example.org/")
    context = {"page": "the page", "title": title, "head": head, "body": body}
    written, asked = _render(_BASE, context, tags)
    plain, _ = _render(_BASE, context, None)
    assert asked == ["the page"]
    assert settle_tags(written, tags, tag_lines(tags)) == insert_tags(plain, tags)


@pytest.mark.parametrize(
    ("head_end", "called"),
    [
        ("</head>", True),
        ("{% if page %}<link>{% endif %}\n</head>", True),
        ("{%- if page -%}<link>{%- endif -%}</head>", True),
        ("{# </head> #}</head>", False),
        ("{% raw %}</head>{% endraw %}</head>", False),
        ('{{ "</head>" }}</head>', False),
        ('{% set x = "</head>" %}</head>', False),
        ("</HEAD>", False),
    ],
)
def test_the_call_goes_only_where_the_template_reads_it_as_one(head_end: str, called: bool) -> None:
    """Where Jinja's lexer would read the call as text (a comment, a raw block, a string) or there is no
    plain ``</head>``, the template is left as it was; the page is tagged as it is written instead."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")
    base = _BASE.replace("</head>", head_end, 1)
    context = {"page": "p", "title": "t", "head": "", "body": "b"}
    written, asked = _render(base, context, tags)
    plain, _ = _render(base, context, None)
    assert asked == (["p"] if called else [])
    assert written == (plain.replace("</head>", tag_lines(tags) + "</head>", 1) if called else plain)
    assert "social_cards" not in written


def test_an_environment_given_the_call_twice_still_makes_it_once() -> None:
    """A theme or plugin that keeps one Jinja environment across builds (``mkdocs serve``) gets the call
    once, and the newest build's function answers it."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")
    env = jinja2.Environment(loader=jinja2.DictLoader({"base.html": _BASE}))
    asked: list[str] = []

    def renderer(build: str) -> Callable[[object], str]:
        def render(page: object) -> str:
            asked.append(build)
            return Markup(tag_lines(tags))

        return render

    for build in ("first", "second"):
        write_tags_from_templates(env, renderer(build))
    page = env.get_template("base.html").render({"page": "p", "title": "t", "head": "", "body": "b"})
    assert asked == ["second"]
    assert page.count('property="og:image"') == 1
