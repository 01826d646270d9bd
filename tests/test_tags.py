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
from mkdocs_social_cards.tags import (
    CardTags,
    _every_line,
    _line,
    head_with_tags,
    insert_tags,
    remove_tags,
    tag_lines,
    write_tags_in_heads,
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
    '<html><head><meta charset="utf-8"><title>{{ title | e }}</title>{{ head }}</head>'
    "<body><p>{{ body | e }}</p></body></html>"
)
_HEADS = {  # what the theme puts in the head, and the tags of ours it has already
    "": set(),
    '<meta property="og:title" content="theme">': {"og:title"},
    '<META NAME="Twitter:Card" CONTENT="summary">': {"twitter:card"},
    "<script>'</head>'</script>": set(),
    "<style>a{top:0}</style>": set(),
}
_TAGS = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")


def _render(base: str, context: dict[str, object], tags: CardTags | None, **options: bool) -> tuple[str, list[object]]:
    """``base`` rendered with ``context``; with ``tags``, by templates that add them to the head, and who asked."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"base.html": base}), **options)
    asked: list[object] = []
    if tags is not None:

        def head_filter(head: str, page: object) -> str:
            asked.append(page)
            return head_with_tags(head, tags, tag_lines(tags))

        write_tags_in_heads(env, head_filter)
    return env.get_template("base.html").render(context), asked


def _lines_but(tags: CardTags, present: set[str]) -> str:
    """The lines of ``tags`` whose names are not in ``present``, as a head without them would get them."""
    return "".join(
        _line(attr, name, html.escape(value)) + "\n" for attr, name, value in tags.pairs() if name not in present
    )


@settings(max_examples=150, deadline=None)
@given(title=hostile_text(), description=hostile_text(), body=hostile_text(), head=st.sampled_from(list(_HEADS)))
def test_a_template_adds_to_its_head_the_tags_it_lacks(title: str, description: str, body: str, head: str) -> None:
    """Property: a page whose template tags its head is the same page rendered without them, with the tags its
    head lacks just before the template's ``</head>`` (not the first ``</head>`` in its text: one in a script in
    the head is script), whatever the page and the tags hold (lone surrogates, NUL, any script)."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", title, description, "https://example.org/")
    context = {"page": "the page", "title": title, "head": head, "body": body}
    written, asked = _render(_BASE, context, tags)
    plain, _ = _render(_BASE, context, None)
    at = plain.rindex("</head>")  # the body's text is escaped: the template's own is the last
    assert asked == ["the page"]
    assert written == plain[:at] + _lines_but(tags, _HEADS[head]) + plain[at:]
    if head != "<script>'</head>'</script>":
        assert written == insert_tags(plain, tags)


@pytest.mark.parametrize(
    ("head", "filtered"),
    [
        ("<head>{{ title }}</head>", True),
        ('<head lang="en">{{ title }}</head>', True),
        ("<head>{% if page %}<link>{% endif %}\n</head>", True),
        ("<head>{%- if page -%}<link>{%- endif -%}</head>", True),
        ("<head>{% block meta %}{% set x = 1 %}{{ x }}{% endblock %}</head>", True),
        ("{# <head> #}<head></head>", False),
        ("<head>{# </head> #}</head>", False),
        ("{% raw %}<head>{% endraw %}</head>", False),
        ('{{ "<head>" }}</head>', False),
        ("{% if page %}<head>{% endif %}</head>", False),
        ("<head>{% if page %}</head>{% endif %}", False),
        ("<head>{% set x = 1 %}</head>{{ x }}", False),
        ("<head>{% import 'm.html' as m %}</head>", False),
        ("<head>{% if page %}{% set x = 1 %}{% endif %}</head>{{ x }}", False),
        ("<head>{% macro m() %}{% endmacro %}</head>{{ m() }}", False),
        ("{% filter upper %}<head>{% endfilter %}{% filter lower %}</head>{% endfilter %}", False),
        ("<header></header>", False),
        ("<HEAD></HEAD>", False),
    ],
)
def test_the_filter_goes_only_around_a_whole_head_that_sets_no_name(head: str, filtered: bool) -> None:
    """Where Jinja would read the filter's statements as text (a comment, a raw block, a string), where the head
    is not a whole section of the template, or where the section would keep to itself a name the rest of the
    template reads, the template is left as it was; the page is tagged as it is written instead."""
    base = "<html>" + head + "<body>{{ page }}</body></html>"
    context = {"page": "p", "title": "t"}
    loader = jinja2.DictLoader({"base.html": base, "m.html": ""})
    env = jinja2.Environment(loader=loader)
    plain = jinja2.Environment(loader=loader).get_template("base.html").render(context)
    asked: list[object] = []
    write_tags_in_heads(env, lambda head, page: asked.append(page) or head + "<meta added>")
    written = env.get_template("base.html").render(context)
    assert asked == (["p"] if filtered else [])
    assert written == (plain.replace("</head>", "<meta added></head>", 1) if filtered else plain)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"autoescape": True},
        {"trim_blocks": True},
        {"lstrip_blocks": True},
        {"trim_blocks": True, "lstrip_blocks": True},
    ],
    ids=lambda o: "+".join(o) or "default",
)
def test_the_filter_leaves_the_text_around_it_as_it_was(options: dict[str, bool]) -> None:
    """However the environment trims whitespace or escapes, the page is the plain page plus its tags: not one
    newline or space taken, no tag escaped."""
    base = "<html>\n  <head>\n    <title>{{ title }}</title>\n  </head>\n  <body>{{ body }}</body>\n</html>\n"
    context = {"page": "p", "title": "a & b", "body": "<p>x</p>"}
    written, asked = _render(base, context, _TAGS, **options)
    plain, _ = _render(base, context, None, **options)
    assert asked == ["p"]
    assert written == plain.replace("</head>", tag_lines(_TAGS) + "</head>")


def test_an_environment_given_the_filter_twice_still_filters_once() -> None:
    """A theme or plugin that keeps one Jinja environment across builds (``mkdocs serve``) gets the filter
    once, and the newest build's function answers it."""
    env = jinja2.Environment(loader=jinja2.DictLoader({"base.html": _BASE}))
    asked: list[str] = []

    def head_filter(build: str) -> Callable[[str, object], str]:
        def add(head: str, page: object) -> str:
            asked.append(build)
            return head_with_tags(head, _TAGS, tag_lines(_TAGS))

        return add

    for build in ("first", "second"):
        write_tags_in_heads(env, head_filter(build))
    page = env.get_template("base.html").render({"page": "p", "title": "t", "head": "", "body": "b"})
    assert asked == ["second"]
    assert page.count('property="og:image"') == 1
