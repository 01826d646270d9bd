"""Cleaning card text: normalization, hostile input, markup, clusters."""

from __future__ import annotations

import time
import unicodedata

import pytest
from conftest import hostile_text
from hypothesis import example, given, settings
from hypothesis import strategies as st

from social_cards.text import MAX_TEXT_CHARS, _clean, _clean_any, clean_text, clusters


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cafe\u0301", "Café"),  # NFC
        ("a\x00b\x07c", "abc"),
        ("line\nbreak\ttab", "line break tab"),
        ("\u202eevil\u202c text", "evil text"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("\u2066iso\u2069 \u200fmark", "iso mark"),
        ("<b>bold</b> and <em>em</em>", "bold and em"),
        ("**strong** _em_ `code` ~~gone~~", "strong em code gone"),
        ("[link text](https://example.com) ![alt](x.png)", "link text alt"),
        ("snake_case_name stays", "snake_case_name stays"),
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("&lt;b&gt; is escaped", "<b> is escaped"),
        ("a < b and c > d", "a < b and c > d"),
        ("<!-- hidden --> shown", "shown"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("pair \ud83d\ude03 joined", "pair 😃 joined"),
        ("   ", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_clean_text_table(raw: object, expected: str) -> None:
    """Controls, bidi marks, markup and surrogates go; text and meaning stay."""
    assert clean_text(raw) == expected


def test_markup_can_be_kept() -> None:
    """With markup=False, tags stay as literal text."""
    assert clean_text("<b>x</b>", markup=False) == "<b>x</b>"


def test_emoji_sequences_are_kept_whole() -> None:
    """Joiners, skin tones and flags survive cleaning."""
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = clean_text(f"{family} 👍🏽 🇵🇹 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f")
    assert family in text
    assert len(clusters(text.replace(" ", ""))) == 4


def test_long_text_is_cut_on_a_cluster_boundary() -> None:
    """100,000 characters are cut to the layout bound without splitting an emoji."""
    text = clean_text("👍🏽" * 50_000)
    assert len(text) <= MAX_TEXT_CHARS
    assert all(c == "👍🏽" for c in clusters(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("e\u0301x", ["e\u0301", "x"]),
        ("👩\u200d💻!", ["👩\u200d💻", "!"]),
        ("🇵🇹🇧🇷", ["🇵🇹", "🇧🇷"]),
        ("❤\ufe0f", ["❤\ufe0f"]),
        ("你好", ["你", "好"]),
    ],
)
def test_clusters(text: str, expected: list[str]) -> None:
    """User-perceived characters stay together."""
    assert clusters(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_any_string_gives_clean_text(raw: str) -> None:
    """Whatever arrives, the result is NFC, printable, encodable and bounded."""
    _clean_text_holds(raw)


_TITLE_CHARS = st.characters(categories=("L", "M", "N", "P", "S")) | st.sampled_from(
    [" ", " ", "`", "*", "<", "&", "\ufffd", "\u1fef", "\u0301", "\U0001f600", "\u00a0", "\n"]
)


@settings(max_examples=300, deadline=None)
@example(raw=" a  caf\u0065\u0301 ", markup=True, max_chars=2000)
@given(raw=st.text(alphabet=_TITLE_CHARS, max_size=40), markup=st.booleans(), max_chars=st.sampled_from([8, 2000]))
def test_the_quick_way_cleans_as_the_full_way(raw: str, markup: bool, max_chars: int) -> None:
    """Property: printable titles take a shortcut that ends where the full cleaning ends."""
    assert _clean(raw, markup, max_chars) == _clean_any(raw, markup, max_chars)


@pytest.mark.parametrize("raw", ["abc defg", "abc d\u00e9fg", "abc  defg", "abc <b>defg</b>"])
def test_text_cut_after_a_space_ends_without_it(raw: str) -> None:
    """ASCII or not, a cut that lands after a space drops the space, and cleaning again changes nothing."""
    text = _clean(raw, True, 4)
    assert text == "abc"
    assert _clean(text, True, 4) == text


def _clean_text_holds(raw: str) -> None:
    text = clean_text(raw)
    assert len(text) <= MAX_TEXT_CHARS
    assert unicodedata.is_normalized("NFC", text)
    text.encode("utf-8")  # no lone surrogates
    for ch in text:
        assert unicodedata.category(ch) not in ("Cc", "Cs")
    assert text == text.strip()


def test_huge_hostile_text_is_fast() -> None:
    """A 100,000-character mix of markup and controls is cleaned well under a second."""
    raw = ("<b>x</b>**y** \u202e\x00 [a](b) 😃 " * 5000)[:100_000]
    start = time.perf_counter()
    clean_text(raw)
    assert time.perf_counter() - start < 2.0


@pytest.mark.fuzz
@settings(max_examples=20_000, deadline=None)
@given(hostile_text())
def test_fuzz_any_string_gives_clean_text(raw: str) -> None:
    """Property (long run, `-m fuzz`): the same, on text built from the pieces that break tools."""
    _clean_text_holds(raw)


@pytest.mark.parametrize(
    ("title", "clean"),
    [
        ("`Client.__init__()`", "Client.__init__()"),
        ("Use `__all__` and **bold**", "Use __all__ and bold"),
        ("The `<details>` element", "The <details> element"),
        ("`a*b*c` and *em*", "a*b*c and em"),
        ("``code with `tick` inside``", "code with `tick` inside"),
    ],
)
def test_code_spans_keep_their_text(title: str, clean: str) -> None:
    """Markup is stripped outside code spans only: Python names and HTML element names survive."""
    assert clean_text(title) == clean


@pytest.mark.parametrize("opener", ["![a", "[a", "**a", "_a", "<a ", "`a", "<!--", "~~a"])
def test_openers_that_never_close_cost_linear_time(opener: str) -> None:
    """Titles made of one opener repeated to the raw-input cap are cleaned without a quadratic blow-up
    (this took seconds a title when a pattern could scan to the end from every opener)."""
    import time

    started = time.monotonic()
    for _ in range(5):
        clean_text(opener * (20_000 // len(opener)))
    assert time.monotonic() - started < 5
