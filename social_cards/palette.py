"""Palette PNG cards: colours fixed per template background, a few more per card for its text.

Choosing a palette for the whole 1200×630 picture and mapping every pixel to it took
a third of a card's drawing time. Yet the leading layers that are not text (the
background, a logo, shapes) look the same on every card of a site. So their palette
and the index of each of their pixels are worked out once per process
(:func:`palette_base`), and each card maps only the places later layers drew on
(each text layer's ink), against the fixed colours plus a share of the palette
chosen from those places (:func:`indexed`).

Both steps read nothing but the pixels of the card's own layers, so the same card
gives the same bytes whatever was drawn before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

__all__ = ["CARD_SHARE", "PaletteBase", "Rect", "indexed", "palette_base"]

CARD_SHARE = 4
"""One palette entry in this many is chosen per card, from where its text is drawn."""

# The fixed colours are chosen from a box-filtered copy: quantizing the full picture costs
# more than drawing it, and a reduced copy keeps every colour that covers real area.
_BASE_SAMPLE_FACTOR = 8
# Text is thin: its own colours are sampled more finely, from much less area.
_CARD_SAMPLE_FACTOR = 4

Rect = tuple[int, int, int, int]
"""A region of the card: left, top, right, bottom (exclusive), in pixels."""


@dataclass(frozen=True, slots=True)
class PaletteBase:
    """The fixed part of the palette of every card drawn on one background, and the background's indices."""

    indices: Image.Image
    """The background as palette indices (mode ``P``), each below ``len(colors) // 3``."""
    colors: list[int]
    """The fixed colours, flat RGB."""


def palette_base(background: Image.Image, colors: int) -> PaletteBase:
    """The fixed colours of a ``colors``-entry palette for cards drawn on ``background``, and its indices."""
    fixed = colors - max(1, colors // CARD_SHARE)
    chosen = background.reduce(_BASE_SAMPLE_FACTOR).quantize(fixed, method=Image.Quantize.FASTOCTREE)
    indices = background.quantize(palette=chosen, dither=Image.Dither.NONE)
    # The quantizer pads its palette to the size asked for; entries past the last one used
    # are left to the cards' own colours.
    used = 1 + max(index for index, count in enumerate(indices.histogram()) if count)
    colors_used = list(chosen.getpalette() or ())[: 3 * used]
    indices.putpalette(colors_used)
    return PaletteBase(indices, colors_used)


def indexed(card: Image.Image, base: PaletteBase, changed: Sequence[Rect], colors: int) -> Image.Image:
    """``card`` as palette indices: ``base`` outside ``changed``, which is mapped anew.

    ``card`` must equal the background of ``base`` everywhere outside ``changed``.
    The palette is the fixed colours followed by at most ``colors`` minus those,
    chosen from the changed regions.
    """
    out = base.indices.copy()
    boxes = [box for box in changed if box[2] > box[0] and box[3] > box[1]]
    if not boxes:
        return out
    crops = [card.crop(box) for box in boxes]
    sample = b"".join(crop.reduce(_CARD_SAMPLE_FACTOR).tobytes() for crop in crops)
    own = Image.frombytes("RGB", (len(sample) // 3, 1), sample)
    free = colors - len(base.colors) // 3
    palette = base.colors + list(own.quantize(free, method=Image.Quantize.FASTOCTREE).getpalette() or ())
    chooser = Image.new("P", (1, 1))
    chooser.putpalette(palette)
    out.putpalette(palette)
    for crop, box in zip(crops, boxes, strict=True):
        out.paste(crop.quantize(palette=chooser, dither=Image.Dither.NONE), box[:2])
    return out
