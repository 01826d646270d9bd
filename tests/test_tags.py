"""Meta tags: whatever a page's text holds, it stays inside its attribute value."""

from __future__ import annotations

import html.parser

import pytest
from conftest import hostile_text
from hypothesis import given, settings

from social_cards.tags import CardTags, insert_tags, scan_head, tag_lines

HEAD = '<html><head><meta charset="utf-8"><title>t</title></head><body><p>x</p></body></html>'
_TAGS = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")


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
    tags = _TAGS
    style = "<style>" + "a{top:0}" * colons + "</style>"
    page = insert_tags(HEAD.replace("</head>", f"{style}{theme}</head>"), tags)
    names = [
        dict(attrs).get("property") or dict(attrs).get("name") or "" for tag, attrs in _elements(page) if tag == "meta"
    ]
    card_names = [n.lower() for n in names if n.lower().startswith(("og:", "twitter:"))]
    assert card_names.count(name) == 1
    assert len(card_names) == 13


def _card_tag_names(page: str) -> list[str]:
    names = [
        dict(attrs).get("property") or dict(attrs).get("name") or "" for tag, attrs in _elements(page) if tag == "meta"
    ]
    return [n.lower() for n in names if n.lower().startswith(("og:", "twitter:"))]


@pytest.mark.parametrize(
    ("head", "present"),
    [
        ("", set()),
        ('<meta name="description" content="Set property=og:image in your theme">', set()),
        ("<meta name=description content='twitter:card and og:title'>", set()),
        ("<script>var end = '</head>'; var tag = '<meta property=\"og:title\" content=x>';</script>", set()),
        ("<!-- </head> <meta property='og:url' content=x> -->", set()),
        ("<style>a::after{content:'</head>'}</style>", set()),
        ('<link rel="x" title="</head>" href="/a">', set()),
        ('<meta property="og:title" content="theme">', {"og:title"}),
        ("<META NAME=Twitter:Card CONTENT=summary>", {"twitter:card"}),
    ],
)
def test_tags_go_once_each_inside_the_real_head(head: str, present: set[str]) -> None:
    """The real </head> is found past scripts, styles, comments and attribute values; a tag is counted as the
    theme's only by its own property or name, never by text that mentions it."""
    page = HEAD.replace("</head>", f"{head}</head>")
    tagged = insert_tags(page, _TAGS)
    assert scan_head(page).present == present
    assert tagged.endswith("</head><body><p>x</p></body></html>")
    assert tagged == page.replace(f"{head}</head>", f"{head}{tag_lines(_TAGS, frozenset(present))}</head>")
    names = _card_tag_names(tagged)
    assert len(names) == len(set(names)) == 13


def test_a_page_without_a_head_end_gets_its_tags_before_the_body_or_none() -> None:
    """No </head>: the tags go where the body starts; no head at all: the page is left as it is."""
    page = '<html><head><meta charset="utf-8"><body><p>x</p></body></html>'
    assert insert_tags(page, _TAGS) == page.replace("<body>", tag_lines(_TAGS) + "<body>")
    fragment = "<p>just a fragment</p>"
    assert insert_tags(fragment, _TAGS) == fragment
