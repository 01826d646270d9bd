"""Meta tags: whatever a page's text holds, it stays inside its attribute value."""

from __future__ import annotations

import html
import html.parser
from pathlib import Path

import pytest
from conftest import hostile_text
from hypothesis import given, settings
from hypothesis import strategies as st
from mkdocs_social_cards.tags import CardTags, Tagger, _every_line, _line, insert_tags, remove_tags, tag_file

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


def _write(path: Path, page: str) -> None:
    """Write a page as MkDocs does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(page.encode("utf-8", errors="xmlcharrefreplace"))


def _as_written(page: str, tags: CardTags) -> bytes:
    """What MkDocs writes for ``page`` tagged before it is written."""
    return insert_tags(page, tags).encode("utf-8", errors="xmlcharrefreplace")


@settings(max_examples=100, deadline=None)
@given(title=hostile_text(), description=hostile_text(), body=hostile_text())
def test_a_page_tagged_once_written_holds_what_tagging_before_writing_gives(
    tmp_path_factory: pytest.TempPathFactory, title: str, description: str, body: str
) -> None:
    """Property: adding the tags to the file MkDocs wrote gives the very bytes of a page tagged before it
    was written, whatever the page and the tags hold (lone surrogates, NUL, any script)."""
    page = HEAD.replace("<p>x</p>", f"<p>{body}</p>")
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", title, description, "https://example.org/")
    path = tmp_path_factory.mktemp("page") / "index.html"
    _write(path, page)
    assert tag_file(str(path), tags) is True
    assert path.read_bytes() == _as_written(page, tags)
    assert tag_file(str(path), tags) is False  # tagged already: left as it is
    assert path.read_bytes() == _as_written(page, tags)


def test_a_page_not_written_or_without_a_head_is_left_alone(tmp_path: Path) -> None:
    """No file (MkDocs writes none for an empty page): nothing is made. No head: the file is unchanged."""
    tags = CardTags("https://example.org/a.png", 1200, 630, "image/png", "T", "D", "https://example.org/")
    assert tag_file(str(tmp_path / "missing.html"), tags) is False
    assert not (tmp_path / "missing.html").exists()
    _write(tmp_path / "bare.html", "<p>no head</p>")
    assert tag_file(str(tmp_path / "bare.html"), tags) is False
    assert (tmp_path / "bare.html").read_text() == "<p>no head</p>"


_TITLES = ["Plain", "Café 🚀 naïve", 'Quotes " & <b>', "NUL \x00 inside", "lone \ud800 surrogate", "שלום 你好"]


def _pages(count: int) -> list[tuple[str, str, CardTags]]:
    """(file in the site, page, tags) for ``count`` pages of varied text."""
    out = []
    for n in range(count):
        title = f"{_TITLES[n % len(_TITLES)]} {n}"
        page = HEAD.replace("<title>t</title>", f"<title>{title}</title>").replace("<p>x</p>", f"<p>{title}</p>")
        url = f"https://example.org/p{n}/"
        out.append((f"p{n}/index.html", page, CardTags(f"{url}card.png", 1200, 630, "image/png", title, "", url)))
    return out


def _hand_over(tagger: Tagger, site: Path, pages: list[tuple[str, str, CardTags]], blocked: int = -1) -> None:
    """Hand each page to ``tagger`` and then write it, in the order MkDocs' hooks and writes come.

    Page ``blocked`` is a folder instead: opening it for writing fails.
    """
    for n, (file, page, tags) in enumerate(pages):
        tagger.add(file, str(site), file, tags)
        if n == blocked:
            (site / file).mkdir(parents=True)
        else:
            _write(site / file, page)


@pytest.mark.parametrize("helper", ["running", "killed"])
def test_the_tagger_tags_every_page_once_it_is_written(tmp_path: Path, helper: str) -> None:
    """300 pages, each handed over before it is written: each ends as if tagged before writing, the last
    one and those whose text cannot cross the pipe (NUL) too; a helper killed at once loses nothing."""
    pages = _pages(300)
    tagger = Tagger.start()
    assert tagger is not None, "the helper should start"
    if helper == "killed":
        assert tagger._proc is not None
        tagger._proc.kill()
    _hand_over(tagger, tmp_path, pages)
    assert tagger.wait() == []
    for file, page, tags in pages:
        assert (tmp_path / file).read_bytes() == _as_written(page, tags), file


def test_a_page_that_cannot_be_tagged_is_named_and_the_others_are_tagged(tmp_path: Path) -> None:
    """A page whose file cannot be opened for writing gets a warning naming it; every other page its tags."""
    pages = _pages(100)
    tagger = Tagger.start()
    assert tagger is not None
    _hand_over(tagger, tmp_path, pages, blocked=40)
    warnings = tagger.wait()
    assert len(warnings) == 1 and warnings[0].startswith(f"{pages[40][0]}: the meta tags could not be added")
    for i, (file, page, tags) in enumerate(pages):
        if i != 40:
            assert (tmp_path / file).read_bytes() == _as_written(page, tags), file


def test_many_pages_that_cannot_be_tagged_make_a_few_warnings(tmp_path: Path) -> None:
    """Every page failing for one cause gives three warnings naming pages and one line counting the rest."""
    pages = _pages(250)
    tagger = Tagger.start()
    assert tagger is not None
    for file, _, tags in pages:
        tagger.add(file, str(tmp_path), file, tags)
        (tmp_path / file).mkdir(parents=True)
    warnings = tagger.wait()
    assert [w.split(":")[0] for w in warnings[:3]] == [file for file, _, _ in pages[:3]]
    assert warnings[3:] == ["and 247 more pages whose meta tags could not be added"]
