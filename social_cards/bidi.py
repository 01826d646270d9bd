"""Bidirectional text: embedding levels and visual order for one paragraph of card text.

Card text is one paragraph without explicit embeddings (the cleaner drops bidi
controls), so the Unicode Bidirectional Algorithm reduces to its weak-type,
neutral and implicit rules (W1-W7, N1-N2, I1-I2) and the line rules L1-L2.
Shaping inside each directional run, and mirroring of brackets in right-to-left
runs, is left to HarfBuzz through Pillow's raqm layout.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

__all__ = ["base_level", "levels", "visual_order"]

Direction = Literal["auto", "ltr", "rtl"]

_STRONG_R = {"R", "AL"}
_NEUTRAL = {"B", "S", "WS", "ON", "BN"}


def base_level(text: str, direction: Direction = "auto") -> int:
    """Paragraph level: 0 (left to right) or 1, from the first strong character (P2-P3)."""
    if direction == "ltr":
        return 0
    if direction == "rtl":
        return 1
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return 0
        if kind in _STRONG_R:
            return 1
    return 0


def levels(text: str, base: int) -> list[int]:
    """Resolved embedding level of every code point of ``text`` for paragraph level ``base``."""
    n = len(text)
    if n == 0:
        return []
    types = [unicodedata.bidirectional(ch) or "L" for ch in text]
    sos = "R" if base % 2 else "L"

    # W1: a non-spacing mark takes the type of what precedes it.
    prev = sos
    for i, t in enumerate(types):
        if t == "NSM":
            types[i] = "ON" if prev in ("LRI", "RLI", "FSI", "PDI") else prev
        elif t in ("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"):
            types[i] = "BN"
        prev = types[i]

    # W2: European numbers after Arabic letters are Arabic numbers. W3: AL is R.
    last_strong = sos
    for i, t in enumerate(types):
        if t in ("L", "R", "AL"):
            last_strong = t
        elif t == "EN" and last_strong == "AL":
            types[i] = "AN"
    types = ["R" if t == "AL" else t for t in types]

    # W4: one separator between two numbers of the same kind joins them.
    for i in range(1, n - 1):
        t = types[i]
        before, after = types[i - 1], types[i + 1]
        if t == "ES" and before == after == "EN":
            types[i] = "EN"
        elif t == "CS" and before == after and before in ("EN", "AN"):
            types[i] = before

    # W5: terminators next to European numbers become numbers.
    i = 0
    while i < n:
        if types[i] == "ET":
            j = i
            while j < n and types[j] == "ET":
                j += 1
            if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
                types[i:j] = ["EN"] * (j - i)
            i = j
        else:
            i += 1

    # W6: remaining separators and terminators are neutral.
    types = ["ON" if t in ("ES", "ET", "CS") else t for t in types]

    # W7: European numbers in a left-to-right context are L.
    last_strong = sos
    for i, t in enumerate(types):
        if t in ("L", "R"):
            last_strong = t
        elif t == "EN" and last_strong == "L":
            types[i] = "L"

    # N1-N2: neutrals between two strong types of one direction take it; others the base.
    i = 0
    while i < n:
        if types[i] in _NEUTRAL:
            j = i
            while j < n and types[j] in _NEUTRAL:
                j += 1
            before = sos if i == 0 else _strength(types[i - 1])
            after = sos if j == n else _strength(types[j])
            fill = before if before == after else ("R" if base % 2 else "L")
            types[i:j] = [fill] * (j - i)
            i = j
        else:
            i += 1

    # I1-I2: implicit levels.
    out = []
    for t in types:
        if base % 2 == 0:
            out.append(base + (1 if t == "R" else 2 if t in ("AN", "EN") else 0))
        else:
            out.append(base + (1 if t in ("L", "EN", "AN") else 0))
    return out


def _strength(t: str) -> str:
    return "R" if t in ("R", "AN", "EN") else "L"


def visual_order(line_levels: Sequence[int], base: int, trailing_ws: int = 0) -> list[int]:
    """Indices of a line's items in visual (left to right) order (L1 for trailing spaces, L2).

    Args:
        line_levels: the level of each item of the line, in logical order.
        base: the paragraph level.
        trailing_ws: how many items at the end of the line are whitespace (reset to ``base``).
    """
    lv = list(line_levels)
    for k in range(len(lv) - trailing_ws, len(lv)):
        lv[k] = base
    order = list(range(len(lv)))
    if not lv:
        return order
    highest = max(lv)
    lowest_odd = min(level for level in lv if level % 2) if any(level % 2 for level in lv) else highest + 1
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if lv[order[i]] >= level:
                j = i
                while j < len(order) and lv[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    return order
