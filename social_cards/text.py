"""Card text: from whatever a page or a chat log holds to clean, drawable plain text.

Titles may come from chat archives or generated text. Whatever ``str`` arrives,
:func:`clean_text` returns NFC text without controls, invisible marks, markup or
lone surrogates, cut to a bounded length so layout time is bounded too.
"""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["ELLIPSIS", "MAX_TEXT_CHARS", "clean_text", "clusters", "escape_markup"]

MAX_TEXT_CHARS = 2_000
"""Longest text (in code points) kept for layout; no card can show more than this."""

ELLIPSIS = "\u2026"

# Raw input beyond this is never looked at: markup stripping stays linear and short.
_MAX_RAW_CHARS = 20_000

# Every repeated part is bounded, so a title full of openers that never close ("![a![a![a...")
# costs time in proportion to its length, not to its length squared.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]{0,40}(?:\s[^<>]{0,500})?/?>")
_MD_CODE = re.compile(r"(?<!\\)(`{1,3})((?:(?!\1)[^\n]){1,500}?)\1")
_MD_IMAGE = re.compile(r"!\[([^\]\n]{0,500})\]\([^)\n]{0,500}\)")
_MD_LINK = re.compile(r"\[([^\]\n]{1,500})\]\([^)\n]{0,500}\)")
_MD_STRONG = re.compile(r"(\*\*|__|~~)(?=\S)(.{1,500}?)(?<=\S)\1")
_MD_EM_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.{1,500}?)(?<=[^\s*])\*(?![\w*])")
_MD_EM_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.{1,500}?)(?<=[^\s_])_(?![\w_])")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_WHITESPACE = re.compile(r"\s+")

_BREAKING_CONTROLS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85")
_ZWJ = "\u200d"
_ZWNJ = "\u200c"
# Format characters that shaping needs: joiners, and tag characters of flag sequences.
_KEPT_FORMAT = {_ZWJ, _ZWNJ}


def _is_kept(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return ch in _KEPT_FORMAT or 0xE0020 <= ord(ch) <= 0xE007F
    if cat in ("Cs", "Cc"):
        return False
    # U+FFFD stands for something that was lost (a lone surrogate): show nothing.
    return ch != "\ufffd"


def _strip_markup(text: str) -> str:
    """Text without HTML and Markdown markup; a code span (`` `__init__` ``) keeps its text as it is."""
    parts = _MD_CODE.split(text)  # prose, backticks, code, prose, backticks, code, ..., prose
    return "".join(part if n % 3 == 2 else _strip_prose(part) for n, part in enumerate(parts) if n % 3 != 1)


# A backslash makes the punctuation after it literal (as in Markdown). While markup is
# stripped, each escaped character waits as a private-use stand-in that no pattern matches.
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_STAND_IN = 0xF0000
_STAND_INS = re.compile("[\U000f0021-\U000f007e]")
_ESCAPED = re.compile(r"([\\`*_\[\]<>&~#!])")


def escape_markup(text: str) -> str:
    """``text`` with its markup characters escaped, so :func:`clean_text` gives it back as it is.

    For text that is already plain (a built page's title), where ``__init__`` is a name, not bold.
    """
    return _ESCAPED.sub(r"\\\1", text)


def _strip_prose(text: str) -> str:
    escaped = "\\" in text and not _STAND_INS.search(text)
    if escaped:
        text = _MD_ESCAPE.sub(lambda m: chr(_STAND_IN + ord(m[1])), text)
    text = _HTML_COMMENT.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    for _ in range(3):  # nested emphasis such as ***both*** or **_both_**
        stripped = _MD_EM_UNDERSCORE.sub(r"\1", _MD_EM_STAR.sub(r"\1", _MD_STRONG.sub(r"\2", text)))
        if stripped == text:
            break
        text = stripped
    # Entities are decoded last, so escaped markup (&lt;b&gt;) is shown as the text it spells.
    text = html.unescape(text)
    return _STAND_INS.sub(lambda m: chr(ord(m[0]) - _STAND_IN), text) if escaped else text


_MARKUP_HINTS = re.compile(r"[<>&*_`\[\]~#\\]")


def clean_text(value: object, *, markup: bool = True, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Make any value safe and drawable as one paragraph of card text.

    Args:
        value: anything; ``None`` gives ``""``, other non-strings are converted with ``str``.
        markup: strip HTML tags and Markdown emphasis, links and code marks.
        max_chars: keep at most this many code points (cut on a character-cluster boundary).

    Returns:
        NFC-normalized text with whitespace runs folded to one space, no control or
        invisible format characters (joiners needed by emoji and Persian are kept),
        no lone surrogates.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # Not memoized: a build cleans each page's title once, so a memo of recent strings only costs.
    return _clean(text, markup, max_chars)


def _clean(text: str, markup: bool, max_chars: int) -> str:
    text = text[:_MAX_RAW_CHARS]
    if text.isprintable() and "\ufffd" not in text and not (markup and _MARKUP_HINTS.search(text)):
        # The usual title: no controls, surrogates or other spaces than U+0020 (none of them
        # is printable), no markup. Only spaces and normalization can need work.
        if not text.isascii():
            text = unicodedata.normalize("NFC", text)
        if "  " in text:
            text = _WHITESPACE.sub(" ", text)
        text = text.strip()
        if len(text) <= max_chars:
            return text
    return _clean_any(text, markup, max_chars)


def _clean_any(text: str, markup: bool, max_chars: int) -> str:
    if text.isascii() and text.isprintable() and not (markup and _MARKUP_HINTS.search(text)):
        return _WHITESPACE.sub(" ", text).strip()[:max_chars].rstrip()  # a cut can end on a space
    # Pair up surrogate halves that arrive split; lone halves become U+FFFD, dropped below.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if markup and _MARKUP_HINTS.search(text):
        text = _strip_markup(text)
    text = unicodedata.normalize("NFC", text)
    if not text.isprintable() or "\ufffd" in text:  # printable text has no control or format characters
        text = "".join(ch if _is_kept(ch) else " " if ch in _BREAKING_CONTROLS else "" for ch in text)
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        parts = clusters(text[: max_chars + 16])
        kept: list[str] = []
        used = 0
        for part in parts:
            if used + len(part) > max_chars:
                break
            kept.append(part)
            used += len(part)
        text = "".join(kept).rstrip()
    return text


def _extends(ch: str) -> bool:
    """Whether ``ch`` belongs to the cluster before it rather than starting one."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or 0xE0100 <= cp <= 0xE01EF
    )


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def clusters(text: str) -> list[str]:
    """Split ``text`` into user-perceived characters (a close approximation of UAX #29).

    Combining marks, variation selectors, emoji modifiers and tag characters stay with
    their base; a zero-width joiner glues the next character on; regional indicators
    pair into flags. Breaking a line or cutting for an ellipsis happens only between
    clusters, so an emoji sequence or an accented letter is never split.
    """
    if not any(_extends(ch) or _regional(ch) for ch in set(text)):
        return list(text)  # the usual case: every character stands alone
    out: list[str] = []
    for ch in text:
        if out:
            last = out[-1]
            if _extends(ch) or last[-1] == _ZWJ:
                out[-1] = last + ch
                continue
            if _regional(ch) and len(last) == 1 and _regional(last):
                out[-1] = last + ch
                continue
        out.append(ch)
    return out
