"""The plugin's checks of its own settings."""

from __future__ import annotations

import pytest
from mkdocs_social_cards.cards import check_cards_dir

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
