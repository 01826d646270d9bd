"""Drawing a :class:`~social_cards.spec.CardSpec`: Pillow for text and images, CairoSVG for SVG.

The first layers of a template rarely depend on the page (background, logo, site
name). Each run of leading layers is named by the digest of its canonical form;
once a second card starts with the same run, their composite is memoized, so a
build draws them once per process and each later card starts from a copy of the
longest run it shares with earlier ones.

Every layer reports the region it drew on. A PNG card's palette is fixed per run of
leading layers that are not text, and only what later layers drew is mapped anew
(see :mod:`social_cards.palette`).
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import xxhash
from PIL import Image, ImageChops, ImageDraw, ImageFont

from .errors import AssetError
from .fonts import FontChain, load_font
from .output import encode, write_png
from .palette import PaletteBase, Rect, indexed, palette_base
from .spec import BackgroundLayer, Box, CardSpec, Color, ImageLayer, Layer, RectLayer, TextLayer
from .typesetter import TextStyle, typeset

__all__ = ["MAX_IMAGE_PIXELS", "draw", "render"]

MAX_IMAGE_PIXELS = 40_000_000
"""Largest image (width × height) a layer may decode; bigger ones are refused."""

_V = TypeVar("_V")

_PREFIX_MEMO_ENTRIES = 8
_SEEN_PREFIXES = 4096


class _Memo(Generic[_V]):
    """A small thread-safe LRU table."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._table: OrderedDict[object, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> _V | None:
        with self._lock:
            value = self._table.get(key)
            if value is not None:
                self._table.move_to_end(key)
            return value

    def put(self, key: object, value: _V) -> None:
        with self._lock:
            self._table[key] = value
            while len(self._table) > self.entries:
                self._table.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _Composite:
    """Leading layers drawn together, and the regions those past the background drew on."""

    image: Image.Image
    changed: tuple[Rect, ...]


# Composites of leading runs of layers, by run digest.
_prefix_memo: _Memo[_Composite] = _Memo(_PREFIX_MEMO_ENTRIES)
# Palettes of backgrounds (the leading layers that are not text), by run digest and palette size.
_palette_memo: _Memo[PaletteBase] = _Memo(_PREFIX_MEMO_ENTRIES)
# Digests of the leading runs of layers drawn so far: a run seen before is worth memoizing.
_seen_prefixes: set[str] = set()


def draw(spec: CardSpec) -> bytes:
    """Render and encode a card: the bytes of its file."""
    output = spec.output
    if output.format != "png" or not output.colors:
        return encode(render(spec), output)
    canvas, changed, base = _compose(spec, output.colors)
    if base is None:  # not reached: a palette size always gives a background palette
        return encode(canvas, output)
    return write_png(indexed(canvas, base, changed, output.colors))


def render(spec: CardSpec) -> Image.Image:
    """Draw every layer of ``spec`` in order onto an RGB canvas."""
    return _compose(spec)[0]


def _compose(spec: CardSpec, colors: int = 0) -> tuple[Image.Image, list[Rect], PaletteBase | None]:
    """The card, the regions drawn on after its background, and (given ``colors``) its background's palette.

    The background is the run of leading layers that are not text.
    """
    layers = spec.layers
    runs = _run_digests(spec)
    plain = next((i for i, layer in enumerate(layers) if isinstance(layer, TextLayer)), len(layers))
    base_key = (runs[plain - 1] if plain else f"blank {spec.width}x{spec.height}", colors)
    base = _palette_memo.get(base_key) if colors else None
    start = 0
    canvas = None
    changed: list[Rect] = []
    for end in range(len(layers) - 1, 0, -1):
        cached = _prefix_memo.get(runs[end - 1])
        if cached is not None:
            canvas, start, changed = cached.image.copy(), end, list(cached.changed)
            break
    if canvas is None:
        canvas = Image.new("RGB", (spec.width, spec.height), "white")
    # The longest run (short of the whole card) that an earlier card started with too.
    shared = max((end for end in range(start + 1, len(layers)) if runs[end - 1] in _seen_prefixes), default=0)
    if len(_seen_prefixes) >= _SEEN_PREFIXES:
        _seen_prefixes.clear()
    _seen_prefixes.update(runs)
    for index in range(start, len(layers)):
        if colors and base is None and index == plain:  # the canvas holds the background, and only it
            base = _remember_base(base_key, canvas, colors)
        area = _draw_layer(canvas, layers[index])
        if index >= plain and area is not None:
            changed.append(area)
        if index + 1 == shared:
            _prefix_memo.put(runs[index], _Composite(canvas.copy(), tuple(changed)))
    if colors and base is None:
        background = canvas
        if plain < len(layers):  # started past the background (its palette was forgotten): draw it again
            background = Image.new("RGB", (spec.width, spec.height), "white")
            for layer in layers[:plain]:
                _draw_layer(background, layer)
        base = _remember_base(base_key, background, colors)
    return canvas, changed, base


