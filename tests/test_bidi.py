"""Bidirectional levels and visual order."""

from __future__ import annotations

import pytest

from social_cards.bidi import base_level, levels, visual_order


def _visual(text: str, direction: str = "auto") -> str:
    base = base_level(text, direction)  # type: ignore[arg-type]
    order = visual_order(levels(text, base), base)
    return "".join(text[i] for i in order)


@pytest.mark.parametrize(
    ("text", "base"),
    [("abc", 0), ("שלום", 1), ("مرحبا", 1), ("123 abc", 0), ("123 שלום", 1), ("", 0), ("!!!", 0)],
)
def test_base_level_from_first_strong_character(text: str, base: int) -> None:
    """The paragraph direction comes from the first strong character."""
    assert base_level(text) == base


@pytest.mark.parametrize(
    ("text", "visual"),
    [
        ("abc", "abc"),
        ("אבג", "גבא"),
        ("abc אבג def", "abc גבא def"),
        ("אבג abc דהו", "והד abc גבא"),
        ("אבג 123 דהו", "והד 123 גבא"),
        ("abc 12 אבג", "abc 12 גבא"),
        ("abc (אבג) def", "abc (גבא) def"),
    ],
)
def test_visual_order(text: str, visual: str) -> None:
    """Right-to-left runs are reversed, numbers inside them keep their order."""
    assert _visual(text) == visual


def test_forced_direction() -> None:
    """An explicit direction overrides the first strong character."""
    assert base_level("abc", "rtl") == 1
    assert base_level("אבג", "ltr") == 0
    assert _visual("abc def", "rtl") == "abc def"


def test_trailing_whitespace_takes_paragraph_level() -> None:
    """L1: spaces at the end of a line go to the paragraph's side."""
    text = "abc אבג "
    base = 0
    order = visual_order(levels(text, base), base, trailing_ws=1)
    assert order[-1] == len(text) - 1
