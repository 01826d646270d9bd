"""Typesetting a text box: fallback runs, bidi order, wrapping, shrink-to-fit and ellipsis.

The typesetter turns clean text and a font chain into positioned runs, each one
face, one direction, drawn by the renderer with Pillow's raqm layout. Widths are
measured once at the largest size and scaled for the shrink-to-fit search, then
measured again at the chosen size for placement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from icu4py.breakers import LineBreaker

from .bidi import Direction, base_level, levels, visual_order
from .fonts import FontChain, FontFace, load_font
from .text import ELLIPSIS, clusters

__all__ = ["PlacedRun", "TextBlock", "TextStyle", "break_points", "typeset"]

Align = Literal["start", "end", "left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]

# Widths measured at the largest size are scaled to smaller ones; hinting makes small
# sizes a little wider than linear, which this margin absorbs.
_SCALE_MARGIN = 1.01


@dataclass(frozen=True, slots=True)
class TextStyle:
    """How a text box sets its text (sizes in pixels)."""

    width: int
    height: int
    max_size: int
    min_size: int
    line_height: float = 1.2
    max_lines: int = 3
    align: Align = "start"
    valign: VAlign = "top"
    direction: Direction = "auto"


@dataclass(frozen=True, slots=True)
class PlacedRun:
    """A piece of one line: one face, one direction, with its left edge and baseline."""

    text: str
    face: int
    x: float
    baseline: float
    rtl: bool
    width: float


@dataclass(frozen=True, slots=True)
class TextBlock:
    """The result of typesetting: the size chosen, the runs, and whether text was cut."""

    size: int
    lines: int
    runs: tuple[PlacedRun, ...]
    truncated: bool


@dataclass(slots=True)
class _Item:
    text: str
    face: int
    level: int
    space: bool
    breaks_after: bool


_WIDTH_CACHE_ENTRIES = 200_000
_widths: dict[tuple[str, FontFace, int, bool, bool], float] = {}


def _needs_shaping(text: str) -> bool:
    """Whether widths of ``text`` need HarfBuzz: anything past Cyrillic but CJK, or marks."""
    for ch in text:
        cp = ord(ch)
        if (
            cp < 0x0300
            or 0x0370 <= cp < 0x0590
            or 0x2000 <= cp < 0x2E00
            or 0x3000 <= cp < 0xA000
            or 0xAC00 <= cp < 0xD7B0
        ):
            continue
        return True
    return False


class _Measure:
    """Run widths at one size, cached for the whole process (titles share words, cards share site names).

    Estimates (``exact=False``) of text that needs no shaping come from FreeType's
    basic layout, which lacks GPOS kerning and so errs wide; placement uses exact
    raqm widths.
    """

    def __init__(self, chain: FontChain, size: int) -> None:
        self.chain = chain
        self.size = size

    def run(self, text: str, face: int, rtl: bool, exact: bool = True) -> float:
        basic = not exact and not rtl and not _needs_shaping(text)
        key = (text, self.chain.faces[face], self.size, rtl, basic)
        width = _widths.get(key)
        if width is None:
            font, scale = load_font(self.chain.faces[face], self.size, basic=basic)
            width = (font.getlength(text) if basic else font.getlength(text, direction="rtl" if rtl else "ltr")) * scale
            if len(_widths) >= _WIDTH_CACHE_ENTRIES:
                _widths.clear()
            _widths[key] = width
        return width

    def items(self, items: Sequence[_Item], exact: bool = False) -> float:
        return sum(self.run(text, face, level % 2 == 1, exact) for text, face, level in _segments(items))


def _segments(items: Sequence[_Item]) -> list[tuple[str, int, int]]:
    """Consecutive items with one face and one level, joined (logical order)."""
    out: list[tuple[str, int, int]] = []
    for item in items:
        if out and out[-1][1] == item.face and out[-1][2] == item.level:
            text, face, level = out[-1]
            out[-1] = (text + item.text, face, level)
        else:
            out.append((item.text, item.face, item.level))
    return out


def _cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x9FFF  # CJK radicals, kana, CJK unified ideographs
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x3FFFF
    )


def break_points(text: str) -> set[int]:
    """Offsets (in code points) where a line may break: Unicode's line-breaking rules (UAX #14) as ICU
    applies them, with its dictionaries for scripts written without spaces (Thai, Lao, Khmer, Burmese)."""
    ends = {end for _, end in LineBreaker(text, "en").segments()}
    if text.isascii() or max(map(ord, text)) <= 0xFFFF:
        return ends
    points, units = set(), 0
    for offset, ch in enumerate(text, start=1):  # ICU counts UTF-16 units; an astral character is two
        units += 2 if ord(ch) > 0xFFFF else 1
        if units in ends:
            points.add(offset)
    return points


def _items(text: str, chain: FontChain, base: int) -> list[_Item]:
    breaks = break_points(text)
    if base == 0 and text.isascii() and all(chain.face_for(ch) == 0 for ch in set(text)):
        # Plain ASCII in the primary face: one cluster per character, all left to right.
        return [_Item(ch, 0, 0, ch == " ", n in breaks) for n, ch in enumerate(text, start=1)]
    parts = clusters(text)
    char_levels = levels(text, base)
    out: list[_Item] = []
    pos = 0
    for part in parts:
        face = chain.face_for(part)
        if face is None:
            pos += len(part)
            continue  # the resolver reports and drops these; never draw a box
        out.append(_Item(part, face, char_levels[pos], part.isspace(), pos + len(part) in breaks))
        pos += len(part)
    return out


_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015")


def _words(items: list[_Item]) -> list[list[_Item]]:
    """Items grouped into the units lines break between; a dash stays with the word before it,
    so no line starts with one."""
    words: list[list[_Item]] = [[]]
    for item in items:
        if not words[-1] and item.text in _DASHES and len(words) > 1:
            words.pop()  # the dash opens no new unit: it ends the previous one
        words[-1].append(item)
        if item.breaks_after:
            words.append([])
    return [w for w in words if w]


def _strip_trailing(items: list[_Item]) -> list[_Item]:
    end = len(items)
    while end and items[end - 1].space:
        end -= 1
    return items[:end]


def _wrap(words: list[list[_Item]], widths: list[tuple[float, float]], scale: float, limit: float) -> list[list[_Item]]:
    """Greedy wrapping; ``widths`` holds (ink width, trailing space width) per word."""
    lines: list[list[_Item]] = []
    line: list[_Item] = []
    used = 0.0
    pending_space = 0.0
    for word, (ink, space) in zip(words, widths, strict=True):
        ink *= scale
        space *= scale
        if line and used + pending_space + ink > limit:
            lines.append(line)
            line, used, pending_space = [], 0.0, 0.0
        if not line and ink > limit:
            lines.append(word)  # broken by clusters later, at the final size
            continue
        line.extend(word)
        used += pending_space + ink
        pending_space = space
    if line:
        lines.append(line)
    return _no_orphan(lines)


def _no_orphan(lines: list[list[_Item]]) -> list[list[_Item]]:
    """A last line of one CJK character takes the one before it along (the usual rule in CJK typesetting)."""
    if len(lines) < 2:
        return lines
    last, before = _strip_trailing(lines[-1]), lines[-2]
    kept = _strip_trailing(before)
    if len(last) == 1 and _cjk(last[0].text[0]) and len(kept) > 1 and _cjk(kept[-1].text[0]):
        return [*lines[:-2], kept[:-1], [kept[-1], *lines[-1]]]
    return lines


def _break_long(line: list[_Item], measure: _Measure, limit: float) -> list[list[_Item]]:
    """Split a line that is one over-long word between clusters."""
    out: list[list[_Item]] = []
    rest = line
    while rest and measure.items(_strip_trailing(rest)) > limit:
        lo, hi = 1, len(rest)
        while lo < hi:  # largest prefix that fits, at least one cluster
            mid = (lo + hi + 1) // 2
            if measure.items(rest[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        out.append(rest[:lo])
        rest = rest[lo:]
    if rest:
        out.append(rest)
    return out


def _ellipsize(items: list[_Item], ellipsis: _Item, measure: _Measure, limit: float) -> list[_Item]:
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure.items([*_strip_trailing(items[:mid]), ellipsis]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return [*_strip_trailing(items[:lo]), ellipsis]


def typeset(text: str, chain: FontChain, style: TextStyle) -> TextBlock:
    """Lay out ``text`` in a box: the largest size between the bounds that fits, else an ellipsis.

    Args:
        text: clean text (see :func:`social_cards.text.clean_text`).
        chain: the faces; characters no face has are skipped.
        style: box size, size range, lines and alignment.
    """
    base = base_level(text, style.direction)
    items = _items(text, chain, base)
    if not items:
        return TextBlock(style.max_size, 0, (), False)
    words = _words(items)
    ref = _Measure(chain, style.max_size)
    widths = [(ref.items(_strip_trailing(w)), ref.items(w[len(_strip_trailing(w)) :])) for w in words]

    def allowed_lines(size: int) -> int:
        return min(style.max_lines, max(1, int((style.height + 0.5) // (style.line_height * size))))

    def lines_at(size: int, stop_after: int) -> list[list[_Item]]:
        """Wrapped lines at ``size``; stops counting once there are more than ``stop_after``."""
        measure = _Measure(chain, size)
        lines: list[list[_Item]] = []
        for line in _wrap(words, widths, size / style.max_size * _SCALE_MARGIN, style.width):
            lines.extend(_break_long(line, measure, style.width) if _is_one_word(line) else [line])
            if len(lines) > stop_after:
                break
        return lines

    lo, hi = style.min_size, style.max_size
    while lo < hi:  # the largest size that fits; the minimum when none does
        mid = (lo + hi + 1) // 2
        if len(lines_at(mid, allowed_lines(mid))) <= allowed_lines(mid):
            lo = mid
        else:
            hi = mid - 1
    size = lo

    allowed = allowed_lines(size)
    measure = _Measure(chain, size)
    # One line past the allowed ones is enough to know the text is cut, and what to cut.
    wrapped = lines_at(size, allowed)
    truncated = len(wrapped) > allowed
    if truncated:
        tail = [item for line in wrapped[allowed - 1 :] for item in line]
        ellipsis_face = chain.face_for(ELLIPSIS)
        ellipsis = _Item(ELLIPSIS, 0 if ellipsis_face is None else ellipsis_face, base, False, False)
        wrapped = [*wrapped[: allowed - 1], _ellipsize(tail, ellipsis, measure, style.width)]
    return _place(wrapped, chain, style, size, base, measure, truncated)


def _is_one_word(line: list[_Item]) -> bool:
    return not any(item.breaks_after for item in line[:-1])


def _place(
    lines: list[list[_Item]],
    chain: FontChain,
    style: TextStyle,
    size: int,
    base: int,
    measure: _Measure,
    truncated: bool,
) -> TextBlock:
    primary, _ = load_font(chain.faces[0], size)
    ascent, descent = primary.getmetrics()
    lh = style.line_height * size
    block = lh * len(lines)
    top = {"top": 0.0, "middle": (style.height - block) / 2, "bottom": style.height - block}[style.valign]
    first_baseline = top + (lh - (ascent + descent)) / 2 + ascent
    align = style.align
    if align in ("start", "end"):
        align = "right" if (align == "start") == (base == 1) else "left"
    runs: list[PlacedRun] = []
    for n, line in enumerate(lines):
        ink = _strip_trailing(line)
        trailing = len(line) - len(ink)
        order = visual_order([item.level for item in line], base, trailing)
        visual = [line[i] for i in order if i < len(ink)]
        segments = _segments(_visual_runs(visual))
        widths = [measure.run(t, f, lv % 2 == 1) for t, f, lv in segments]
        line_width = sum(widths)
        x = {"left": 0.0, "center": (style.width - line_width) / 2, "right": style.width - line_width}[align]
        baseline = first_baseline + n * lh
        for (seg_text, face, level), width in zip(segments, widths, strict=True):
            runs.append(PlacedRun(seg_text, face, x, baseline, level % 2 == 1, width))
            x += width
    return TextBlock(size, len(lines), tuple(runs), truncated)


def _visual_runs(visual: list[_Item]) -> list[_Item]:
    """Items in visual order, with right-to-left stretches put back in logical order.

    Each run is handed to raqm with its direction, which lays it out right to left
    itself; so inside a stretch of one odd level the items go back to reading order.
    """
    out: list[_Item] = []
    i = 0
    while i < len(visual):
        j = i + 1
        if visual[i].level % 2 == 1:
            while j < len(visual) and visual[j].level == visual[i].level and visual[j].face == visual[i].face:
                j += 1
            out.extend(reversed(visual[i:j]))
        else:
            out.append(visual[i])
        i = j
    return out
