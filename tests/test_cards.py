"""The plugin's checks of its own settings."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mkdocs.config import load_config
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs_social_cards.cards import Settings, SiteCards, _stem, check_cards_dir
from mkdocs_social_cards.tags import CardTags

from social_cards import CardInput, SocialCardsError


@pytest.mark.parametrize(
    "value", ["../outside", "/etc/cards", "\\\\server\\share", "C:\\cards", "a/../../b", "", "/", "..", "a/..\\..\\b"]
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
def test_a_page_card_is_named_as_splitext_would(ref: str) -> None:
    """The quick path for `.md` pages names the card exactly as posixpath.splitext does."""
    assert _stem(ref) == posixpath.splitext(ref)[0]


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
    data = SiteCards(settings, config).page_data(page)
    assert not isinstance(data, CardTags) and data is not None
    assert data.card() == CardInput(
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
    assert (data.kind, data.path) == ("article", "assets/images/social/post.png")
    assert data.fingerprint(data) == data.template.fingerprint(data.card())
