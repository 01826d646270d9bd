"""The plugin's checks of its own settings."""

from __future__ import annotations

import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mkdocs_social_cards.cards import _stem, check_cards_dir

from social_cards import SocialCardsError


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
