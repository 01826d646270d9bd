"""The resolved card: every input the renderer reads, and the content key made from it.

A :class:`CardSpec` is frozen and holds nothing but what changes the picture. Its
canonical bytes are compact JSON with sorted keys in which files appear by the
digest of their bytes, never by path; the key is the xxh3_128 of those bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import xxhash

from .digest import LINE_BREAKING, RENDERER_VERSION
from .fonts import FontFace
from .output import OutputFormat

__all__ = [
    "RENDERER_VERSION",
    "Asset",
    "BackgroundLayer",
    "Box",
    "CardSpec",
    "Color",
    "ImageLayer",
    "Layer",
    "RectLayer",
    "SvgLayer",
    "TextLayer",
]

Color = tuple[int, int, int, int]
Fit = Literal["cover", "contain", "stretch"]


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle on the card, in pixels from the top left corner."""

    x: int
    y: int
    width: int
    height: int

    def canonical(self) -> list[int]:
        return [self.x, self.y, self.width, self.height]


@dataclass(frozen=True, slots=True)
class Asset:
    """A file a layer draws, known to the key by its digest only."""

    path: Path = field(compare=False)
    digest: str


@dataclass(frozen=True, slots=True)
class BackgroundLayer:
    """Fills the card: a colour, a linear gradient to a second colour, and/or an image."""

    color: Color
    gradient_to: Color | None = None
    angle: float = 0.0
    image: Asset | None = None
    fit: Fit = "cover"
    opacity: float = 1.0

    def canonical(self) -> dict[str, object]:
        return {
            "kind": "background",
            "color": list(self.color),
            "to": None if self.gradient_to is None else list(self.gradient_to),
            "angle": _num(self.angle),
            "image": None if self.image is None else self.image.digest,
            "fit": self.fit,
            "opacity": _num(self.opacity),
        }


@dataclass(frozen=True, slots=True)
class ImageLayer:
    """A PNG, JPEG or WebP image placed in a box."""

    image: Asset
    box: Box
    fit: Fit = "contain"
    radius: int = 0
    opacity: float = 1.0

    def canonical(self) -> dict[str, object]:
        return {
            "kind": "image",
            "image": self.image.digest,
            "box": self.box.canonical(),
            "fit": self.fit,
            "radius": self.radius,
            "opacity": _num(self.opacity),
        }


@dataclass(frozen=True, slots=True)
class SvgLayer:
    """SVG markup (after variable substitution) rasterized into a box.

    ``source`` is the file the markup came from: its folder is the only place the
    markup may reference files, and errors name it.
    """

    markup: str
    source: Path = field(compare=False)
    box: Box
    opacity: float = 1.0

    def canonical(self) -> dict[str, object]:
        return {
            "kind": "svg",
            "markup": xxhash.xxh3_128_hexdigest(self.markup.encode("utf-8")),
            "box": self.box.canonical(),
            "opacity": _num(self.opacity),
        }


@dataclass(frozen=True, slots=True)
class RectLayer:
    """A filled rectangle, optionally with rounded corners and an outline."""

    box: Box
    fill: Color | None
    radius: int = 0
    outline: Color | None = None
    outline_width: int = 0

    def canonical(self) -> dict[str, object]:
        return {
            "kind": "rect",
            "box": self.box.canonical(),
            "fill": None if self.fill is None else list(self.fill),
            "radius": self.radius,
            "outline": None if self.outline is None else list(self.outline),
            "outline_width": self.outline_width,
        }


@dataclass(frozen=True, slots=True)
class TextLayer:
    """Clean text set in a box with a font chain (only the faces the text uses)."""

    text: str
    faces: tuple[FontFace, ...]
    color: Color
    box: Box
    max_size: int
    min_size: int
    line_height: float = 1.2
    max_lines: int = 3
    align: Literal["start", "end", "left", "center", "right"] = "start"
    valign: Literal["top", "middle", "bottom"] = "top"
    direction: Literal["auto", "ltr", "rtl"] = "auto"

    def canonical(self) -> dict[str, object]:
        return {
            "kind": "text",
            "text": self.text,
            "fonts": [face.digest for face in self.faces],
            "color": list(self.color),
            "box": self.box.canonical(),
            "size": [self.min_size, self.max_size],
            "line_height": _num(self.line_height),
            "max_lines": self.max_lines,
            "align": self.align,
            "valign": self.valign,
            "direction": self.direction,
        }


Layer = BackgroundLayer | ImageLayer | SvgLayer | RectLayer | TextLayer


@dataclass(frozen=True, slots=True)
class CardSpec:
    """Everything one card is drawn from; its :attr:`key` names it in the cache."""

    width: int
    height: int
    layers: tuple[Layer, ...]
    output: OutputFormat
    template_digest: str

    def canonical_bytes(self) -> bytes:
        """Compact, sorted JSON of the spec, with the renderer version; the key's input."""
        doc = {
            "renderer": RENDERER_VERSION,
            "line_breaking": LINE_BREAKING,
            "size": [self.width, self.height],
            "template": self.template_digest,
            "layers": [layer.canonical() for layer in self.layers],
            "output": self.output.canonical(),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @property
    def key(self) -> str:
        """The content key: 32 hex digits of xxh3_128 over :meth:`canonical_bytes`."""
        return xxhash.xxh3_128_hexdigest(self.canonical_bytes())


def _num(value: float) -> float | int:
    """Numbers in canonical form: integral floats as ints, others rounded to 1e-6."""
    rounded = round(float(value), 6)
    return int(rounded) if rounded.is_integer() else rounded
