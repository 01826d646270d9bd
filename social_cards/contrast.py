"""Contrast between colours, and a colour made readable on a background (WCAG 2 relative luminance).

Templates use it through the ``readable_on`` filter: a brand colour chosen for a site
(a light yellow, say) must not leave white text unreadable on it.
"""

from __future__ import annotations

__all__ = ["contrast", "readable_on"]

_INK = "#111827"
"""The near-black a colour gives way to on a light background."""
_PAPER = "#f9fafb"
"""The near-white a colour gives way to on a dark background."""


def _channels(color: str) -> tuple[int, int, int, str]:
    """RGB and the alpha suffix ("" or two hex digits) of a colour: ``#rrggbb[aa]``, a name, ``rgb(...)``."""
    text = color.strip().lstrip("#")
    if len(text) in (6, 8) and all(c in "0123456789abcdefABCDEF" for c in text):
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16), text[6:8]
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(color.strip())
    except ValueError:
        raise ValueError(f"expected a colour such as '#1e293b', 'rgb(30, 41, 59)' or 'white', got {color!r}") from None
    return rgb[0], rgb[1], rgb[2], f"{rgb[3]:02x}" if len(rgb) == 4 else ""


def _luminance(rgb: tuple[int, int, int]) -> float:
    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, from 1 (the same) to 21 (black on white); alpha is not counted."""
    a, b = (_luminance(_channels(c)[:3]) for c in (first, second))
    high, low = max(a, b), min(a, b)
    return (high + 0.05) / (low + 0.05)


def readable_on(color: str, *backgrounds: str, ratio: float = 4.5) -> str:
    """``color`` when it has at least ``ratio`` of contrast with every background given; otherwise a near-black
    (on light backgrounds) or near-white (on dark ones), with ``color``'s alpha."""
    grounds = [b for b in backgrounds if b]
    if not grounds or min(contrast(color, b) for b in grounds) >= ratio:
        return color
    alpha = _channels(color)[3]
    candidates = (_INK, "#000000") if _mean_luminance(grounds) >= 0.18 else (_PAPER, "#ffffff")
    for candidate in candidates:
        if min(contrast(candidate, b) for b in grounds) >= ratio:
            return candidate + alpha
    return candidates[-1] + alpha


def _mean_luminance(colors: list[str]) -> float:
    return sum(_luminance(_channels(c)[:3]) for c in colors) / len(colors)