def _remember_base(key: object, background: Image.Image, colors: int) -> PaletteBase:
    base = palette_base(background, colors)
    _palette_memo.put(key, base)
    return base


def _run_digests(spec: CardSpec) -> list[str]:
    """For each layer, the digest of the card's size and every layer up to and including it."""
    hasher = xxhash.xxh3_128(f"{spec.width}x{spec.height}".encode())
    runs = []
    for layer in spec.layers:
        hasher.update(json.dumps(layer.canonical(), sort_keys=True, separators=(",", ":")).encode())
        runs.append(hasher.hexdigest())
    return runs


def _draw_layer(canvas: Image.Image, layer: Layer) -> Rect | None:
    """Draw ``layer``; returns the region it may have changed (None: none)."""
    if isinstance(layer, TextLayer):
        return _draw_text(canvas, layer)
    if isinstance(layer, BackgroundLayer):
        _draw_background(canvas, layer)
        return (0, 0, canvas.width, canvas.height)
    if isinstance(layer, RectLayer):
        _draw_rect(canvas, layer)
    elif isinstance(layer, ImageLayer):
        _paste(
            canvas, _fit(_open_image(layer.image.path), layer.box, layer.fit), layer.box, layer.radius, layer.opacity
        )
    else:
        from .vector import rasterize  # loaded with CairoSVG at a worker's start, see pool.py

        _paste(
            canvas,
            rasterize(layer.markup, layer.source, layer.box.width, layer.box.height),
            layer.box,
            0,
            layer.opacity,
        )
    box = layer.box
    return _clip(canvas, (box.x, box.y, box.x + box.width, box.y + box.height))


def _clip(canvas: Image.Image, rect: Rect) -> Rect | None:
    left, top = max(0, rect[0]), max(0, rect[1])
    right, bottom = min(canvas.width, rect[2]), min(canvas.height, rect[3])
    return (left, top, right, bottom) if left < right and top < bottom else None


def _union(rects: list[Rect]) -> Rect | None:
    if not rects:
        return None
    return (min(r[0] for r in rects), min(r[1] for r in rects), max(r[2] for r in rects), max(r[3] for r in rects))


def _solid(color: Color, size: tuple[int, int]) -> Image.Image:
    return Image.new("RGBA", size, color)


def _gradient(start: Color, end: Color, angle: float, size: tuple[int, int]) -> Image.Image:
    width, height = size
    diagonal = math.ceil(math.hypot(width, height))
    # linear_gradient runs top to bottom; angle 0 runs left to right, 90 top to bottom.
    ramp = Image.linear_gradient("L").resize((diagonal, diagonal), Image.Resampling.BILINEAR)
    ramp = ramp.rotate(90 - angle, resample=Image.Resampling.BILINEAR, fillcolor=None)
    left, top = (diagonal - width) // 2, (diagonal - height) // 2
    mask = ramp.crop((left, top, left + width, top + height))
    return Image.composite(_solid(end, size), _solid(start, size), mask)


def _draw_background(canvas: Image.Image, layer: BackgroundLayer) -> None:
    size = canvas.size
    fill = (
        _solid(layer.color, size)
        if layer.gradient_to is None
        else _gradient(layer.color, layer.gradient_to, layer.angle, size)
    )
    if layer.image is not None:
        fill.alpha_composite(_fit(_open_image(layer.image.path), Box(0, 0, *size), layer.fit))
    _paste(canvas, fill, Box(0, 0, *size), 0, layer.opacity)


def _draw_rect(canvas: Image.Image, layer: RectLayer) -> None:
    box = layer.box
    overlay = Image.new("RGBA", (box.width, box.height), (0, 0, 0, 0))
    ImageDraw.Draw(overlay).rounded_rectangle(
        (0, 0, box.width - 1, box.height - 1),
        radius=layer.radius,
        fill=layer.fill,
        outline=layer.outline,
        width=layer.outline_width,
    )
    canvas.paste(overlay, (box.x, box.y), overlay)


def _open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as probe:
            width, height = probe.size
            if width * height > MAX_IMAGE_PIXELS:
                raise AssetError(
                    f"{path}: {width}×{height} pixels is more than the {MAX_IMAGE_PIXELS:,} a layer may decode; "
                    "use a smaller image"
                )
            if probe.format not in ("PNG", "JPEG", "WEBP", "GIF"):
                raise AssetError(f"{path}: expected a PNG, JPEG or WebP image, got {probe.format}")
            probe.load()
            return probe.convert("RGBA")
    except (OSError, Image.DecompressionBombError, ValueError) as exc:
        raise AssetError(f"{path}: cannot decode the image ({exc})") from None


