"""The plugin's settings and what a page gives its card (config.py, pages.py, site.py)."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_social_cards.config import Settings, check_cards_dir
from mkdocs_social_cards.pages import card_path
from mkdocs_social_cards.site import SiteCards

from social_cards import CardInput, SocialCardsError
from social_cards.globs import glob
from social_cards.pipeline import Pipeline
from social_cards.pool import RenderPool
from social_cards.store import Store


@pytest.mark.parametrize(
    "value",
    ["../outside", "/etc/cards", "\\\\server\\share", "C:\\cards", "a/../../b", "", "/", "..", "a/..\\..\\b", "a\0b"],
)
def test_cards_dir_cannot_leave_the_site(value: str) -> None:
    """Absolute paths, drive letters and climbing out are refused with the expected form."""
    with pytest.raises(SocialCardsError, match="must be a folder inside the site"):
        check_cards_dir(value)


@pytest.mark.parametrize(
    ("value", "clean"), [("assets/images/social", "assets/images/social"), ("cards/", "cards"), ("a\\b", "a/b")]
)
def test_cards_dir_inside_the_site_is_kept(value: str, clean: str) -> None:
    assert check_cards_dir(value) == clean


@given(st.text(alphabet="ab./-é", max_size=12).map(lambda s: s + ".md") | st.text(alphabet="ab./", max_size=12))
def test_a_page_card_is_named_after_its_page(ref: str) -> None:
    """A page's card takes the page's path without its extension, under cards_dir."""
    assert card_path("cards", ref, ".png") == f"cards/{posixpath.splitext(ref)[0]}.png"


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("drafts/**", "drafts/a/b.md", True), ("**/index.md", "index.md", True), ("**/index.md", "a/b/index.md", True),
        ("*.md", "a/b.md", False), ("*.md", "b.md", True), ("blog/*.md", "blog/x/y.md", False),
        ("a*b*c.md", "axxbyyc.md", True), ("a?c.md", "abc.md", True), ("a?c.md", "a/c.md", False),
    ],
)  # fmt: skip
def test_globs_match_source_paths(pattern: str, path: str, matches: bool) -> None:
    """`*` and `?` stay inside a folder; `**` spans folders, none included."""
    assert glob(pattern)(path) is matches


def test_a_glob_with_many_stars_takes_no_exponential_time() -> None:
    """Forty stars against a long name that does not match: answered at once."""
    import time

    started = time.monotonic()
    assert not glob("*a" * 40 + "b")("a" * 400)
    assert time.monotonic() - started < 2


def test_a_page_gives_its_card_every_field_it_names(tmp_path: Path) -> None:
    """Title, description, URL, date, authors, tags, categories and options reach the page's card."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "post.md").write_text(
        "---\ntitle: A title\ndescription: Its description\ndate: 2024-03-05\nauthors: [Ana, Bo]\n"
        "tags: [cache]\ncategories: [Releases]\nsocial:\n  options:\n    accent: '#ff0000'\n---\nText\n",
        encoding="utf-8",
    )
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Site\nsite_url: https://example.org/\nsite_description: About\n", encoding="utf-8"
    )
    config = load_config(str(tmp_path / "mkdocs.yml"))
    files = Files([File("post.md", str(docs), config.site_dir, config.use_directory_urls)])
    page = Page(None, files.documentation_pages()[0], config)
    page.read_source(config)
    settings = Settings(base=tmp_path, options={"background": "#000000"})
    with Store(tmp_path / "cache") as store:
        site = SiteCards(settings, config, Pipeline(store, RenderPool(1)), out_dir=tmp_path / "site", tagging=True)
        request = site.request(page)
    assert request is not None
    assert request.card == CardInput(
        title="A title",
        description="Its description",
        site_name="Site",
        site_url="https://example.org/",
        page_url="https://example.org/post/",
        date="March 5, 2024",
        authors=("Ana", "Bo"),
        tags=("cache",),
        categories=("Releases",),
        options=(("accent", "#ff0000"), ("background", "#000000")),
    )
    assert (request.out, request.name) == (tmp_path / "site", "assets/images/social/post.png")