def _fit(image: Image.Image, box: Box, fit: str) -> Image.Image:
    size = (box.width, box.height)
    if fit == "stretch":
        return image.resize(size, Image.Resampling.LANCZOS)
    scale_w, scale_h = box.width / image.width, box.height / image.height
    scale = max(scale_w, scale_h) if fit == "cover" else min(scale_w, scale_h)
    scaled = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS
    )
    if fit == "cover":
        left, top = (scaled.width - box.width) // 2, (scaled.height - box.height) // 2
        return scaled.crop((left, top, left + box.width, top + box.height))
    out = Image.new("RGBA", size, (0, 0, 0, 0))
    out.alpha_composite(scaled, ((box.width - scaled.width) // 2, (box.height - scaled.height) // 2))
    return out


def _paste(canvas: Image.Image, image: Image.Image, box: Box, radius: int, opacity: float) -> None:
    alpha = image.getchannel("A")
    if radius > 0:
        mask = Image.new("L", image.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius=radius, fill=255)
        alpha = ImageChops.multiply(alpha, mask)
    if opacity < 1.0:
        alpha = alpha.point(lambda v: round(v * max(0.0, opacity)))
    canvas.paste(image.convert("RGB"), (box.x, box.y), alpha)


def _draw_text(canvas: Image.Image, layer: TextLayer) -> Rect | None:
    """Draw a text layer; returns the region its ink covers."""
    chain = FontChain(layer.faces)
    box = layer.box
    style = TextStyle(
        box.width, box.height, layer.max_size, layer.min_size, layer.line_height, layer.max_lines,
        layer.align, layer.valign, layer.direction,
    )  # fmt: skip
    block = typeset(layer.text, chain, style)
    opaque = layer.color[3] == 255
    # Translucent text is drawn on an overlay the size of its box (plus room for
    # ascenders and descenders), then blended once.
    pad = block.size
    left, top = max(0, box.x - pad), max(0, box.y - pad)
    right, bottom = min(canvas.width, box.x + box.width + pad), min(canvas.height, box.y + box.height + pad)
    target = canvas if opaque else Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    origin_x, origin_y = (0, 0) if opaque else (left, top)
    pen = ImageDraw.Draw(target)
    inked: list[Rect] = []
    for run in block.runs:
        font, scale = load_font(chain.faces[run.face], block.size)
        x, baseline = box.x + run.x - origin_x, box.y + run.baseline - origin_y
        direction = "rtl" if run.rtl else "ltr"
        if scale == 1.0:
            if opaque:
                ink = _text_line(canvas, font, run.text, (x, baseline), layer.color, direction)
                if ink is not None:
                    inked.append(ink)
                continue
            pen.text(
                (x, baseline),
                run.text,
                font=font,
                fill=layer.color,
                anchor="ls",
                direction=direction,
                embedded_color=True,
            )
            continue
        # A bitmap (colour emoji) face: draw at its strike size, then scale into place.
        ascent, descent = font.getmetrics()
        strike_width = max(1, math.ceil(font.getlength(run.text, direction=direction)))
        glyphs = Image.new("RGBA", (strike_width, ascent + descent), (0, 0, 0, 0))
        ImageDraw.Draw(glyphs).text(
            (0, ascent), run.text, font=font, fill=layer.color, anchor="ls", direction=direction, embedded_color=True
        )
        scaled = glyphs.resize(
            (max(1, round(strike_width * scale)), max(1, round((ascent + descent) * scale))), Image.Resampling.LANCZOS
        )
        position = (round(x), round(baseline - ascent * scale))
        if opaque:
            canvas.paste(scaled, position, scaled)
            inked.append((*position, position[0] + scaled.width, position[1] + scaled.height))
        else:
            target.alpha_composite(scaled, (max(0, position[0]), max(0, position[1])))
    if not opaque:
        canvas.paste(target.convert("RGB"), (left, top), target)
        return _clip(canvas, (left, top, right, bottom))
    area = _union(inked)
    return None if area is None else _clip(canvas, area)


def _text_line(
    canvas: Image.Image, font: ImageFont.FreeTypeFont, text: str, xy: tuple[float, float], color: Color, direction: str
) -> Rect | None:
    """Draw one line of opaque text, colour glyphs in colour, as ``ImageDraw.text`` does with anchor "ls".

    Returns the region of the glyphs' bitmap. Drawing the bitmap here is what gives
    that region exactly, at no cost: asking Pillow for the text's box lays it out again.
    """
    # The ink of an RGBA colour on an RGB image: its four bytes as one native int, as Pillow packs it.
    ink = struct.unpack("=i", bytes(color))[0]
    left, top = int(xy[0]), int(xy[1])
    start = (math.modf(xy[0])[0], math.modf(xy[1])[0])
    bitmap, offset = font.getmask2(text, "RGBA", direction, None, None, 0, "ls", ink, start)
    width, height = bitmap.size
    if width == 0 or height == 0:
        return None
    left, top = left + offset[0], top + offset[1]
    # The bitmap holds the glyphs' colours and their coverage in alpha: paste the colours through
    # the coverage, at the ink's own opacity (opaque here).
    coverage = bitmap.getband(3)
    bitmap.fillband(3, color[3])
    canvas.im.paste(bitmap, (left, top, left + width, top + height), coverage)
    return (left, top, left + width, top + height)
